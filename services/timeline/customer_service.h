// The gRPC face of identity resolution and the customer's data rights
// (omnihub.v1.CustomerService) on the callback API. Erasures, exports and
// lifted suppressions are audited: a counter, and a log line naming the
// customer id (or the identity's hash), who asked, and how much was erased,
// never the personal data itself.
//
//   CustomerService service(&store, &validator, &normalizer, {});
//   builder.RegisterService(&service);
#ifndef OMNIHUB_SERVICES_TIMELINE_CUSTOMER_SERVICE_H_
#define OMNIHUB_SERVICES_TIMELINE_CUSTOMER_SERVICE_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/event_validation/event_validator.h"
#include "common/identity/identity_normalizer.h"
#include "omnihub/v1/customer.grpc.pb.h"
#include "services/timeline/timeline_store.h"

namespace omnihub::timeline {

struct CustomerServiceLimits {
  size_t max_source_bytes = 128;
  size_t max_reason_bytes = 1024;
  // The largest export answered; larger ones are RESOURCE_EXHAUSTED.
  size_t max_export_bytes = 64 << 20;
  // ForgetCustomer's suppression: how long when the request does not say,
  // and the longest a request may ask for.
  absl::Duration default_suppression = absl::Hours(24 * 365);
  absl::Duration max_suppression = absl::Hours(24 * 365 * 5);
  // ListSuppressions' page size when unset, and its largest.
  int default_suppression_page = 100;
  int max_suppression_page = 1000;
};

class CustomerService final : public v1::CustomerService::CallbackService {
 public:
  CustomerService(TimelineStore* store, const EventValidator* validator,
                  const identity::IdentityNormalizer* normalizer,
                  CustomerServiceLimits limits);

  grpc::ServerUnaryReactor* ResolveCustomer(
      grpc::CallbackServerContext* context,
      const v1::ResolveCustomerRequest* request,
      v1::ResolveCustomerResponse* response) override;
  grpc::ServerUnaryReactor* LinkIdentities(
      grpc::CallbackServerContext* context,
      const v1::LinkIdentitiesRequest* request,
      v1::LinkIdentitiesResponse* response) override;
  grpc::ServerUnaryReactor* GetMergeLog(
      grpc::CallbackServerContext* context,
      const v1::GetMergeLogRequest* request,
      v1::GetMergeLogResponse* response) override;
  grpc::ServerUnaryReactor* ForgetCustomer(
      grpc::CallbackServerContext* context,
      const v1::ForgetCustomerRequest* request,
      v1::ForgetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ExportCustomer(
      grpc::CallbackServerContext* context,
      const v1::ExportCustomerRequest* request,
      v1::ExportCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ListSuppressions(
      grpc::CallbackServerContext* context,
      const v1::ListSuppressionsRequest* request,
      v1::ListSuppressionsResponse* response) override;
  grpc::ServerUnaryReactor* CheckSuppression(
      grpc::CallbackServerContext* context,
      const v1::CheckSuppressionRequest* request,
      v1::CheckSuppressionResponse* response) override;
  grpc::ServerUnaryReactor* LiftSuppression(
      grpc::CallbackServerContext* context,
      const v1::LiftSuppressionRequest* request,
      v1::LiftSuppressionResponse* response) override;

 private:
  // The selector checked and its identity normalised, as stored.
  absl::StatusOr<v1::CustomerSelector> Selector(
      const v1::CustomerSelector& selector) const;
  // For the audited calls: also who asked, which is required.
  absl::StatusOr<v1::CustomerSelector> AuditedSelector(
      const v1::CustomerSelector& selector,
      const std::string& requested_by) const;
  // The suppression ForgetCustomer asks for, checked; nullopt without
  // `suppress`.
  absl::StatusOr<std::optional<SuppressionRequest>> SuppressionOf(
      const v1::ForgetCustomerRequest& request) const;
  // The IdentityHash of the normalised `identity` (the request's field
  // `field`).
  absl::StatusOr<std::string> HashOf(const v1::Identity& identity,
                                     absl::string_view field) const;

  TimelineStore* store_;
  const EventValidator* validator_;
  const identity::IdentityNormalizer* normalizer_;
  CustomerServiceLimits limits_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_CUSTOMER_SERVICE_H_

// The gRPC face of identity resolution and the customer's data rights
// (omnihub.v1.CustomerService) on the callback API. Erasures and exports are
// audited: a counter, and a log line naming the customer id, who asked, and
// how much was erased, never the personal data itself.
//
//   CustomerService service(&store, &validator, &normalizer, {});
//   builder.RegisterService(&service);
#ifndef OMNIHUB_SERVICES_TIMELINE_CUSTOMER_SERVICE_H_
#define OMNIHUB_SERVICES_TIMELINE_CUSTOMER_SERVICE_H_

#include <cstddef>

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

 private:
  // The selector checked and its identity normalised, as stored.
  absl::StatusOr<v1::CustomerSelector> Selector(
      const v1::CustomerSelector& selector) const;
  // For the audited calls: also who asked, which is required.
  absl::StatusOr<v1::CustomerSelector> AuditedSelector(
      const v1::CustomerSelector& selector,
      const std::string& requested_by) const;

  TimelineStore* store_;
  const EventValidator* validator_;
  const identity::IdentityNormalizer* normalizer_;
  CustomerServiceLimits limits_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_CUSTOMER_SERVICE_H_

// The gRPC face of the timeline service (omnihub.v1.TimelineService) on the
// callback API: no handler blocks; each call completes from a Redis reply.
//
//   TimelineService service(&store, &validator, &normalizer, &metrics);
//   builder.RegisterService(&service);
#ifndef OMNIHUB_SERVICES_TIMELINE_TIMELINE_SERVICE_H_
#define OMNIHUB_SERVICES_TIMELINE_TIMELINE_SERVICE_H_

#include <functional>

#include "common/event_validation/event_validator.h"
#include "common/identity/identity_normalizer.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "services/timeline/batch_ingester.h"
#include "services/timeline/timeline_metrics.h"
#include "services/timeline/timeline_store.h"

namespace omnihub::timeline {

// Whether the caller of an Ingest or IngestStream call may vouch for the
// identities of its events (see BatchIngester::Ingest).
using CallerMayVerify =
    std::function<bool(const grpc::CallbackServerContext& context)>;

class TimelineService final : public v1::TimelineService::CallbackService {
 public:
  // `replicas`: see BatchIngester (may be null). `caller_may_verify`: null
  // means every caller may (the hub without authentication).
  TimelineService(TimelineStore* store, const EventValidator* validator,
                  const identity::IdentityNormalizer* normalizer,
                  TimelineMetrics* metrics, ReplicaBarrier* replicas = nullptr,
                  CallerMayVerify caller_may_verify = nullptr);

  grpc::ServerUnaryReactor* Ingest(grpc::CallbackServerContext* context,
                                   const v1::IngestRequest* request,
                                   v1::IngestResponse* response) override;

  grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* IngestStream(
      grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* GetTimeline(
      grpc::CallbackServerContext* context,
      const v1::GetTimelineRequest* request,
      v1::GetTimelineResponse* response) override;

  grpc::ServerUnaryReactor* GetCustomer(
      grpc::CallbackServerContext* context,
      const v1::GetCustomerRequest* request,
      v1::GetCustomerResponse* response) override;

 private:
  bool MayVerify(const grpc::CallbackServerContext& context) const;
  // The selector with its identity value normalised, as stored.
  absl::StatusOr<v1::CustomerSelector> NormalizedSelector(
      const v1::CustomerSelector& selector) const;

  TimelineStore* store_;
  const EventValidator* validator_;
  const identity::IdentityNormalizer* normalizer_;
  CallerMayVerify caller_may_verify_;
  BatchIngester ingester_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_TIMELINE_SERVICE_H_

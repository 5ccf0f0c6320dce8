// Ingests one batch of events: validates each, stores the valid ones
// concurrently, and answers one result per event. The service's logic, kept
// apart from its gRPC wiring so it can be tested on its own.
//
//   BatchIngester ingester(&store, &validator, &metrics);
//   ingester.Ingest(request, /*caller_may_verify=*/true,
//                   [](absl::StatusOr<v1::IngestResponse> r) {...});
#ifndef OMNIHUB_SERVICES_TIMELINE_BATCH_INGESTER_H_
#define OMNIHUB_SERVICES_TIMELINE_BATCH_INGESTER_H_

#include <functional>

#include "absl/time/clock.h"
#include "common/event_validation/event_validator.h"
#include "omnihub/v1/timeline.pb.h"
#include "services/timeline/durability.h"
#include "services/timeline/timeline_metrics.h"
#include "services/timeline/timeline_store.h"

namespace omnihub::timeline {

class BatchIngester {
 public:
  // With `replicas` (--durability=replica), a batch is answered only once
  // enough replicas have its writes (else UNAVAILABLE: send again).
  BatchIngester(
      TimelineStore* store, const EventValidator* validator,
      TimelineMetrics* metrics,
      std::function<absl::Time()> clock = [] { return absl::Now(); },
      ReplicaBarrier* replicas = nullptr);

  // `done` gets INVALID_ARGUMENT for a malformed request as a whole, the
  // storage error (e.g. UNAVAILABLE) if any event could not be stored — the
  // batch is then safe to send again — or one result per event.
  //
  // `caller_may_verify`: whether the caller may vouch for identities. When
  // false, every identity of the request is taken as unverified (a claim,
  // see v1::Identity.unverified): the events are stored, but none of them
  // merges customers or attaches an identity another customer has.
  void Ingest(v1::IngestRequest request, bool caller_may_verify,
              Done<v1::IngestResponse> done);

 private:
  TimelineStore* store_;
  const EventValidator* validator_;
  TimelineMetrics* metrics_;
  std::function<absl::Time()> clock_;
  ReplicaBarrier* replicas_;  // may be null
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_BATCH_INGESTER_H_

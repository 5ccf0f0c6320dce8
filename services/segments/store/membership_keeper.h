// Keeps every customer's segment memberships equal to what the segments'
// conditions say of it now. An evaluation of one customer:
//   1. reads its view, its recorded memberships and the customers merged
//      into it (one round trip);
//   2. drops the memberships of customers merged into it that still have
//      some, and every membership of a customer that is gone;
//   3. evaluates every segment defined and records the verdicts with the
//      entries and exits (one script on the customer's slot), then changes
//      the member indexes and points the customer's deadline entry at the
//      next moment a time-relative condition changes;
//   4. reads the view again: if the customer changed meanwhile, another
//      evaluation may have recorded a newer verdict that step 3 overwrote,
//      so it starts again (as the lifecycle keeper does).
// Run on every event that touches a customer (EventsChanged: events stored,
// updated, sent again, merges), at its deadline, and in the background
// evaluation after a definition changes; erasure drops everything at once.
// Evaluations block on Redis, so they run on the keeper's own threads.
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBERSHIP_KEEPER_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBERSHIP_KEEPER_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "services/insights/store/insights_engine.h"
#include "services/segments/store/segment_definitions.h"
#include "services/segments/store/segment_keys.h"
#include "services/segments/store/segment_metrics.h"
#include "services/timeline/customer_observer.h"
#include "services/timeline/store_context.h"
#include "services/timeline/worker_pool.h"

namespace omnihub::segments {

struct MembershipKeeperOptions {
  int threads = 4;
  // Evaluations waiting for a thread; past it an event's write is refused
  // (UNAVAILABLE) and its sender retries.
  size_t max_queued = 10000;
  // Entries and exits kept per customer.
  int history_limit = 50;
};

enum class EvaluationTrigger { kEvent, kDeadline, kPass };

class MembershipKeeper : public timeline::CustomerObserver {
 public:
  // `metrics` may be null.
  MembershipKeeper(const timeline::StoreContext* context,
                   const SegmentKeys* keys, const SegmentScripts* scripts,
                   const SegmentDefinitions* definitions,
                   const insights::InsightsEngine* insights,
                   SegmentMetrics* metrics, MembershipKeeperOptions options);

  void PurchasesChanged(
      const std::string& customer_id,
      absl::AnyInvocable<void(absl::Status) &&> done) override;
  void EventsChanged(const std::string& customer_id,
                     absl::AnyInvocable<void(absl::Status) &&> done) override;
  void Forgetting(const std::string& customer_id,
                  absl::AnyInvocable<void(absl::Status) &&> done) override;

  // Blocking: steps 1 to 4. A deadline or the background pass also writes
  // every member index entry, not only the changes (it repairs an index
  // left behind by a replica that died between step 3's writes).
  absl::Status Evaluate(const std::string& customer_id,
                        EvaluationTrigger trigger) const;
  // Blocking: every membership, the history and the deadline of a customer
  // go.
  absl::Status Forget(const std::string& customer_id) const;

 private:
  absl::Status EvaluateOnce(const std::string& customer_id,
                            EvaluationTrigger trigger, bool* changed) const;

  const timeline::StoreContext* context_;
  const SegmentKeys* keys_;
  const SegmentScripts* scripts_;
  const SegmentDefinitions* definitions_;
  const insights::InsightsEngine* insights_;
  SegmentMetrics* metrics_;
  const MembershipKeeperOptions options_;
  // Last: joined first.
  mutable timeline::WorkerPool workers_;
};

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBERSHIP_KEEPER_H_

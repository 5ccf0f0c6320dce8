// Keeps every customer's segment memberships equal to what the segments'
// conditions say of it now. Customers are evaluated a batch at a time, each
// step one pipelined round trip for the whole batch:
//   1. reads every customer's view, its recorded memberships, the customers
//      merged into it and its deadline entry (the background pass: the
//      view and the memberships of the segments it evaluates, no more);
//   2. drops the memberships of customers merged into them that still have
//      some, and every membership of a customer that is gone;
//   3. evaluates the segments in C++ and compares the verdicts with the
//      recorded memberships. A customer whose verdicts, and whose next
//      deadline, equal what is recorded is done: nothing is written (the
//      steady state of ingest). For the others: the member index entries of
//      the exits foreseen go first, then one script on each customer's slot
//      records the verdicts that differ from the record (entries and exits,
//      with their history), then the entries go into the member indexes
//      and the deadline entry points at the next moment a time-relative
//      condition changes;
//   4. reads the view again of every customer something was written for:
//      if it changed meanwhile, another evaluation may have recorded a
//      newer verdict that step 3 overwrote, so that customer starts again
//      (as the lifecycle keeper does), and writes every index entry of the
//      segments it evaluates this time, members and not.
// Events (EventsChanged: events stored, updated, sent again, merges) queue
// their customer: a customer is pending once however many events name it,
// and all its waiters are answered by one evaluation that started after
// they were queued. A few loops (MembershipKeeperOptions::threads) take up
// to `batch` pending customers at a time. The deadline sweep and the
// background evaluation after a definition changes call EvaluateMany on
// their own threads; erasure drops everything at once.
//
// What keeps the member indexes right although their writes are not atomic
// with the customer's record (the indexes are sharded over other slots):
// an index entry is added only after the script recorded the membership,
// and removed before the script records the exit, so a replica that dies
// between the steps leaves at most a recorded member missing from the
// index, never an entry without its record. A deadline writes every index
// entry of every segment, members and not; the background pass writes the
// entry of every member of the segments it evaluates, and so repairs that
// state, while it skips the customers that are neither members nor
// recorded as ones (the bulk of a new segment's pass: no write at all).
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBERSHIP_KEEPER_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBERSHIP_KEEPER_H_

#include <deque>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/insights/store/insights_engine.h"
#include "services/segments/store/segment_definitions.h"
#include "services/segments/store/segment_keys.h"
#include "services/segments/store/segment_metrics.h"
#include "services/timeline/customer_observer.h"
#include "services/timeline/store_context.h"
#include "services/timeline/worker_pool.h"

namespace omnihub::segments {

struct MembershipKeeperOptions {
  // Loops evaluating the customers of events, a batch at a time each.
  int threads = 2;
  // Customers evaluated together (one pipelined round trip per step).
  int batch = 256;
  // Events waiting for their customer's evaluation; past it an event's
  // write is refused (UNAVAILABLE) and its sender retries.
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
  // Evaluates what is queued, then stops the loops.
  ~MembershipKeeper() override;

  void PurchasesChanged(
      const std::string& customer_id,
      absl::AnyInvocable<void(absl::Status) &&> done) override;
  void EventsChanged(const std::string& customer_id,
                     absl::AnyInvocable<void(absl::Status) &&> done) override;
  void Forgetting(const std::string& customer_id,
                  absl::AnyInvocable<void(absl::Status) &&> done) override;

  // Blocking: steps 1 to 4 for each customer of `ids`, together; one
  // status per id. `only`: the names of the segments to evaluate (the
  // background pass: those whose version or inputs changed); the others
  // are left as recorded. nullptr: every segment.
  std::vector<absl::Status> EvaluateMany(
      const std::vector<std::string>& ids, EvaluationTrigger trigger,
      const std::set<std::string>* only = nullptr) const;
  absl::Status Evaluate(const std::string& customer_id,
                        EvaluationTrigger trigger) const;
  // Blocking: every membership, the history and the deadline of a customer
  // go.
  absl::Status Forget(const std::string& customer_id) const;

 private:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  void Loop();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mutex_);
  // One try of steps 1 to 4 for the customers `todo` (indexes into `ids`):
  // sets the status of those finished, returns those to try again.
  // `write_every_entry`: the index entries of every segment evaluated,
  // members and not (a retry: a concurrent evaluation may have left them
  // behind).
  std::vector<size_t> EvaluateRound(const std::vector<std::string>& ids,
                                    const std::vector<size_t>& todo,
                                    EvaluationTrigger trigger,
                                    const std::set<std::string>* only,
                                    bool write_every_entry,
                                    std::vector<absl::Status>& statuses) const;

  const timeline::StoreContext* context_;
  const SegmentKeys* keys_;
  const SegmentScripts* scripts_;
  const SegmentDefinitions* definitions_;
  const insights::InsightsEngine* insights_;
  SegmentMetrics* metrics_;
  const MembershipKeeperOptions options_;

  // The customers of events waiting for an evaluation, in arrival order,
  // each once, with everyone waiting for it.
  absl::Mutex queue_mutex_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(queue_mutex_);
  absl::flat_hash_map<std::string, std::vector<Done>> waiting_
      ABSL_GUARDED_BY(queue_mutex_);
  // Being evaluated by a loop now: not taken by another meanwhile.
  absl::flat_hash_set<std::string> running_ ABSL_GUARDED_BY(queue_mutex_);
  size_t waiters_ ABSL_GUARDED_BY(queue_mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(queue_mutex_) = false;
  std::vector<std::thread> loops_;
  // For erasures, whose `done` may come on a Redis client thread.
  mutable timeline::WorkerPool workers_;
};

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBERSHIP_KEEPER_H_

// Keeps every customer's recorded lifecycle equal to what its purchases and
// the rules say today, and the deadline index pointing at the next day it
// changes by time alone, so that the sweeper (see InsightsEngine) finds it
// then. A refresh:
//   1. reads the customer's purchase days, their version and its recorded
//      history (one script);
//   2. computes the history from the first day it was seen to today (see
//      LifecycleHistory) and, when it differs, records it, only if nothing
//      changed since step 1 (compare-and-set; else it starts again, except
//      after a purchase: then the change is a later purchase, whose own
//      refresh records it, or a refresh that read the same purchases);
//   3. points the customer's entry in the deadline index at its next
//      change: after a purchase, only ever earlier (ZADD LT: an entry that
//      is too early just costs a look); at a deadline or in a
//      re-evaluation, exactly, then checks that the customer did not change
//      meanwhile (else it starts again), so the entry is never later than
//      the customer's next change.
// The entry leaves the index only when the customer has no further change
// by time (a prospect, a lapsed customer) or is gone; a replica that dies
// half way leaves it due, and any replica's sweeper finishes the job. Of two
// replicas refreshing one customer, one records the change.
//
// Asynchronous; `done` runs on a Redis client thread.
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_LIFECYCLE_KEEPER_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_LIFECYCLE_KEEPER_H_

#include <functional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "services/insights/store/customer_read.h"
#include "services/insights/store/insights_keys.h"
#include "services/insights/store/insights_metrics.h"
#include "services/insights/store/model_holder.h"
#include "services/timeline/customer_observer.h"
#include "services/timeline/store_context.h"

namespace omnihub::insights {

struct LifecycleKeeperOptions {
  // Most transitions kept per customer; older ones are dropped.
  int history_limit = 100;
  // Tests only: called with "read" once a refresh has read the customer,
  // and with "recorded" once it has recorded a history (before it moves the
  // deadline); a non-OK status stops the refresh right there, as if the
  // process had died.
  std::function<absl::Status(absl::string_view step)> step_hook;
};

class LifecycleKeeper : public timeline::CustomerObserver {
 public:
  // `metrics` may be null.
  LifecycleKeeper(const timeline::StoreContext* context,
                  const InsightsKeys* keys, const InsightsScripts* scripts,
                  const ModelHolder* model, InsightsMetrics* metrics,
                  LifecycleKeeperOptions options);

  // After a purchase, or a merge into the customer: steps 1 to 3, the
  // deadline only moved earlier.
  void PurchasesChanged(
      const std::string& customer_id,
      absl::AnyInvocable<void(absl::Status) &&> done) override;

  // Erasure: the customer's deadline entry goes.
  void Forgetting(const std::string& customer_id,
                  absl::AnyInvocable<void(absl::Status) &&> done) override;

  // At a deadline, or re-evaluating everyone: steps 1 to 3 with the
  // deadline set exactly (or the entry removed).
  void Reconcile(const std::string& customer_id, RefreshTrigger trigger,
                 absl::AnyInvocable<void(absl::Status) &&> done);

  const timeline::StoreContext& context() const { return *context_; }
  const InsightsKeys& keys() const { return *keys_; }
  const InsightsScripts& scripts() const { return *scripts_; }
  const LifecycleKeeperOptions& options() const { return options_; }
  const ModelHolder& model() const { return *model_; }
  InsightsMetrics* metrics() const { return metrics_; }

 private:
  const timeline::StoreContext* context_;
  const InsightsKeys* keys_;
  const InsightsScripts* scripts_;
  const ModelHolder* model_;
  InsightsMetrics* metrics_;
  LifecycleKeeperOptions options_;
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_LIFECYCLE_KEEPER_H_

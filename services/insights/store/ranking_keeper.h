// Keeps the top-customer rankings (per currency: by total spend, and by the
// predicted lifetime value) right as customers change. A ranking is 16
// sorted sets per currency (see InsightsKeys::RankingShardOf), so no key is
// written by every purchase; a customer's own hash "rk" lists the rankings
// it is in, so it can be taken out of them.
//
// After a purchase (or a merge into the customer) a refresh:
//   1. reads the customer's purchases, its "rk" and its aliases (one
//      script);
//   2. adds the rankings it now belongs in to "rk", then sets its value in
//      each and removes it from the others; the first time it sees an
//      alias (a customer merged into this one), it removes that customer
//      from the rankings its own "rk" names, and deletes that;
//   3. checks the customer's purchases did not change since step 1 (else
//      it starts again), so the last write is always of its latest
//      purchases whatever order concurrent refreshes finish in.
// A customer found gone (merged away, erased) is removed from the rankings
// "rk" names. Erasure removes the customer from every ranking in "rk".
//
// The notices about one customer are coalesced: while a refresh of it runs,
// later notices wait for the next, which starts once it has finished and so
// reads every purchase they were sent for. A batch of a thousand purchases
// by one customer costs a few refreshes, not a thousand restarting on each
// other's writes (step 3) until some give up. Replicas still race, which
// step 3 settles.
//
// The predicted value drifts with time and changes with every new model:
// the population pass (PopulationPass) rewrites every customer's.
//
// Asynchronous; `done` runs on a Redis client thread.
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_RANKING_KEEPER_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_RANKING_KEEPER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/insights/analysis/customer_value.h"
#include "services/insights/store/customer_read.h"
#include "services/insights/store/insights_keys.h"
#include "services/insights/store/model_holder.h"
#include "services/timeline/customer_observer.h"
#include "services/timeline/store_context.h"

namespace omnihub::insights {

// A customer's place in one ranking: "h:EUR" or "p:EUR", and its value in
// micros.
struct RankingEntry {
  std::string field;
  int64_t micros = 0;
};

// The rankings `record` belongs in on `day`: its total spend in every
// currency it bought in, and its predicted lifetime value in every one
// with a spend model.
std::vector<RankingEntry> RankingEntriesOf(const CustomerRecord& record,
                                           int64_t day,
                                           const CurrentModel& model,
                                           const ValueSettings& value,
                                           LifetimeValueCache* cache = nullptr);

// Runs every command of `commands` (sent together, one queueing) and
// reports once all are answered (the first failure, else OK).
void ExecuteAll(redis::RedisClient& redis,
                std::vector<std::vector<std::string>> commands,
                absl::AnyInvocable<void(absl::Status) &&> done);

// Takes `customers` out of every ranking their "rk" names, and deletes it.
void RemoveFromRankings(const timeline::StoreContext& context,
                        const InsightsKeys& keys,
                        std::vector<std::string> customers,
                        absl::AnyInvocable<void(absl::Status) &&> done);

class RankingKeeper : public timeline::CustomerObserver {
 public:
  RankingKeeper(const timeline::StoreContext* context, const InsightsKeys* keys,
                const InsightsScripts* scripts, const ModelHolder* model,
                ValueSettings value);

  void PurchasesChanged(
      const std::string& customer_id,
      absl::AnyInvocable<void(absl::Status) &&> done) override;
  void Forgetting(const std::string& customer_id,
                  absl::AnyInvocable<void(absl::Status) &&> done) override;

  const timeline::StoreContext& context() const { return *context_; }
  const InsightsKeys& keys() const { return *keys_; }
  const InsightsScripts& scripts() const { return *scripts_; }
  const ModelHolder& model() const { return *model_; }
  const ValueSettings& value() const { return value_; }

 private:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;
  // Runs one refresh of `customer_id` for `waiting`, then the next if
  // notices came meanwhile.
  void Refresh(const std::string& customer_id, std::vector<Done> waiting);

  const timeline::StoreContext* context_;
  const InsightsKeys* keys_;
  const InsightsScripts* scripts_;
  const ModelHolder* model_;
  const ValueSettings value_;
  absl::Mutex mutex_;
  // A customer is here while a refresh of it runs; the notices that came
  // after it started, for the next one.
  absl::flat_hash_map<std::string, std::vector<Done>> running_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_RANKING_KEEPER_H_

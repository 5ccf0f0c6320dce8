// Keeps the cross-selling counts right at ingest: for every customer, the
// basket counted for it (every product and category of its purchases' line
// items, key omnihub:c:{<id>}:xs, the customer's own hash tag), and for the
// whole base, sharded 64 ways by a hash of the item (so no key is written by
// every event):
//   omnihub:xs:{<shard>}:n          item -> customers who bought it
//   omnihub:xs:{<shard>}:partners:<item>  sorted set: other item, scored by
//                                   the customers who bought both (so a
//                                   query reads the top partners only)
//   omnihub:xs:{<shard>}:N          "p" / "c" -> customers with a product /
//                                   a category (shard of the customer id)
// When the store says a customer's purchases changed, the keeper reads its
// purchases (one script), takes over the baskets of the customers merged
// into it (GETDEL: each is uncounted once), swaps in the new basket
// (compare-and-set against the one read), and applies the difference to
// the counts (one script per changed item, on the item's shard). Erasure
// uncounts the customer's basket the same way.
//
// Bounded: at most `max_items` products and categories are counted (per
// shard, a 64th): an item first bought when its shard is full is not
// counted (cross_sell_items_left_out_total) until a counted item's count
// drops to zero and makes room; each item keeps at most
// `max_pairs_per_item` partners, the first ones seen (the rest:
// cross_sell_pairs_left_out_total); a customer's basket holds at most
// `max_basket_items` products and as many categories. A query reads the
// `top_partners` partners of each bought item with the most customers in
// common (see cross_sell_query.h).
//
// Not transactional across shards: a process that dies between the basket
// swap and the count updates leaves that customer's change uncounted.
//
// Asynchronous: the blocking work runs on the keeper's own threads. The
// notices about one customer are coalesced: while a refresh of it is queued,
// later notices wait for that one; while one runs, they wait for the next,
// which starts after it. So a batch of a thousand purchases by one customer
// costs a few refreshes, not a thousand racing each other's basket swaps.
#ifndef OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_KEEPER_H_
#define OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_KEEPER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/redis_script.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/recommendations/basket.h"
#include "services/timeline/customer_observer.h"
#include "services/timeline/store_context.h"
#include "services/timeline/worker_pool.h"

namespace omnihub::recommendations {

inline constexpr int kCrossSellShards = 64;

struct CrossSellOptions {
  int64_t max_items = 100000;
  int64_t max_pairs_per_item = 1000;
  size_t max_basket_items = 200;
  // Partners read per bought item by a query, the top ones by customers in
  // common.
  int64_t top_partners = 25;
  // How long a query may reuse the number of customers another query read
  // (lift's denominator: 64 reads, one per shard, for a number that moves
  // slowly). Zero: every query reads it.
  absl::Duration customers_max_age = absl::Seconds(1);
  int threads = 2;
  size_t max_queued = 10000;
};

class CrossSellKeys {
 public:
  explicit CrossSellKeys(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string Basket(absl::string_view customer_id) const;
  int ShardOf(absl::string_view text) const;
  std::string ItemCounts(int shard) const;
  // The item's partners (sorted set), in the item's shard.
  std::string Partners(absl::string_view item) const;
  std::string Customers(int shard) const;

 private:
  std::string prefix_;
};

struct CrossSellScripts {
  CrossSellScripts();
  redis::RedisScript read_basket;
  redis::RedisScript swap_basket;
  redis::RedisScript apply_counts;
};

class CrossSellMetrics {
 public:
  explicit CrossSellMetrics(prometheus::Registry& registry);
  prometheus::Counter& items_left_out() { return *items_left_out_; }
  prometheus::Counter& pairs_left_out() { return *pairs_left_out_; }
  prometheus::Counter& refreshes(bool ok) {
    return ok ? *refreshes_ok_ : *refreshes_failed_;
  }

 private:
  prometheus::Counter* items_left_out_;
  prometheus::Counter* pairs_left_out_;
  prometheus::Counter* refreshes_ok_;
  prometheus::Counter* refreshes_failed_;
};

class CrossSellKeeper : public timeline::CustomerObserver {
 public:
  // `metrics` may be null.
  CrossSellKeeper(const timeline::StoreContext* context,
                  CrossSellOptions options, CrossSellMetrics* metrics);

  void PurchasesChanged(
      const std::string& customer_id,
      absl::AnyInvocable<void(absl::Status) &&> done) override;
  void Forgetting(const std::string& customer_id,
                  absl::AnyInvocable<void(absl::Status) &&> done) override;

  // Blocking versions, for tests and tools (not on a Redis client thread).
  absl::Status Refresh(const std::string& customer_id) const;
  absl::Status Forget(const std::string& customer_id) const;

  const CrossSellKeys& keys() const { return keys_; }
  const CrossSellOptions& options() const { return options_; }
  const timeline::StoreContext& context() const { return *context_; }

  // The customers with a product (`categories` false) or a category, as a
  // query read them no longer than `options().customers_max_age` before
  // `now`; nullopt when none did.
  std::optional<int64_t> RecentCustomers(bool categories, absl::Time now) const;
  // A query read `customers` from reads sent at `read_at`.
  void RememberCustomers(bool categories, int64_t customers,
                         absl::Time read_at) const;

 private:
  // Takes the basket at `key` away (GETDEL) and uncounts it.
  absl::Status Uncount(const std::vector<std::string>& customer_ids) const;
  absl::Status ApplyChanges(const std::string& customer_id,
                            const Basket& before, const Basket& after) const;

  using Done = absl::AnyInvocable<void(absl::Status) &&>;
  struct PendingRefresh {
    bool queued = false;
    bool running = false;
    std::vector<Done> waiting;
  };
  // Queues a refresh of `customer_id` for those waiting on it; with
  // `mutex_` held.
  void QueueRefresh(const std::string& customer_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void RunRefresh(const std::string& customer_id);
  // Ends a queued refresh that will not run: its waiters get `why`.
  void DropRefresh(const std::string& customer_id, absl::Status why);

  const timeline::StoreContext* context_;
  CrossSellOptions options_;
  CrossSellMetrics* metrics_;
  CrossSellKeys keys_;
  CrossSellScripts scripts_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, PendingRefresh> pending_
      ABSL_GUARDED_BY(mutex_);
  struct ReadCustomers {
    int64_t customers = 0;
    absl::Time read_at = absl::InfinitePast();
  };
  mutable absl::Mutex customers_mutex_;
  // [0] products, [1] categories.
  mutable ReadCustomers customers_read_[2] ABSL_GUARDED_BY(customers_mutex_);
  // Last: its destructor runs what is queued, which uses the above.
  std::unique_ptr<timeline::WorkerPool> workers_;
};

}  // namespace omnihub::recommendations

#endif  // OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_KEEPER_H_

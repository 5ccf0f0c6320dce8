#include "services/recommendations/cross_sell_keeper.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/redis/blocking_calls.h"
#include "cross_sell_scripts.h"
#include "prometheus/family.h"
#include "services/timeline/key_schema.h"
#include "services/timeline/stored_event.h"

namespace omnihub::recommendations {
namespace {

using redis::Reply;

// Compare-and-set rounds lost to concurrent refreshes before giving up (the
// write fails, and the sender's retry refreshes again).
constexpr int kMaxAttempts = 8;

// A stored event trimmed by retention is its header alone: seven fields,
// each ended by '|', and no payload.
bool IsTrimmed(absl::string_view value) {
  size_t at = 0;
  for (int field = 0; field < 7; ++field) {
    at = value.find('|', at);
    if (at == absl::string_view::npos) return false;
    ++at;
  }
  return at == value.size();
}

absl::Status CheckReply(const absl::StatusOr<Reply>& reply,
                        absl::string_view what) {
  absl::StatusOr<Reply> checked = redis::ErrorReplyAsStatus(reply, what);
  return checked.status();
}

}  // namespace

std::string CrossSellKeys::Basket(absl::string_view customer_id) const {
  return absl::StrCat(prefix_, "c:{", customer_id, "}:xs");
}

int CrossSellKeys::ShardOf(absl::string_view text) const {
  return static_cast<int>(timeline::StableHash(text) % kCrossSellShards);
}

std::string CrossSellKeys::ItemCounts(int shard) const {
  return absl::StrFormat("%sxs:{%02x}:n", prefix_, shard);
}

std::string CrossSellKeys::Partners(absl::string_view item) const {
  return absl::StrFormat("%sxs:{%02x}:partners:%s", prefix_, ShardOf(item),
                         item);
}

std::string CrossSellKeys::Customers(int shard) const {
  return absl::StrFormat("%sxs:{%02x}:N", prefix_, shard);
}

CrossSellScripts::CrossSellScripts()
    : read_basket(std::string(kReadBasketLua)),
      swap_basket(std::string(kSwapBasketLua)),
      apply_counts(std::string(kApplyCountsLua)) {}

CrossSellMetrics::CrossSellMetrics(prometheus::Registry& registry) {
  items_left_out_ =
      &prometheus::BuildCounter()
           .Name("omnihub_cross_sell_items_left_out_total")
           .Help(
               "Products and categories bought but not counted for "
               "cross-selling: the catalogue cap (--cross_sell_max_items) "
               "was reached")
           .Register(registry)
           .Add({});
  pairs_left_out_ =
      &prometheus::BuildCounter()
           .Name("omnihub_cross_sell_pairs_left_out_total")
           .Help(
               "Pairs bought together but not counted: the item had "
               "--cross_sell_max_pairs_per_item pairs already")
           .Register(registry)
           .Add({});
  auto& refreshes = prometheus::BuildCounter()
                        .Name("omnihub_cross_sell_refreshes_total")
                        .Help(
                            "Cross-selling basket refreshes after a "
                            "purchase or a merge, by outcome")
                        .Register(registry);
  refreshes_ok_ = &refreshes.Add({{"outcome", "ok"}});
  refreshes_failed_ = &refreshes.Add({{"outcome", "failed"}});
}

CrossSellKeeper::CrossSellKeeper(const timeline::StoreContext* context,
                                 CrossSellOptions options,
                                 CrossSellMetrics* metrics)
    : context_(context),
      options_(options),
      metrics_(metrics),
      keys_(context->keys.prefix()),
      workers_(std::make_unique<timeline::WorkerPool>(
          std::max(options.threads, 1), options.max_queued)) {}

void CrossSellKeeper::PurchasesChanged(const std::string& customer_id,
                                       Done done) {
  absl::MutexLock lock(&mutex_);
  PendingRefresh& pending = pending_[customer_id];
  pending.waiting.push_back(std::move(done));
  if (!pending.queued && !pending.running) QueueRefresh(customer_id);
}

void CrossSellKeeper::QueueRefresh(const std::string& customer_id) {
  pending_[customer_id].queued = true;
  // A job refused or dropped by the pool reports from outside the lock.
  absl::Status queued = workers_->Schedule(
      timeline::WorkKind::kOther,
      {.run = [this, customer_id] { RunRefresh(customer_id); },
       .drop =
           [this, customer_id](absl::Status why) {
             DropRefresh(customer_id, std::move(why));
           }});
  if (!queued.ok()) {
    std::vector<Done> refused = std::move(pending_[customer_id].waiting);
    pending_.erase(customer_id);
    // Schedule refused synchronously, so no one else holds these: answer
    // them once the lock is released.
    workers_->Schedule([refused = std::move(refused), queued]() mutable {
      for (Done& done : refused) std::move(done)(queued);
    });
  }
}

void CrossSellKeeper::RunRefresh(const std::string& customer_id) {
  std::vector<Done> served;
  {
    absl::MutexLock lock(&mutex_);
    PendingRefresh& pending = pending_[customer_id];
    served = std::move(pending.waiting);
    pending.waiting.clear();
    pending.queued = false;
    pending.running = true;
  }
  const absl::Status status = Refresh(customer_id);
  if (metrics_ != nullptr) metrics_->refreshes(status.ok()).Increment();
  {
    absl::MutexLock lock(&mutex_);
    PendingRefresh& pending = pending_[customer_id];
    pending.running = false;
    if (pending.waiting.empty()) {
      pending_.erase(customer_id);
    } else {
      QueueRefresh(customer_id);
    }
  }
  for (Done& done : served) std::move(done)(status);
}

void CrossSellKeeper::DropRefresh(const std::string& customer_id,
                                  absl::Status why) {
  std::vector<Done> dropped;
  {
    absl::MutexLock lock(&mutex_);
    PendingRefresh& pending = pending_[customer_id];
    dropped = std::move(pending.waiting);
    pending.waiting.clear();
    pending.queued = false;
    if (!pending.running) pending_.erase(customer_id);
  }
  for (Done& done : dropped) std::move(done)(why);
}

void CrossSellKeeper::Forgetting(
    const std::string& customer_id,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  auto shared = std::make_shared<absl::AnyInvocable<void(absl::Status) &&>>(
      std::move(done));
  absl::Status queued = workers_->Schedule(
      timeline::WorkKind::kOther,
      {.run = [this, customer_id,
               shared] { std::move (*shared)(Forget(customer_id)); },
       .drop = [shared](absl::Status why) { std::move (*shared)(why); }});
  if (!queued.ok()) std::move (*shared)(queued);
}

absl::Status CrossSellKeeper::Refresh(const std::string& customer_id) const {
  const timeline::CustomerKeys customer =
      context_->keys.ForCustomer(customer_id);
  const std::string basket_key = keys_.Basket(customer_id);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<Reply> read = redis::RunAndWait(
        *context_->redis, scripts_.read_basket,
        {customer.view, customer.events, basket_key, customer.aliases}, {});
    if (absl::Status status = CheckReply(read, "reading a customer's basket");
        !status.ok()) {
      return status;
    }
    if (read->type != Reply::Type::kArray || read->elements.size() != 4) {
      return absl::InternalError("reading a customer's basket: bad reply");
    }
    // Gone (merged away or being erased): whoever handles that uncounts it.
    if (read->elements[0].str != "live") return absl::OkStatus();
    const std::string stored = read->elements[1].str;
    std::vector<std::string> aliases;
    for (const Reply& alias : read->elements[2].elements) {
      aliases.push_back(alias.str);
    }
    if (absl::Status status = Uncount(aliases); !status.ok()) return status;
    std::vector<v1::InteractionEvent> purchases;
    bool trimmed = false;
    for (const Reply& value : read->elements[3].elements) {
      // Retention keeps a trimmed event's header only: what it bought is
      // no longer known, so what was counted stays counted.
      if (IsTrimmed(value.str)) {
        trimmed = true;
        continue;
      }
      absl::StatusOr<v1::InteractionEvent> event =
          timeline::DecodeStoredEvent("", value.str);
      if (!event.ok()) return event.status();
      purchases.push_back(*std::move(event));
    }
    const Basket before = ParseBasket(stored);
    Basket after = BasketOf(purchases, options_.max_basket_items);
    if (trimmed) after.insert(before.begin(), before.end());
    if (after == before) return absl::OkStatus();
    absl::StatusOr<Reply> swapped = redis::RunAndWait(
        *context_->redis, scripts_.swap_basket, {customer.view, basket_key},
        {stored, EncodeBasket(after)});
    if (absl::Status status = CheckReply(swapped, "recording a basket");
        !status.ok()) {
      return status;
    }
    if (swapped->str == "gone") return absl::OkStatus();
    if (swapped->str == "ok") return ApplyChanges(customer_id, before, after);
  }
  return absl::AbortedError(absl::StrCat(
      "customer ", customer_id,
      ": its basket kept changing while it was counted; try again"));
}

absl::Status CrossSellKeeper::Forget(const std::string& customer_id) const {
  absl::StatusOr<Reply> aliases = redis::CallAndWait(
      *context_->redis,
      {"SMEMBERS", context_->keys.ForCustomer(customer_id).aliases});
  if (absl::Status status = CheckReply(aliases, "reading aliases");
      !status.ok()) {
    return status;
  }
  std::vector<std::string> ids = {customer_id};
  for (const Reply& alias : aliases->elements) ids.push_back(alias.str);
  return Uncount(ids);
}

absl::Status CrossSellKeeper::Uncount(
    const std::vector<std::string>& customer_ids) const {
  if (customer_ids.empty()) return absl::OkStatus();
  std::vector<std::vector<std::string>> takes;
  for (const std::string& id : customer_ids) {
    takes.push_back({"GETDEL", keys_.Basket(id)});
  }
  redis::Replies taken =
      redis::CallAllAndWait(*context_->redis, std::move(takes));
  for (size_t i = 0; i < taken.size(); ++i) {
    if (absl::Status status = CheckReply(taken[i], "taking a basket");
        !status.ok()) {
      return status;
    }
    if (taken[i]->is_nil()) continue;
    if (absl::Status status =
            ApplyChanges(customer_ids[i], ParseBasket(taken[i]->str), Basket{});
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status CrossSellKeeper::ApplyChanges(const std::string& customer_id,
                                           const Basket& before,
                                           const Basket& after) const {
  const int64_t shard_cap =
      (options_.max_items + kCrossSellShards - 1) / kCrossSellShards;
  std::vector<redis::ScriptCall> calls;
  for (const ItemDelta& delta : CountChanges(before, after)) {
    const int shard = keys_.ShardOf(delta.item);
    redis::ScriptCall call;
    call.keys = {keys_.ItemCounts(shard), keys_.Partners(delta.item)};
    call.args = {delta.item, absl::StrCat(delta.self), absl::StrCat(shard_cap),
                 absl::StrCat(options_.max_pairs_per_item)};
    for (const auto& [other, change] : delta.pairs) {
      if (change == 0) continue;
      call.args.push_back(other);
      call.args.push_back(absl::StrCat(change));
    }
    calls.push_back(std::move(call));
  }
  if (calls.empty()) return absl::OkStatus();
  redis::Replies applied =
      redis::RunAllAndWait(*context_->redis, scripts_.apply_counts, calls);
  for (const absl::StatusOr<Reply>& reply : applied) {
    if (absl::Status status = CheckReply(reply, "counting a basket");
        !status.ok()) {
      return status;
    }
    if (metrics_ != nullptr && reply->elements.size() == 2) {
      metrics_->pairs_left_out().Increment(
          static_cast<double>(reply->elements[1].integer));
    }
  }
  // Only an item newly bought can be left out.
  if (metrics_ != nullptr) {
    for (size_t i = 0; i < applied.size(); ++i) {
      if (applied[i]->elements.size() == 2 &&
          applied[i]->elements[0].integer == 0 && calls[i].args[1] == "1") {
        metrics_->items_left_out().Increment();
      }
    }
  }
  const LevelDeltas customers = CustomerChanges(before, after);
  std::vector<std::vector<std::string>> counts;
  const std::string key = keys_.Customers(keys_.ShardOf(customer_id));
  if (customers.products != 0) {
    counts.push_back({"HINCRBY", key, "p", absl::StrCat(customers.products)});
  }
  if (customers.categories != 0) {
    counts.push_back({"HINCRBY", key, "c", absl::StrCat(customers.categories)});
  }
  if (counts.empty()) return absl::OkStatus();
  for (const absl::StatusOr<Reply>& reply :
       redis::CallAllAndWait(*context_->redis, std::move(counts))) {
    if (absl::Status status = CheckReply(reply, "counting customers");
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

std::optional<int64_t> CrossSellKeeper::RecentCustomers(bool categories,
                                                        absl::Time now) const {
  if (options_.customers_max_age <= absl::ZeroDuration()) return std::nullopt;
  absl::MutexLock lock(&customers_mutex_);
  const ReadCustomers& read = customers_read_[categories ? 1 : 0];
  if (now - read.read_at > options_.customers_max_age) return std::nullopt;
  return read.customers;
}

void CrossSellKeeper::RememberCustomers(bool categories, int64_t customers,
                                        absl::Time read_at) const {
  absl::MutexLock lock(&customers_mutex_);
  ReadCustomers& read = customers_read_[categories ? 1 : 0];
  // Replies can come out of order: the latest read wins.
  if (read_at >= read.read_at) read = {customers, read_at};
}

}  // namespace omnihub::recommendations

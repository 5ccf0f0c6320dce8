#include "services/recommendations/cross_sell_query.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/reply_gatherer.h"

namespace omnihub::recommendations {
namespace {

using redis::Reply;

// A count as Redis gives it: an integer, a hash field's text, or a sorted
// set's score (text of a double; counts are whole numbers).
int64_t IntegerOf(const Reply& reply) {
  if (reply.type == Reply::Type::kInteger) return reply.integer;
  int64_t value = 0;
  if (absl::SimpleAtoi(reply.str, &value)) return value;
  double score = 0;
  if (absl::SimpleAtod(reply.str, &score)) return std::llround(score);
  return 0;
}

absl::Status CheckAll(const redis::Replies& replies, absl::string_view what) {
  for (const absl::StatusOr<Reply>& reply : replies) {
    absl::StatusOr<Reply> checked = redis::ErrorReplyAsStatus(reply, what);
    if (!checked.ok()) return checked.status();
  }
  return absl::OkStatus();
}

// Items grouped by shard, for one HMGET per shard: `order[i]` is the index
// into `items` of the i-th item asked, shard by shard; `asked[c]` the
// number of items of commands[c].
struct ByShard {
  std::vector<std::vector<std::string>> commands;
  std::vector<size_t> asked;
  std::vector<size_t> order;
};

ByShard GroupByShard(const CrossSellKeys& keys,
                     const std::vector<std::string>& items) {
  std::vector<std::pair<int, size_t>> shards;
  shards.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    shards.push_back({keys.ShardOf(items[i]), i});
  }
  std::sort(shards.begin(), shards.end());
  ByShard grouped;
  grouped.order.reserve(items.size());
  int current = -1;
  for (const auto& [shard, index] : shards) {
    if (shard != current) {
      grouped.commands.push_back({"HMGET", keys.ItemCounts(shard)});
      grouped.asked.push_back(0);
      current = shard;
    }
    grouped.commands.back().push_back(items[index]);
    ++grouped.asked.back();
    grouped.order.push_back(index);
  }
  return grouped;
}

// The counts of `replies` (HMGETs of GroupByShard) put back in the order
// of the items: out[i] for items[i].
std::vector<int64_t> Ungroup(const ByShard& grouped,
                             const redis::Replies& replies, size_t first,
                             size_t items) {
  std::vector<int64_t> out(items, 0);
  size_t next = 0;
  for (size_t c = 0; c < grouped.asked.size(); ++c) {
    const Reply& reply = *replies[first + c];
    for (size_t j = 0; j < grouped.asked[c]; ++j, ++next) {
      if (j < reply.elements.size()) {
        out[grouped.order[next]] = IntegerOf(reply.elements[j]);
      }
    }
  }
  return out;
}

// One query, from one round trip to the next.
class CandidatesRead : public std::enable_shared_from_this<CandidatesRead> {
 public:
  CandidatesRead(const CrossSellKeeper& keeper, CrossSellQuery query,
                 CrossSellAnswer done)
      : keeper_(keeper),
        redis_(*keeper.context().redis),
        keys_(keeper.keys()),
        top_partners_(std::max<int64_t>(keeper.options().top_partners, 1)),
        query_(std::move(query)),
        prefix_(query_.level == v1::CROSS_SELL_LEVEL_CATEGORY ? kCategoryPrefix
                                                              : kProductPrefix),
        done_(std::move(done)) {
    response_.set_customer_id(query_.customer_id);
  }

  void Start() {
    redis::ExecuteGathered(redis_, {{"GET", keys_.Basket(query_.customer_id)}},
                           [self = shared_from_this()](redis::Replies replies) {
                             self->ReadPartners(std::move(replies));
                           });
  }

 private:
  void ReadPartners(redis::Replies replies) {
    if (absl::Status status = CheckAll(replies, "reading a basket");
        !status.ok()) {
      return Finish(status);
    }
    basket_ = ParseBasket(replies[0]->str);
    std::vector<std::string> antecedents;
    for (const std::string& item : basket_) {
      if (!absl::StartsWith(item, prefix_)) continue;
      antecedents.push_back(item);
      response_.add_bought(item.substr(prefix_.size()));
    }
    if (antecedents.empty()) return Finish(absl::OkStatus());
    std::vector<std::vector<std::string>> commands;
    for (const std::string& item : antecedents) {
      commands.push_back({"ZREVRANGE", keys_.Partners(item), "0",
                          absl::StrCat(top_partners_ - 1), "WITHSCORES"});
    }
    ByShard counts = GroupByShard(keys_, antecedents);
    for (std::vector<std::string>& command : counts.commands) {
      commands.push_back(std::move(command));
    }
    const bool categories = query_.level == v1::CROSS_SELL_LEVEL_CATEGORY;
    const absl::Time now = keeper_.context().options.clock();
    if (std::optional<int64_t> recent =
            keeper_.RecentCustomers(categories, now)) {
      customers_ = *recent;
    } else {
      customers_read_at_ = now;
      for (int shard = 0; shard < kCrossSellShards; ++shard) {
        commands.push_back(
            {"HGET", keys_.Customers(shard), categories ? "c" : "p"});
      }
    }
    redis::ExecuteGathered(
        redis_, std::move(commands),
        [self = shared_from_this(), antecedents = std::move(antecedents),
         counts = std::move(counts)](redis::Replies replies) mutable {
          self->ReadCandidates(std::move(antecedents), counts,
                               std::move(replies));
        });
  }

  void ReadCandidates(std::vector<std::string> antecedents,
                      const ByShard& counts, redis::Replies replies) {
    if (absl::Status status = CheckAll(replies, "reading cross-sell counts");
        !status.ok()) {
      return Finish(status);
    }
    const size_t n = antecedents.size();
    const std::vector<int64_t> with_antecedent = Ungroup(counts, replies, n, n);
    if (customers_read_at_.has_value()) {
      for (size_t i = n + counts.asked.size(); i < replies.size(); ++i) {
        customers_ += IntegerOf(*replies[i]);
      }
      keeper_.RememberCustomers(query_.level == v1::CROSS_SELL_LEVEL_CATEGORY,
                                customers_, *customers_read_at_);
    }
    read_.resize(n);
    for (size_t a = 0; a < n; ++a) {
      Partners& partners = read_[a];
      partners.antecedent = std::move(antecedents[a]);
      partners.with_antecedent = with_antecedent[a];
      std::vector<Reply>& elements = replies[a]->elements;
      partners.both.reserve(elements.size() / 2);
      for (size_t i = 0; i + 1 < elements.size(); i += 2) {
        partners.both.emplace_back(std::move(elements[i].str),
                                   IntegerOf(elements[i + 1]));
      }
    }
    candidates_ = CandidateItems(read_, basket_, query_.min_customers);
    if (candidates_.empty()) return Finish(absl::OkStatus());
    ByShard lookups = GroupByShard(keys_, candidates_);
    std::vector<std::vector<std::string>> commands =
        std::move(lookups.commands);
    redis::ExecuteGathered(
        redis_, std::move(commands),
        [self = shared_from_this(),
         lookups = std::move(lookups)](redis::Replies replies) {
          self->Rank(lookups, std::move(replies));
        });
  }

  void Rank(const ByShard& lookups, redis::Replies replies) {
    if (absl::Status status = CheckAll(replies, "reading cross-sell counts");
        !status.ok()) {
      return Finish(status);
    }
    const std::vector<int64_t> with_item =
        Ungroup(lookups, replies, 0, candidates_.size());
    for (const Rule& rule : RankPartners(
             read_, candidates_, with_item, customers_, basket_,
             query_.min_customers, static_cast<size_t>(query_.limit))) {
      v1::CrossSellCandidate* candidate = response_.add_candidates();
      candidate->set_item(rule.item.substr(prefix_.size()));
      candidate->set_because_of(rule.antecedent.substr(prefix_.size()));
      candidate->set_customers_with_both(rule.both);
      candidate->set_customers_with_antecedent(rule.with_antecedent);
      candidate->set_customers_with_item(rule.with_item);
      candidate->set_customers_counted(rule.customers);
      candidate->set_support(rule.support());
      candidate->set_confidence(rule.confidence());
      candidate->set_lift(rule.lift());
    }
    Finish(absl::OkStatus());
  }

  void Finish(absl::Status status) {
    if (!status.ok()) return std::move(done_)(status);
    std::move(done_)(std::move(response_));
  }

  const CrossSellKeeper& keeper_;
  redis::RedisClient& redis_;
  const CrossSellKeys& keys_;
  const int64_t top_partners_;
  const CrossSellQuery query_;
  const absl::string_view prefix_;
  CrossSellAnswer done_;
  v1::GetCrossSellCandidatesResponse response_;
  Basket basket_;
  std::vector<Partners> read_;
  int64_t customers_ = 0;
  // Set when this query reads the customers itself: when it sent the reads.
  std::optional<absl::Time> customers_read_at_;
  std::vector<std::string> candidates_;
};

}  // namespace

void ReadCrossSellCandidates(const CrossSellKeeper& keeper,
                             CrossSellQuery query, CrossSellAnswer done) {
  std::make_shared<CandidatesRead>(keeper, std::move(query), std::move(done))
      ->Start();
}

}  // namespace omnihub::recommendations

#include "services/recommendations/cross_sell_query.h"

#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"

namespace omnihub::recommendations {
namespace {

using redis::Reply;

int64_t IntegerOf(const Reply& reply) {
  int64_t value = 0;
  if (reply.type == Reply::Type::kInteger) return reply.integer;
  if (!absl::SimpleAtoi(reply.str, &value)) return 0;
  return value;
}

absl::Status CheckAll(const redis::Replies& replies, absl::string_view what) {
  for (const absl::StatusOr<Reply>& reply : replies) {
    absl::StatusOr<Reply> checked = redis::ErrorReplyAsStatus(reply, what);
    if (!checked.ok()) return checked.status();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::GetCrossSellCandidatesResponse> ReadCrossSellCandidates(
    const CrossSellKeeper& keeper, const CrossSellQuery& query) {
  redis::RedisClient& redis = *keeper.context().redis;
  const CrossSellKeys& keys = keeper.keys();
  const bool categories = query.level == v1::CROSS_SELL_LEVEL_CATEGORY;
  const absl::string_view prefix =
      categories ? kCategoryPrefix : kProductPrefix;
  v1::GetCrossSellCandidatesResponse response;
  response.set_customer_id(query.customer_id);

  absl::StatusOr<Reply> stored = redis::ErrorReplyAsStatus(
      redis::CallAndWait(redis, {"GET", keys.Basket(query.customer_id)}),
      "reading a basket");
  if (!stored.ok()) return stored.status();
  const Basket basket = ParseBasket(stored->str);
  std::vector<std::string> antecedents;
  for (const std::string& item : basket) {
    if (!absl::StartsWith(item, prefix)) continue;
    antecedents.push_back(item);
    response.add_bought(item.substr(prefix.size()));
  }
  if (antecedents.empty()) return response;

  std::vector<std::vector<std::string>> commands;
  for (const std::string& item : antecedents) {
    commands.push_back({"HGETALL", keys.Pairs(item)});
    commands.push_back({"HGET", keys.ItemCounts(keys.ShardOf(item)), item});
  }
  for (int shard = 0; shard < kCrossSellShards; ++shard) {
    commands.push_back({"HGET", keys.Customers(shard), categories ? "c" : "p"});
  }
  redis::Replies counts = redis::CallAllAndWait(redis, std::move(commands));
  if (absl::Status status = CheckAll(counts, "reading cross-sell counts");
      !status.ok()) {
    return status;
  }
  int64_t customers = 0;
  for (size_t i = 2 * antecedents.size(); i < counts.size(); ++i) {
    customers += IntegerOf(*counts[i]);
  }
  std::vector<Rule> rules;
  // The candidates' own counts, asked for by shard.
  std::map<int, std::vector<std::string>> wanted;
  std::map<std::string, int64_t> item_counts;
  for (size_t a = 0; a < antecedents.size(); ++a) {
    const Reply& pairs = *counts[2 * a];
    const int64_t with_antecedent = IntegerOf(*counts[2 * a + 1]);
    for (size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
      const std::string& other = pairs.elements[i].str;
      if (basket.contains(other)) continue;
      Rule rule;
      rule.item = other;
      rule.antecedent = antecedents[a];
      rule.both = IntegerOf(pairs.elements[i + 1]);
      rule.with_antecedent = with_antecedent;
      rule.customers = customers;
      if (rule.both < query.min_customers) continue;
      if (item_counts.emplace(other, 0).second) {
        wanted[keys.ShardOf(other)].push_back(other);
      }
      rules.push_back(std::move(rule));
    }
  }
  std::vector<std::vector<std::string>> lookups;
  std::vector<const std::vector<std::string>*> asked;
  for (const auto& [shard, items] : wanted) {
    std::vector<std::string> command = {"HMGET", keys.ItemCounts(shard)};
    command.insert(command.end(), items.begin(), items.end());
    lookups.push_back(std::move(command));
    asked.push_back(&items);
  }
  redis::Replies found = redis::CallAllAndWait(redis, std::move(lookups));
  if (absl::Status status = CheckAll(found, "reading cross-sell counts");
      !status.ok()) {
    return status;
  }
  for (size_t i = 0; i < found.size(); ++i) {
    for (size_t j = 0; j < found[i]->elements.size() && j < asked[i]->size();
         ++j) {
      item_counts[(*asked[i])[j]] = IntegerOf(found[i]->elements[j]);
    }
  }
  for (Rule& rule : rules) rule.with_item = item_counts[rule.item];
  for (const Rule& rule :
       RankCandidates(std::move(rules), basket, query.min_customers,
                      static_cast<size_t>(query.limit))) {
    v1::CrossSellCandidate* candidate = response.add_candidates();
    candidate->set_item(rule.item.substr(prefix.size()));
    candidate->set_because_of(rule.antecedent.substr(prefix.size()));
    candidate->set_customers_with_both(rule.both);
    candidate->set_customers_with_antecedent(rule.with_antecedent);
    candidate->set_customers_with_item(rule.with_item);
    candidate->set_customers_counted(rule.customers);
    candidate->set_support(rule.support());
    candidate->set_confidence(rule.confidence());
    candidate->set_lift(rule.lift());
  }
  return response;
}

}  // namespace omnihub::recommendations

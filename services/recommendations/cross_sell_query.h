// Reading cross-sell candidates for one customer from the counts the
// CrossSellKeeper keeps, asynchronously, in three pipelined round trips:
//   1. the customer's basket (GET);
//   2. for each item bought at the level asked, its `top_partners` partners
//      with the most customers in common (ZREVRANGE … WITHSCORES), the
//      items' own counts (one HMGET per shard) and the number of customers
//      (the 64 shards' HGET), unless a query read that number less than
//      CrossSellOptions::customers_max_age ago;
//   3. the counts of the candidate items (one HMGET per shard).
// The ranking (basket.h) runs on the thread of the last reply: a few
// thousand rules in flat vectors, tens of microseconds.
//
// Reading the top partners only: a rule "X -> Y" is considered only when Y
// is among X's `top_partners` partners with the most customers in common
// (ties: Redis's order, the greater member first). Candidates rank by lift,
// which favours items bought by few; so a Y outside X's top partners whose
// lift through X beats the answer's is missed, or comes with a weaker rule
// through another bought item. Exactly as over all partners whenever every
// bought item has at most `top_partners` partners.
//
//   ReadCrossSellCandidates(keeper, query, [](absl::StatusOr<...> answer) {});
#ifndef OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_QUERY_H_
#define OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_QUERY_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "omnihub/v1/recommendations.pb.h"
#include "services/recommendations/cross_sell_keeper.h"

namespace omnihub::recommendations {

struct CrossSellQuery {
  std::string customer_id;  // live (merges followed)
  v1::CrossSellLevel level = v1::CROSS_SELL_LEVEL_PRODUCT;
  int limit = 10;
  int64_t min_customers = 2;
};

using CrossSellAnswer = absl::AnyInvocable<
    void(absl::StatusOr<v1::GetCrossSellCandidatesResponse>) &&>;

// `done` runs once, on a Redis client thread (it must not block), or on
// the caller's when Redis is known to be down. `keeper` must outlive it.
void ReadCrossSellCandidates(const CrossSellKeeper& keeper,
                             CrossSellQuery query, CrossSellAnswer done);

}  // namespace omnihub::recommendations

#endif  // OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_QUERY_H_

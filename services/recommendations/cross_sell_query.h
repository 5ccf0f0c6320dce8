// Reading cross-sell candidates for one customer from the counts the
// CrossSellKeeper keeps: the customer's basket (one GET), then at once the
// pair counts of each of its items at the level asked and the number of
// customers (the 64 shards), then the counts of the candidate items (one
// HMGET per shard). Blocking: run it on a worker thread.
#ifndef OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_QUERY_H_
#define OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_QUERY_H_

#include <string>

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

absl::StatusOr<v1::GetCrossSellCandidatesResponse> ReadCrossSellCandidates(
    const CrossSellKeeper& keeper, const CrossSellQuery& query);

}  // namespace omnihub::recommendations

#endif  // OMNIHUB_SERVICES_RECOMMENDATIONS_CROSS_SELL_QUERY_H_

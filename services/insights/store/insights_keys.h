// Names of the Redis keys the insights keep beside the customers' own:
//   omnihub:dl:{2a}              deadline index shard (64): customer id ->
//                                the day its lifecycle next changes by time
//   omnihub:{insights}:model     the purchase model in use (a serialised
//                                omnihub.v1.PurchaseModel, written whole)
//   omnihub:{insights}:fitting   lease of the replica running a scheduled fit
//   omnihub:{insights}:pass      the re-evaluation of every customer under
//                                new rules: which rules it is for, where it
//                                is; ...:pass_lease, the replica running it
//   omnihub:{insights}:census    customers per lifecycle stage, counted by
//                                one replica now and then; ...:census_lease
//   omnihub:top:{h:EUR:0a}       top-customer ranking shard (16 per currency
//                                and ranking; h: historical value, p:
//                                predicted): customer id -> value in micros
//   omnihub:c:{<id>}:rk          the rankings a customer is in ("h:EUR" ...),
//                                and how many of its aliases were removed
//                                from them ("na")
//   omnihub:{insights}:rfm       the RFM boundaries in use (a serialised
//                                omnihub.v1.RfmSummary); ...:rfm_lease, the
//                                replica recomputing them and the rankings
// A customer's purchase days and lifecycle live in its view hash (see
// services/timeline/scripts/lib/customer_writes.lua).
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_KEYS_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_KEYS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace omnihub::insights {

inline constexpr int kDeadlineShards = 64;
inline constexpr int kRankingShards = 16;

// Which ranking: 'h' historical value, 'p' predicted value.
enum class Ranking : char { kHistorical = 'h', kPredicted = 'p' };

class InsightsKeys {
 public:
  explicit InsightsKeys(std::string prefix = "omnihub:");

  // The shard of the deadline index that holds `customer_id`.
  std::string DeadlineShardOf(absl::string_view customer_id) const;
  std::vector<std::string> DeadlineShards() const;
  std::string Model() const { return prefix_ + "{insights}:model"; }
  std::string FitLease() const { return prefix_ + "{insights}:fitting"; }
  std::string Pass() const { return prefix_ + "{insights}:pass"; }
  std::string PassLease() const { return prefix_ + "{insights}:pass_lease"; }
  std::string Census() const { return prefix_ + "{insights}:census"; }
  std::string CensusLease() const {
    return prefix_ + "{insights}:census_lease";
  }
  // A customer's shard of one currency's ranking; a ranking's shards.
  std::string RankingShardOf(Ranking ranking, absl::string_view currency,
                             absl::string_view customer_id) const;
  std::vector<std::string> RankingShards(Ranking ranking,
                                         absl::string_view currency) const;
  // The same, named by a ranked-in field ("h:EUR").
  std::string RankingShardOfField(absl::string_view field,
                                  absl::string_view customer_id) const;
  std::string RankedIn(absl::string_view customer_id) const;
  std::string Rfm() const { return prefix_ + "{insights}:rfm"; }
  std::string RfmLease() const { return prefix_ + "{insights}:rfm_lease"; }
  // SCAN pattern of every customer's view hash, and the customer id in one.
  std::string ViewPattern() const;
  // Empty when `key` is not a view key.
  std::string CustomerOfViewKey(absl::string_view key) const;

 private:
  std::string prefix_;
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_KEYS_H_

#include "services/insights/store/insights_keys.h"

#include <set>

#include "gtest/gtest.h"

namespace omnihub::insights {
namespace {

TEST(InsightsKeysTest, DeadlineShardsCoverEveryCustomer) {
  const InsightsKeys keys("omnihub:");
  const std::vector<std::string> shards = keys.DeadlineShards();
  ASSERT_EQ(shards.size(), static_cast<size_t>(kDeadlineShards));
  EXPECT_EQ(shards.front(), "omnihub:dl:{00}");
  EXPECT_EQ(shards.back(), "omnihub:dl:{3f}");
  const std::set<std::string> all(shards.begin(), shards.end());
  std::set<std::string> used;
  for (int i = 0; i < 2000; ++i) {
    const std::string shard =
        keys.DeadlineShardOf("c0190aabbccdd" + std::to_string(i));
    EXPECT_TRUE(all.contains(shard)) << shard;
    used.insert(shard);
  }
  EXPECT_EQ(used.size(), all.size());
  EXPECT_EQ(keys.DeadlineShardOf("c1"), keys.DeadlineShardOf("c1"));
}

TEST(InsightsKeysTest, ViewKeysAndTheirCustomers) {
  const InsightsKeys keys("shop*1:");
  EXPECT_EQ(keys.ViewPattern(), "shop\\*1:c:{*}:v");
  EXPECT_EQ(keys.CustomerOfViewKey("shop*1:c:{c0123}:v"), "c0123");
  EXPECT_EQ(keys.CustomerOfViewKey("shop*1:c:{c0123}:ev"), "");
  EXPECT_EQ(keys.CustomerOfViewKey("other:c:{c0123}:v"), "");
  EXPECT_EQ(keys.Model(), "shop*1:{insights}:model");
}

TEST(InsightsKeysTest, RankingShardsCoverEveryCustomerPerCurrency) {
  const InsightsKeys keys("omnihub:");
  const std::vector<std::string> shards =
      keys.RankingShards(Ranking::kHistorical, "EUR");
  ASSERT_EQ(shards.size(), static_cast<size_t>(kRankingShards));
  EXPECT_EQ(shards.front(), "omnihub:top:{h:EUR:00}");
  EXPECT_EQ(shards.back(), "omnihub:top:{h:EUR:0f}");
  const std::set<std::string> all(shards.begin(), shards.end());
  std::set<std::string> used;
  for (int i = 0; i < 500; ++i) {
    const std::string id = "c0190aabbccdd" + std::to_string(i);
    const std::string shard =
        keys.RankingShardOf(Ranking::kHistorical, "EUR", id);
    EXPECT_TRUE(all.contains(shard)) << shard;
    EXPECT_EQ(keys.RankingShardOfField("h:EUR", id), shard);
    used.insert(shard);
  }
  EXPECT_EQ(used.size(), all.size());
  EXPECT_EQ(keys.RankingShardOf(Ranking::kPredicted, "USD", "c1").substr(0, 18),
            "omnihub:top:{p:USD");
  EXPECT_EQ(keys.RankedIn("c1"), "omnihub:c:{c1}:rk");
}

}  // namespace
}  // namespace omnihub::insights

#include "services/recommendations/basket.h"

#include "gtest/gtest.h"

namespace omnihub::recommendations {
namespace {

v1::InteractionEvent Purchase(
    std::vector<std::pair<std::string, std::string>> lines) {
  v1::InteractionEvent event;
  for (const auto& [sku, category] : lines) {
    v1::LineItem* item = event.add_line_items();
    item->set_sku(sku);
    item->set_category(category);
    item->set_quantity(1);
  }
  return event;
}

TEST(BasketTest, ProductsAndCategoriesOfEveryPurchaseOnce) {
  const Basket basket = BasketOf(
      {Purchase({{"A", "shoes"}, {"B", ""}}), Purchase({{"A", "socks"}})}, 10);
  EXPECT_EQ(basket, (Basket{"p:A", "p:B", "c:shoes", "c:socks"}));
  EXPECT_EQ(ParseBasket(EncodeBasket(basket)), basket);
  EXPECT_TRUE(ParseBasket("").empty());
}

TEST(BasketTest, EachLevelCappedSeparately) {
  const Basket basket =
      BasketOf({Purchase({{"A", "x"}, {"B", "y"}, {"C", "z"}})}, 2);
  EXPECT_EQ(basket, (Basket{"p:A", "p:B", "c:x", "c:y"}));
}

TEST(BasketTest, ChangesCountOnlyTheDifferenceAndPairsWithinALevel) {
  const std::vector<ItemDelta> deltas =
      CountChanges({"p:A", "p:B", "c:x"}, {"p:A", "p:C", "c:x"});
  std::map<std::string, ItemDelta> by_item;
  for (const ItemDelta& delta : deltas) by_item[delta.item] = delta;
  ASSERT_EQ(by_item.size(), 3u);  // A (pairs), B, C; x unchanged
  EXPECT_EQ(by_item["p:A"].self, 0);
  EXPECT_EQ(by_item["p:A"].pairs,
            (std::map<std::string, int64_t>{{"p:B", -1}, {"p:C", +1}}));
  EXPECT_EQ(by_item["p:B"].self, -1);
  EXPECT_EQ(by_item["p:B"].pairs,
            (std::map<std::string, int64_t>{{"p:A", -1}}));
  EXPECT_EQ(by_item["p:C"].self, 1);
  EXPECT_EQ(by_item["p:C"].pairs,
            (std::map<std::string, int64_t>{{"p:A", +1}}));
  EXPECT_TRUE(CountChanges({"p:A"}, {"p:A"}).empty());
}

TEST(BasketTest, CustomersPerLevel) {
  LevelDeltas deltas = CustomerChanges({}, {"p:A"});
  EXPECT_EQ(deltas.products, 1);
  EXPECT_EQ(deltas.categories, 0);
  deltas = CustomerChanges({"p:A", "c:x"}, {"p:B"});
  EXPECT_EQ(deltas.products, 0);
  EXPECT_EQ(deltas.categories, -1);
}

TEST(BasketTest, RuleFiguresAreTheAssociationRuleDefinitions) {
  // 100 customers, 20 bought A, 10 bought B, 8 both.
  Rule rule{.item = "p:B",
            .antecedent = "p:A",
            .both = 8,
            .with_antecedent = 20,
            .with_item = 10,
            .customers = 100};
  EXPECT_DOUBLE_EQ(rule.support(), 0.08);
  EXPECT_DOUBLE_EQ(rule.confidence(), 0.4);
  EXPECT_DOUBLE_EQ(rule.lift(), 4.0);
}

TEST(BasketTest, RankingByLiftKeepsTheBestRulePerItemAndLeavesOutBought) {
  std::vector<Rule> rules = {
      // Popular: high confidence, no lift.
      {.item = "p:P",
       .antecedent = "p:A",
       .both = 18,
       .with_antecedent = 20,
       .with_item = 90,
       .customers = 100},
      {.item = "p:B",
       .antecedent = "p:A",
       .both = 8,
       .with_antecedent = 20,
       .with_item = 10,
       .customers = 100},
      {.item = "p:B",
       .antecedent = "p:C",
       .both = 2,
       .with_antecedent = 40,
       .with_item = 10,
       .customers = 100},
      {.item = "p:C",
       .antecedent = "p:A",
       .both = 5,
       .with_antecedent = 20,
       .with_item = 40,
       .customers = 100},
      {.item = "p:D",
       .antecedent = "p:A",
       .both = 1,
       .with_antecedent = 20,
       .with_item = 1,
       .customers = 100},
  };
  std::vector<Rule> ranked = RankCandidates(rules, {"p:A", "p:C"}, 2, 10);
  ASSERT_EQ(ranked.size(), 2u);  // C bought, D below min_customers
  EXPECT_EQ(ranked[0].item, "p:B");
  EXPECT_EQ(ranked[0].antecedent, "p:A");
  EXPECT_EQ(ranked[1].item, "p:P");
  EXPECT_EQ(RankCandidates(rules, {"p:A"}, 2, 1).size(), 1u);
}

TEST(BasketTest, EquallyGoodRulesKeepTheFirstAndRankByItem) {
  auto rule = [](std::string item, std::string antecedent) {
    return Rule{.item = std::move(item),
                .antecedent = std::move(antecedent),
                .both = 4,
                .with_antecedent = 20,
                .with_item = 10,
                .customers = 100};
  };
  std::vector<Rule> ranked = RankCandidates(
      {rule("p:Z", "p:A"), rule("p:B", "p:C"), rule("p:B", "p:A")},
      {"p:A", "p:C"}, 2, 10);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].item, "p:B");
  EXPECT_EQ(ranked[0].antecedent, "p:C");  // the first of the two
  EXPECT_EQ(ranked[1].item, "p:Z");
}

TEST(BasketTest, CandidatesOfThePartnersReadAndTheirRules) {
  const Basket bought = {"p:A", "p:C"};
  const std::vector<Partners> read = {
      {.antecedent = "p:A",
       .with_antecedent = 20,
       .both = {{"p:P", 18}, {"p:B", 8}, {"p:C", 5}, {"p:D", 1}}},
      {.antecedent = "p:C", .with_antecedent = 40, .both = {{"p:B", 2}}},
  };
  // C bought, D below min_customers; B once.
  const std::vector<std::string> candidates = CandidateItems(read, bought, 2);
  EXPECT_EQ(candidates, (std::vector<std::string>{"p:B", "p:P"}));
  std::vector<Rule> ranked =
      RankPartners(read, candidates, {10, 90}, 100, bought, 2, 10);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].item, "p:B");
  EXPECT_EQ(ranked[0].antecedent, "p:A");
  EXPECT_EQ(ranked[0].both, 8);
  EXPECT_EQ(ranked[0].with_antecedent, 20);
  EXPECT_EQ(ranked[0].with_item, 10);
  EXPECT_DOUBLE_EQ(ranked[0].lift(), 4.0);
  EXPECT_EQ(ranked[1].item, "p:P");
  EXPECT_EQ(ranked[1].with_item, 90);
  EXPECT_TRUE(RankPartners(read, {}, {}, 100, bought, 2, 10).empty());
}

}  // namespace
}  // namespace omnihub::recommendations

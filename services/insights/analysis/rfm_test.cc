#include "services/insights/analysis/rfm.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace omnihub::insights {
namespace {

// A customer with a purchase of `micros` in `currency` on each of `days`.
CustomerRecord Customer(const std::vector<int64_t>& days, int64_t micros,
                        const std::string& currency = "EUR") {
  CustomerFields fields;
  for (int64_t day : days) {
    fields.purchase_days.emplace_back(
        absl::StrCat(day), absl::StrCat("1;", currency, "=", micros));
  }
  absl::StatusOr<CustomerRecord> record =
      CustomerRecord::FromFields(std::move(fields));
  EXPECT_TRUE(record.ok()) << record.status();
  return *record;
}

TEST(QuintileCutsTest, TenDistinctValuesSplitTwoByTwo) {
  std::vector<int64_t> values = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
  const std::array<int64_t, 4> cuts = QuintileCuts(values);
  EXPECT_EQ(cuts, (std::array<int64_t, 4>{2, 4, 6, 8}));
  for (int64_t value = 1; value <= 10; ++value) {
    EXPECT_EQ(QuintileOf(cuts, value), (value + 1) / 2) << value;
  }
}

TEST(QuintileCutsTest, TiesShareAQuintile) {
  // Half the base bought once: they all score 1, whatever their order.
  std::vector<int64_t> values = {1, 1, 1, 1, 1, 2, 3, 4, 5, 6};
  const std::array<int64_t, 4> cuts = QuintileCuts(values);
  EXPECT_EQ(cuts, (std::array<int64_t, 4>{1, 1, 2, 4}));
  EXPECT_EQ(QuintileOf(cuts, 1), 1);
  EXPECT_EQ(QuintileOf(cuts, 2), 3);
  EXPECT_EQ(QuintileOf(cuts, 3), 4);
  EXPECT_EQ(QuintileOf(cuts, 5), 5);
}

TEST(QuintileCutsTest, FewerThanFiveCustomers) {
  std::vector<int64_t> none;
  EXPECT_EQ(QuintileCuts(none), (std::array<int64_t, 4>{0, 0, 0, 0}));
  std::vector<int64_t> one = {7};
  const std::array<int64_t, 4> single = QuintileCuts(one);
  EXPECT_EQ(QuintileOf(single, 7), 1);
  std::vector<int64_t> two = {3, 9};
  const std::array<int64_t, 4> pair = QuintileCuts(two);
  EXPECT_EQ(pair, (std::array<int64_t, 4>{3, 3, 9, 9}));
  EXPECT_EQ(QuintileOf(pair, 3), 1);
  EXPECT_EQ(QuintileOf(pair, 9), 3);
  EXPECT_EQ(QuintileOf(pair, 10), 5);  // above every value of the base
}

TEST(RfmSegmentTest, TheGridCoversEveryPairWithEverySegment) {
  std::set<RfmSegment> seen;
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) seen.insert(RfmSegmentOf(r, f));
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRfmSegments));
  EXPECT_EQ(RfmSegmentOf(5, 5), RfmSegment::kChampions);
  EXPECT_EQ(RfmSegmentOf(5, 1), RfmSegment::kNew);
  EXPECT_EQ(RfmSegmentOf(4, 1), RfmSegment::kPromising);
  EXPECT_EQ(RfmSegmentOf(4, 4), RfmSegment::kLoyal);
  EXPECT_EQ(RfmSegmentOf(3, 5), RfmSegment::kLoyal);
  EXPECT_EQ(RfmSegmentOf(4, 2), RfmSegment::kPotentialLoyalists);
  EXPECT_EQ(RfmSegmentOf(3, 3), RfmSegment::kNeedAttention);
  EXPECT_EQ(RfmSegmentOf(3, 2), RfmSegment::kAboutToSleep);
  EXPECT_EQ(RfmSegmentOf(2, 3), RfmSegment::kAtRisk);
  EXPECT_EQ(RfmSegmentOf(1, 5), RfmSegment::kCantLose);
  EXPECT_EQ(RfmSegmentOf(1, 1), RfmSegment::kHibernating);
}

TEST(MainCurrencyTest, MostDaysThenMostSpendThenAlphabetical) {
  EXPECT_EQ(MainCurrency({}), "");
  EXPECT_EQ(
      MainCurrency({{.currency = "EUR", .total_micros = 9, .occasions = 1},
                    {.currency = "USD", .total_micros = 1, .occasions = 2}}),
      "USD");
  EXPECT_EQ(
      MainCurrency({{.currency = "EUR", .total_micros = 9, .occasions = 2},
                    {.currency = "USD", .total_micros = 1, .occasions = 2}}),
      "EUR");
  EXPECT_EQ(
      MainCurrency({{.currency = "EUR", .total_micros = 5, .occasions = 2},
                    {.currency = "USD", .total_micros = 5, .occasions = 2}}),
      "EUR");
}

TEST(ScoreRfmTest, ScoresFollowTimeAndTheBoundaries) {
  const int64_t today = 20000;
  RfmPopulation population(today);
  // Ten customers: customer i bought on i days, the last i days ago, for
  // i * 10 EUR each time.
  std::vector<CustomerRecord> base;
  for (int i = 1; i <= 10; ++i) {
    std::vector<int64_t> days;
    for (int d = 0; d < i; ++d) days.push_back(today - i - 30 * d);
    base.push_back(Customer(days, i * 10'000'000));
    population.Add(base.back());
  }
  population.Add(Customer({}, 0));  // a prospect: not in the base
  const RfmBoundaries boundaries = std::move(population).Boundaries();
  EXPECT_EQ(boundaries.customers, 10);
  ASSERT_TRUE(boundaries.monetary.contains("EUR"));
  for (int i = 1; i <= 10; ++i) {
    std::optional<RfmScore> score = ScoreRfm(boundaries, base[i - 1], today);
    ASSERT_TRUE(score.has_value());
    const int quintile = (i + 1) / 2;
    EXPECT_EQ(score->frequency, quintile) << i;
    EXPECT_EQ(score->recency, 6 - quintile) << i;
    EXPECT_EQ(score->monetary, quintile) << i;
    EXPECT_EQ(score->main_currency, "EUR");
    EXPECT_EQ(score->spend_micros, int64_t{i} * i * 10'000'000);
  }
  // Time alone: 100 days on, the most recent buyer is past every boundary.
  EXPECT_EQ(ScoreRfm(boundaries, base[0], today + 100)->recency, 1);
  EXPECT_FALSE(ScoreRfm(boundaries, Customer({}, 0), today).has_value());
  EXPECT_FALSE(ScoreRfm(RfmBoundaries{}, base[0], today).has_value());
  // A currency nobody had as main currency: no monetary score.
  std::optional<RfmScore> yen =
      ScoreRfm(boundaries, Customer({today - 1}, 100, "JPY"), today);
  ASSERT_TRUE(yen.has_value());
  EXPECT_EQ(yen->monetary, 0);
  EXPECT_EQ(yen->segment, RfmSegment::kNew);
}

TEST(ScoreRfmTest, MonetaryIsScoredWithinEachMainCurrency) {
  const int64_t today = 20000;
  RfmPopulation population(today);
  // Five EUR customers with small spend and five USD customers with big
  // spend: each is scored among its own currency's customers.
  for (int i = 1; i <= 5; ++i) {
    population.Add(Customer({today - 1}, i, "EUR"));
    population.Add(Customer({today - 1}, i * 1'000'000'000LL, "USD"));
  }
  const RfmBoundaries boundaries = std::move(population).Boundaries();
  ASSERT_EQ(boundaries.monetary.size(), 2u);
  EXPECT_EQ(boundaries.monetary.at("EUR").customers, 5);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(
        ScoreRfm(boundaries, Customer({today - 1}, i, "EUR"), today)->monetary,
        i);
    EXPECT_EQ(ScoreRfm(boundaries,
                       Customer({today - 1}, i * 1'000'000'000LL, "USD"), today)
                  ->monetary,
              i);
  }
}

}  // namespace
}  // namespace omnihub::insights

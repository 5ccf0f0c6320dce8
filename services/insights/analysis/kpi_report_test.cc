#include "services/insights/analysis/kpi_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omnihub::insights {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// A small base whose KPIs are worked out by hand below; the lifecycle is the
// default inactivity rule (at risk after 90 days, lapsed after 180).
TEST(KpiReportTest, SmallBaseWithKnownAnswers) {
  const LifecycleRules rules;
  const int64_t today = 400;
  KpiReport report(/*first_day=*/100, /*last_day=*/199);
  auto add = [&](int channel, int64_t first_seen, std::vector<int64_t> days,
                 std::vector<CurrencyValue> value = {}) {
    report.Add(channel, first_seen,
               LifecycleHistory(days, first_seen, today, rules), value);
  };
  // Active at the start and at the end: retained.
  add(1, 50, {60, 150}, {{.currency = "EUR", .lifetime_value = 100}});
  // New on day 10, at risk on 100, lapsed on 190: churned.
  add(2, 10, {10}, {{.currency = "EUR", .lifetime_value = 999}});
  // A prospect all along.
  add(2, 80, {});
  // First seen during the period, a prospect for ten days, then converted.
  add(2, 120, {130}, {{.currency = "EUR", .lifetime_value = 50}});
  // First seen buying: a new customer, never a prospect.
  add(2, 150, {150});
  // Lapsed on day 80 (first purchase on -100), reactivated on 160.
  add(2, -100, {-100, 160});

  const KpiFigures& all = report.all();
  EXPECT_EQ(all.active_at_start, 2);  // the first two
  EXPECT_EQ(all.churned, 1);
  EXPECT_EQ(all.retained, 1);
  EXPECT_DOUBLE_EQ(all.ChurnRate(), 0.5);
  EXPECT_DOUBLE_EQ(all.RetentionRate(), 0.5);
  EXPECT_EQ(all.prospects, 2);
  EXPECT_EQ(all.converted, 1);
  EXPECT_DOUBLE_EQ(all.ConversionRate(), 0.5);
  EXPECT_EQ(all.new_customers, 2);
  EXPECT_EQ(all.reactivated, 1);
  EXPECT_EQ(all.lapsed, 1);
  EXPECT_EQ(all.active_at_end, 4);
  // The churned customer's value is not among those active at the end.
  ASSERT_EQ(all.lifetime_value.size(), 1u);
  EXPECT_EQ(all.lifetime_value.at("EUR").customers, 2);
  EXPECT_DOUBLE_EQ(all.lifetime_value.at("EUR").total, 150);

  ASSERT_EQ(report.by_channel().size(), 2u);
  EXPECT_EQ(report.by_channel().at(1).active_at_start, 1);
  EXPECT_EQ(report.by_channel().at(1).retained, 1);
  EXPECT_EQ(report.by_channel().at(2).churned, 1);
  EXPECT_EQ(report.by_channel().at(2).new_customers, 2);
}

TEST(KpiReportTest, EmptyBaseHasZeroRates) {
  KpiReport report(100, 199);
  EXPECT_EQ(report.all().ChurnRate(), 0);
  EXPECT_EQ(report.all().ConversionRate(), 0);
}

int64_t Day(int year, int month, int day) {
  return absl::CivilDay(year, month, day) - absl::CivilDay(1970);
}

TEST(CohortReportTest, ShareActiveAtTheEndOfEachMonth) {
  const LifecycleRules rules;
  const int64_t today = Day(2026, 9, 30);
  CohortReport report(absl::CivilMonth(2026, 1), absl::CivilMonth(2026, 2),
                      today);
  auto add = [&](std::vector<int64_t> days) {
    report.Add(LifecycleHistory(days, days.front(), today, rules),
               days.front());
  };
  add({Day(2026, 1, 10)});                   // lapses 2026-07-09
  add({Day(2026, 1, 20), Day(2026, 3, 5)});  // lapses 2026-09-01
  add({Day(2025, 12, 31)});                  // another cohort, left out
  ASSERT_EQ(report.rows().size(), 2u);
  const CohortReport::Row& january = report.rows()[0];
  EXPECT_EQ(january.customers, 2);
  EXPECT_THAT(january.active, ElementsAre(2, 2, 2, 2, 2, 2, 1, 1, 0));
  EXPECT_EQ(report.rows()[1].customers, 0);
  EXPECT_EQ(report.rows()[1].active.size(), 8u);
  EXPECT_EQ(LastDayOf(absl::CivilMonth(2026, 2)), Day(2026, 2, 28));
  EXPECT_EQ(MonthOf(Day(2026, 2, 28)), absl::CivilMonth(2026, 2));
}

}  // namespace
}  // namespace omnihub::insights

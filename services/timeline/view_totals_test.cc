#include "services/timeline/view_totals.h"

#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

TEST(ViewTotalsTest, SumsUpToTheLast64BitMicroFit) {
  ViewTotals a, b;
  ASSERT_TRUE(a.AddField("val:USD", "9223372036854775000"));
  ASSERT_TRUE(b.AddField("val:USD", "807"));
  EXPECT_EQ(a.OverflowWith(b), std::nullopt);
  a.Absorb(b);
  ViewTotals one;
  ASSERT_TRUE(one.AddField("val:USD", "1"));
  std::optional<std::string> why = a.OverflowWith(one);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("USD"), std::string::npos) << *why;
  EXPECT_NE(why->find("9223372036854775807 + 1"), std::string::npos) << *why;
}

TEST(ViewTotalsTest, NegativeSumsOverflowToo) {
  ViewTotals a, b;
  ASSERT_TRUE(a.AddField("val:EUR", "-9223372036854775000"));
  ASSERT_TRUE(b.AddField("val:EUR", "-809"));
  EXPECT_TRUE(a.OverflowWith(b).has_value());
  ViewTotals c;
  ASSERT_TRUE(c.AddField("val:EUR", "9223372036854775807"));
  EXPECT_EQ(a.OverflowWith(c), std::nullopt);
}

TEST(ViewTotalsTest, PurchaseDaysAddUpPerDayAndCurrency) {
  ViewTotals a, b;
  ASSERT_TRUE(a.AddField("p:19675", "3;EUR=5;USD=9000000000000000000"));
  ASSERT_TRUE(b.AddField("p:19676", "1;USD=9000000000000000000"));
  EXPECT_EQ(a.OverflowWith(b), std::nullopt);  // another day
  ViewTotals c;
  ASSERT_TRUE(c.AddField("p:19675", "1;USD=300000000000000000"));
  std::optional<std::string> why = a.OverflowWith(c);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("day 19675"), std::string::npos) << *why;
  // Currencies and other fields do not mix.
  ViewTotals d;
  ASSERT_TRUE(d.AddField("p:19675", "1;EUR=9000000000000000000"));
  ASSERT_TRUE(d.AddField("total", "9000000000000000000"));
  ASSERT_TRUE(d.AddField("val:GBP", "9000000000000000000"));
  EXPECT_EQ(a.OverflowWith(d), std::nullopt);
}

TEST(ViewTotalsTest, UnreadableSumsAreReported) {
  ViewTotals a;
  EXPECT_FALSE(a.AddField("val:USD", "lots"));
  EXPECT_FALSE(a.AddField("val:USD", "99999999999999999999"));
  EXPECT_FALSE(a.AddField("p:19675", "1;USD"));
  EXPECT_TRUE(a.AddField("p:19675", "1"));
}

}  // namespace
}  // namespace omnihub::timeline

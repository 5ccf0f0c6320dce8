#include "services/insights/purchase_model/lifetime_value.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace omnihub::insights {
namespace {

constexpr BgNbdParams kPublished{
    .r = 0.2425945, .alpha = 4.4136019, .a = 0.7929199, .b = 2.4258881};
constexpr PurchaseSummary kCustomerOne{.x = 2, .t_x = 30.43, .T = 38.86};

TEST(LifetimeValueTest, OneUndiscountedPeriodIsSpendTimesPurchases) {
  for (double t : {1.0, 39.0, 520.0}) {
    EXPECT_NEAR(LifetimeValue(kPublished, kCustomerOne, 24.66, 1, t, 0),
                24.66 * ExpectedPurchases(kPublished, kCustomerOne, t), 1e-12);
  }
}

TEST(LifetimeValueTest, UndiscountedPeriodsAddUp) {
  EXPECT_NEAR(LifetimeValue(kPublished, kCustomerOne, 10, 52, 1, 0),
              10 * ExpectedPurchases(kPublished, kCustomerOne, 52), 1e-12);
}

// E[Y(4)], E[Y(8)], E[Y(12)] of customer 1 from reference_values.py
// (mpmath, 60 digits), discounted by hand.
TEST(LifetimeValueTest, MatchesAHandComputedCase) {
  const double y4 = 0.14731582341375855, y8 = 0.28847176837653052,
               y12 = 0.42406527971806357;
  const double by_hand = 20 * (y4 / 1.1 + (y8 - y4) / (1.1 * 1.1) +
                               (y12 - y8) / (1.1 * 1.1 * 1.1));
  EXPECT_NEAR(LifetimeValue(kPublished, kCustomerOne, 20, 3, 4, 0.1), by_hand,
              1e-12);
}

TEST(LifetimeValueTest, DiscountingLowersIt) {
  double before = LifetimeValue(kPublished, kCustomerOne, 30, 24, 4.33, 0);
  for (double rate : {0.001, 0.01, 0.05, 0.2}) {
    const double now =
        LifetimeValue(kPublished, kCustomerOne, 30, 24, 4.33, rate);
    EXPECT_LT(now, before) << rate;
    EXPECT_GT(now, 0);
    before = now;
  }
}

TEST(LifetimeValueTest, EdgesAndInvalidInput) {
  EXPECT_EQ(LifetimeValue(kPublished, kCustomerOne, 30, 0, 4, 0.01), 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(
      std::isnan(LifetimeValue(kPublished, kCustomerOne, 30, -1, 4, 0)));
  EXPECT_TRUE(std::isnan(LifetimeValue(kPublished, kCustomerOne, 30, 3, 0, 0)));
  EXPECT_TRUE(
      std::isnan(LifetimeValue(kPublished, kCustomerOne, 30, 3, 4, -1)));
  EXPECT_TRUE(
      std::isnan(LifetimeValue(kPublished, kCustomerOne, nan, 3, 4, 0)));
  EXPECT_TRUE(std::isnan(
      LifetimeValue(kPublished, {.x = 1, .t_x = 5, .T = 4}, 30, 3, 4, 0)));
  EXPECT_TRUE(std::isnan(LifetimeValue({}, kCustomerOne, 30, 3, 4, 0)));
}

}  // namespace
}  // namespace omnihub::insights

#include "services/insights/purchase_model/bg_nbd.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "services/insights/purchase_model/expected_purchases_if_alive.h"

namespace omnihub::insights {
namespace {

// Fader, Hardie & Lee (2005) on CDNOW (tests/data/cdnow/README.md).
constexpr BgNbdParams kPublished{
    .r = 0.2425945, .alpha = 4.4136019, .a = 0.7929199, .b = 2.4258881};
constexpr PurchaseSummary kCustomerOne{.x = 2, .t_x = 30.43, .T = 38.86};

TEST(BgNbdTest, CustomerOneExpectedPurchasesMatchThePaper) {
  EXPECT_NEAR(ExpectedPurchases(kPublished, kCustomerOne, 39), 1.226, 0.001);
}

TEST(BgNbdTest, NewCustomerExpectedPurchasesMatchThePaper) {
  // 78 weeks: the README's 1.8576 is 3.6e-4 below the exact 1.857956 (see
  // reference_values.py), inside the tolerance.
  const double weeks[] = {1, 3, 32, 78};
  const double published[] = {0.0532, 0.1506, 1.0437, 1.8576};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(ExpectedPurchasesNewCustomer(kPublished, weeks[i]),
                published[i], 0.0005)
        << weeks[i] << " weeks";
  }
}

TEST(BgNbdTest, NewCustomerIsACustomerWithNoHistory) {
  for (double t : {0.5, 10.0, 100.0, 520.0}) {
    EXPECT_EQ(ExpectedPurchasesNewCustomer(kPublished, t),
              ExpectedPurchases(kPublished, PurchaseSummary{}, t));
  }
  EXPECT_EQ(ExpectedPurchasesNewCustomer(kPublished, 0), 0);
}

struct Reference {
  BgNbdParams params;
  double x, t_x, T, t;
  double expected_purchases;
};

// E[Y(t) | x, t_x, T] from reference_values.py: mpmath at 60 digits, the
// closed form (hyp2f1) checked against the defining integral. Customers
// chosen where the numerics are hard: z = t/(alpha+T+t) near 1, x in the
// hundreds, a == 1, a+b-1 == 0, a large, r > a+b.
const Reference kReferences[] = {
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     2,
     30.43,
     38.86,
     39,
     1.2259057045100396},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     2,
     30.43,
     38.86,
     4,
     0.14731582341375855},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     2,
     30.43,
     38.86,
     8,
     0.28847176837653052},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     2,
     30.43,
     38.86,
     12,
     0.42406527971806357},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     0,
     0,
     0,
     1,
     0.053184281689749112},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     0,
     0,
     0,
     78,
     1.8579560091180785},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     0,
     0,
     0,
     39,
     1.1950086498463483},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     0,
     0,
     0,
     40.5,
     1.2256734188306422},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     0,
     0,
     0,
     520,
     4.9686362327570802},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     0,
     0,
     1000,
     520,
     0.11698838215702683},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     2,
     30.43,
     38.86,
     1e-06,
     3.7655484945561636e-8},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     100,
     18,
     20,
     520,
     10.483172809655596},
    {{0.2425945, 4.4136019, 0.7929199, 2.4258881},
     300,
     990,
     1000,
     520,
     124.36006011192889},
    {{0.5, 1.0, 0.8, 2.5}, 500, 990, 1000, 520, 175.83113213671419},
    {{0.2425945, 0.01, 0.7929199, 2.4258881}, 0, 0, 0, 520, 36.904434550549607},
    {{2.0, 0.05, 3.0, 1.0}, 5, 1, 2, 520, 0.060716200189801631},
    {{0.5, 2.0, 1.0, 2.0}, 3, 10, 20, 52, 1.5567001908708233},
    {{0.1, 0.5, 0.5, 0.5}, 0, 0, 0, 52, 1.6894910367490237},
    {{1.0, 1.0, 20.0, 5.0}, 2, 5, 10, 100, 0.063376382841587266},
    {{5.0, 1.0, 0.3, 0.2}, 0, 0, 0, 520, 133.44745488879879},
    {{0.5, 0.1, 1.5, 0.7}, 1, 0, 0.5, 520, 0.12913816421139445},
};

TEST(BgNbdTest, ExpectedPurchasesMatchHighPrecisionValues) {
  for (const Reference& c : kReferences) {
    const PurchaseSummary customer{.x = c.x, .t_x = c.t_x, .T = c.T};
    EXPECT_NEAR(ExpectedPurchases(c.params, customer, c.t),
                c.expected_purchases, 1e-12 * c.expected_purchases)
        << "x=" << c.x << " t_x=" << c.t_x << " T=" << c.T << " t=" << c.t
        << " alpha=" << c.params.alpha << " a=" << c.params.a;
  }
}

// The two ways of computing the hypergeometric term are independent: where
// the library uses the series (z <= 0.9) the quadrature must agree with it.
TEST(BgNbdTest, SeriesAndQuadratureAgree) {
  const BgNbdParams params[] = {kPublished,
                                {.r = 2, .alpha = 0.5, .a = 3, .b = 1},
                                {.r = 0.5, .alpha = 2, .a = 1, .b = 2},
                                {.r = 5, .alpha = 1, .a = 0.3, .b = 0.2},
                                {.r = 1, .alpha = 1, .a = 20, .b = 5}};
  int compared = 0;
  for (const BgNbdParams& p : params) {
    for (double x : {0.0, 1.0, 7.0, 60.0, 400.0}) {
      for (double T : {x, 40.0 + x, 500.0 + x}) {
        for (double t : {0.1, 5.0, 52.0, 300.0, 520.0}) {
          if (t > 9 * (p.alpha + T)) continue;  // z > 0.9
          const double series = ExpectedPurchasesIfAliveBySeries(p, x, T, t);
          const double quadrature =
              ExpectedPurchasesIfAliveByQuadrature(p, x, T, t);
          EXPECT_NEAR(series, quadrature, 1e-9 * quadrature)
              << "a=" << p.a << " x=" << x << " T=" << T << " t=" << t;
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 250);
}

TEST(BgNbdTest, ExpectedPurchasesAreFiniteAndGrowWithTheHorizon) {
  const PurchaseSummary customers[] = {{},
                                       kCustomerOne,
                                       {.x = 1, .t_x = 0.5, .T = 1},
                                       {.x = 40, .t_x = 100, .T = 104},
                                       {.x = 300, .t_x = 950, .T = 1000},
                                       {.x = 300, .t_x = 10, .T = 1000},
                                       {.x = 0, .t_x = 0, .T = 1000}};
  const BgNbdParams params[] = {kPublished,
                                {.r = 0.2, .alpha = 0.05, .a = 0.8, .b = 2},
                                {.r = 1, .alpha = 2, .a = 4, .b = 10}};
  for (const BgNbdParams& p : params) {
    for (const PurchaseSummary& c : customers) {
      double before = 0;
      for (double t = 0.25; t <= 520; t += 0.25) {
        const double now = ExpectedPurchases(p, c, t);
        ASSERT_TRUE(std::isfinite(now));
        // Near-zero P(alive) can make both 0; otherwise strictly up.
        ASSERT_GE(now, before) << "x=" << c.x << " T=" << c.T << " t=" << t;
        before = now;
      }
    }
  }
}

TEST(BgNbdTest, ExpectedPurchasesAreContinuousAtAEqualsOne) {
  BgNbdParams p{.r = 0.5, .alpha = 2, .a = 1, .b = 2};
  const PurchaseSummary c{.x = 3, .t_x = 10, .T = 20};
  const double at_one = ExpectedPurchases(p, c, 52);
  p.a = 1 - 1e-7;
  const double below = ExpectedPurchases(p, c, 52);
  p.a = 1 + 1e-7;
  const double above = ExpectedPurchases(p, c, 52);
  EXPECT_NEAR(at_one, (below + above) / 2, 1e-9);
  EXPECT_NEAR(below, above, 1e-6);
}

TEST(BgNbdTest, LogLikelihoodIsThePapersFormula) {
  const auto [r, alpha, a, b] = kPublished;
  for (const PurchaseSummary& c :
       {kCustomerOne, PurchaseSummary{.T = 30},
        PurchaseSummary{.x = 7, .t_x = 20, .T = 21}}) {
    const double x = c.x;
    const double direct =
        std::lgamma(r + x) - std::lgamma(r) + r * std::log(alpha) +
        std::lgamma(a + b) + std::lgamma(b + x) - std::lgamma(b) -
        std::lgamma(a + b + x) +
        std::log(
            std::pow(alpha + c.T, -(r + x)) +
            (x > 0 ? a / (b + x - 1) * std::pow(alpha + c.t_x, -(r + x)) : 0));
    EXPECT_NEAR(BgNbdLogLikelihood(kPublished, c), direct, 1e-12) << "x=" << x;
  }
}

TEST(BgNbdTest, LogLikelihoodStaysFiniteForLargeCustomers) {
  // (alpha+T)^-(r+x) = 1e-1200 underflows a double, not the long double
  // (x86's 80 bits) of this direct evaluation, nor the library's log-sum-exp.
  const PurchaseSummary c{.x = 400, .t_x = 900, .T = 1000};
  const long double r = kPublished.r, alpha = kPublished.alpha,
                    a = kPublished.a, b = kPublished.b, x = c.x;
  const long double direct =
      std::lgamma(r + x) - std::lgamma(r) + r * std::log(alpha) +
      std::lgamma(a + b) + std::lgamma(b + x) - std::lgamma(b) -
      std::lgamma(a + b + x) +
      std::log(std::pow(alpha + c.T, -(r + x)) +
               a / (b + x - 1) * std::pow(alpha + c.t_x, -(r + x)));
  ASSERT_TRUE(std::isfinite(static_cast<double>(direct)));
  EXPECT_NEAR(BgNbdLogLikelihood(kPublished, c), direct, 1e-9);
}

TEST(BgNbdTest, ProbabilityAliveIsOneWithoutRepeatPurchases) {
  for (double T : {0.0, 1.0, 38.86, 1000.0}) {
    EXPECT_EQ(ProbabilityAlive(kPublished, {.x = 0, .t_x = 0, .T = T}), 1);
  }
}

TEST(BgNbdTest, ProbabilityAliveIsThePapersFormula) {
  const auto [r, alpha, a, b] = kPublished;
  const double direct =
      1 / (1 + a / (b + 2 - 1) *
                   std::pow((alpha + 38.86) / (alpha + 30.43), r + 2));
  EXPECT_NEAR(ProbabilityAlive(kPublished, kCustomerOne), direct, 1e-14);
  EXPECT_NEAR(ProbabilityAlive(kPublished, kCustomerOne), 0.7266, 1e-4);
}

TEST(BgNbdTest, ProbabilityAliveFallsWithAge) {
  for (double x : {1.0, 5.0, 50.0, 300.0}) {
    const double t_x = 10;
    double before =
        ProbabilityAlive(kPublished, {.x = x, .t_x = t_x, .T = t_x});
    EXPECT_NEAR(before, 1 / (1 + kPublished.a / (kPublished.b + x - 1)), 1e-14);
    for (double T = t_x + 0.5; T <= 1000; T += 0.5) {
      const double now =
          ProbabilityAlive(kPublished, {.x = x, .t_x = t_x, .T = T});
      ASSERT_GE(now, 0);
      ASSERT_TRUE(now < before || now == 0) << "x=" << x << " T=" << T;
      before = now;
    }
  }
}

TEST(BgNbdTest, AgeWhenProbabilityAliveFallsBelowRoundTrips) {
  for (double x : {1.0, 2.0, 10.0, 200.0}) {
    for (double t_x : {0.0, 3.5, 30.43, 400.0}) {
      for (double threshold : {0.05, 0.3, 0.5, 0.7}) {
        const std::optional<double> age =
            AgeWhenProbabilityAliveFallsBelow(kPublished, x, t_x, threshold);
        ASSERT_TRUE(age.has_value());
        ASSERT_GE(*age, t_x);
        auto alive = [&](double T) {
          return ProbabilityAlive(kPublished, {.x = x, .t_x = t_x, .T = T});
        };
        const double step = 1e-6 * (1 + *age);
        EXPECT_LT(alive(*age + step), threshold);
        if (*age > t_x) {
          EXPECT_NEAR(alive(*age), threshold, 1e-9);
          EXPECT_GE(alive(*age - step), threshold);
        } else {  // already below at the last purchase
          EXPECT_LT(alive(t_x), threshold);
        }
      }
    }
  }
}

TEST(BgNbdTest, AgeWhenProbabilityAliveFallsBelowEdges) {
  EXPECT_FALSE(AgeWhenProbabilityAliveFallsBelow(kPublished, 0, 0, 0.5));
  EXPECT_FALSE(AgeWhenProbabilityAliveFallsBelow(kPublished, 2, 30, 0));
  EXPECT_FALSE(AgeWhenProbabilityAliveFallsBelow(kPublished, 2, 30, -1));
  EXPECT_FALSE(AgeWhenProbabilityAliveFallsBelow(
      kPublished, 2, 30, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(AgeWhenProbabilityAliveFallsBelow(kPublished, 2, -1, 0.5));
  EXPECT_FALSE(AgeWhenProbabilityAliveFallsBelow(kPublished, 1.5, 3, 0.5));
  EXPECT_FALSE(AgeWhenProbabilityAliveFallsBelow(BgNbdParams{}, 2, 3, 0.5));
  EXPECT_EQ(AgeWhenProbabilityAliveFallsBelow(kPublished, 2, 30, 1), 30);
  // P(alive) starts at 1/(1 + a/(b+x-1)) = 0.81 for x = 2.
  EXPECT_EQ(AgeWhenProbabilityAliveFallsBelow(kPublished, 2, 30, 0.9), 30);
  EXPECT_GT(*AgeWhenProbabilityAliveFallsBelow(kPublished, 2, 30, 0.8), 30);
  // Far below: a finite but very large age, never an overflow to garbage.
  const std::optional<double> late =
      AgeWhenProbabilityAliveFallsBelow(kPublished, 1, 0, 1e-300);
  EXPECT_TRUE(!late.has_value() || *late > 1e10);
}

TEST(BgNbdTest, InvalidInputGivesNaN) {
  const PurchaseSummary bad[] = {
      {.x = -1, .t_x = 0, .T = 10},
      {.x = 1.5, .t_x = 2, .T = 10},
      {.x = 2, .t_x = 11, .T = 10},
      {.x = 0, .t_x = 3, .T = 10},
      {.x = 2, .t_x = 3, .T = std::numeric_limits<double>::infinity()},
      {.x = 2, .t_x = std::numeric_limits<double>::quiet_NaN(), .T = 10}};
  for (const PurchaseSummary& c : bad) {
    EXPECT_FALSE(ValidatePurchaseSummary(c).ok());
    EXPECT_TRUE(std::isnan(ProbabilityAlive(kPublished, c)));
    EXPECT_TRUE(std::isnan(BgNbdLogLikelihood(kPublished, c)));
    EXPECT_TRUE(std::isnan(ExpectedPurchases(kPublished, c, 10)));
  }
  for (const BgNbdParams& p :
       {BgNbdParams{}, BgNbdParams{.r = 1, .alpha = 1, .a = 1, .b = -1},
        BgNbdParams{.r = std::numeric_limits<double>::infinity(),
        .alpha = 1,
        .a = 1,
        .b = 1}}) {
    EXPECT_EQ(ValidateBgNbdParams(p).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(std::isnan(ProbabilityAlive(p, kCustomerOne)));
  }
  EXPECT_TRUE(std::isnan(ExpectedPurchases(kPublished, kCustomerOne, -1)));
  EXPECT_TRUE(std::isnan(ExpectedPurchases(
      kPublished, kCustomerOne, std::numeric_limits<double>::infinity())));
  EXPECT_TRUE(ValidatePurchaseSummary(kCustomerOne).ok());
  EXPECT_TRUE(ValidatePurchaseSummary({.x = 1, .t_x = 0, .T = 0}).ok());
}

}  // namespace
}  // namespace omnihub::insights

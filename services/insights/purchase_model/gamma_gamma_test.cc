#include "services/insights/purchase_model/gamma_gamma.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/insights/purchase_model/cdnow_test_data.h"

namespace omnihub::insights {
namespace {

using ::testing::HasSubstr;

// Fader, Hardie & Lee (2005), "RFM and CLV", on the 946 CDNOW customers
// with a repeat purchase (tests/data/cdnow/README.md).
constexpr GammaGammaParams kPublished{.p = 6.25, .q = 3.74, .gamma = 15.44};
constexpr double kPublishedLogLikelihood = -4055.92;

std::vector<CdnowCustomer> Cdnow() {
  absl::StatusOr<std::vector<CdnowCustomer>> sample = ReadCdnowSample();
  EXPECT_TRUE(sample.ok()) << sample.status();
  return sample.ok() ? *sample : std::vector<CdnowCustomer>();
}

std::vector<WeightedSpend> Spenders(const std::vector<CdnowCustomer>& all) {
  std::vector<WeightedSpend> spenders;
  for (const CdnowCustomer& c : all) {
    if (c.summary.x > 0) spenders.push_back({{c.summary.x, c.zbar}, 1});
  }
  return spenders;
}

TEST(GammaGammaTest, CdnowFitMatchesThePaper) {
  const std::vector<WeightedSpend> spenders = Spenders(Cdnow());
  ASSERT_EQ(spenders.size(), 946u);
  absl::StatusOr<GammaGammaFit> fit = FitGammaGamma(spenders);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->params.p, kPublished.p, 0.05);
  EXPECT_NEAR(fit->params.q, kPublished.q, 0.05);
  EXPECT_NEAR(fit->params.gamma, kPublished.gamma, 0.05);
  EXPECT_NEAR(fit->log_likelihood, kPublishedLogLikelihood, 0.1);
  EXPECT_EQ(fit->customers, 946);
  double at_fit = 0;
  for (const WeightedSpend& s : spenders) {
    at_fit += GammaGammaLogLikelihood(fit->params, s.summary);
  }
  EXPECT_NEAR(fit->log_likelihood, at_fit, 1e-8);
}

// The README's values are those of the fitted parameters (6.2488, 3.7446,
// 15.4477); its rounded ones give customers 3, 4, 5, 8 and 10 35.22, not
// 35.17: q's rounding moves p x + q - 1 by 0.3%.
TEST(GammaGammaTest, CdnowExpectedAverageSpendMatchesThePaper) {
  const std::vector<CdnowCustomer> all = Cdnow();
  absl::StatusOr<GammaGammaFit> fit = FitGammaGamma(Spenders(all));
  ASSERT_TRUE(fit.ok()) << fit.status();
  const double published[] = {24.65, 18.91, 35.17, 35.17, 35.17,
                              71.46, 18.91, 35.17, 27.28, 35.17};
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(all[i].id, i + 1);
    EXPECT_NEAR(ExpectedAverageSpend(
                    fit->params, {.x = all[i].summary.x, .zbar = all[i].zbar}),
                published[i], 0.02)
        << "customer " << i + 1;
  }
}

TEST(GammaGammaTest, LogLikelihoodIsTheFormula) {
  const auto [p, q, gamma] = kPublished;
  for (const SpendSummary& s :
       {SpendSummary{.x = 1, .zbar = 10}, SpendSummary{.x = 7, .zbar = 35.5},
        SpendSummary{.x = 200, .zbar = 0.5}}) {
    const double x = s.x, z = s.zbar;
    const double direct = std::lgamma(p * x + q) - std::lgamma(p * x) -
                          std::lgamma(q) + q * std::log(gamma) +
                          (p * x - 1) * std::log(z) + p * x * std::log(x) -
                          (p * x + q) * std::log(gamma + x * z);
    EXPECT_NEAR(GammaGammaLogLikelihood(kPublished, s), direct,
                1e-10 * std::abs(direct));
  }
}

TEST(GammaGammaTest, ExpectedAverageSpendWithoutPurchasesIsThePopulationMean) {
  EXPECT_DOUBLE_EQ(ExpectedAverageSpend(kPublished, {.x = 0, .zbar = 0}),
                   6.25 * 15.44 / (3.74 - 1));
  // With q <= 1 the population has no finite mean.
  EXPECT_EQ(ExpectedAverageSpend({.p = 2, .q = 0.5, .gamma = 3}, {.x = 0}),
            std::numeric_limits<double>::infinity());
  // Many purchases: close to the customer's own mean.
  EXPECT_NEAR(ExpectedAverageSpend(kPublished, {.x = 1000, .zbar = 42}), 42,
              0.05);
}

TEST(GammaGammaTest, WeightsCountAsDuplicates) {
  const std::vector<WeightedSpend> spenders = Spenders(Cdnow());
  std::vector<WeightedSpend> duplicated, weighted;
  for (size_t i = 0; i < spenders.size(); ++i) {
    const int copies = 1 + static_cast<int>(i % 4);
    weighted.push_back({spenders[i].summary, static_cast<double>(copies)});
    for (int k = 0; k < copies; ++k) duplicated.push_back(spenders[i]);
  }
  absl::StatusOr<GammaGammaFit> a = FitGammaGamma(duplicated);
  absl::StatusOr<GammaGammaFit> b = FitGammaGamma(weighted);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NEAR(b->params.p, a->params.p, 1e-6 * a->params.p);
  EXPECT_NEAR(b->params.q, a->params.q, 1e-6 * a->params.q);
  EXPECT_NEAR(b->params.gamma, a->params.gamma, 1e-6 * a->params.gamma);
  EXPECT_NEAR(b->log_likelihood, a->log_likelihood, 1e-6);
  EXPECT_EQ(b->customers, a->customers);
}

TEST(GammaGammaTest, DataWithoutAnInteriorMaximumAreAnError) {
  // Every customer spent the same: no spread to tell p from q.
  const std::vector<WeightedSpend> alike = {{{.x = 1, .zbar = 10}, 100},
                                            {{.x = 2, .zbar = 10}, 100}};
  absl::StatusOr<GammaGammaFit> fit = FitGammaGamma(alike);
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(fit.status().message(), HasSubstr("bound"));
}

TEST(GammaGammaTest, TooFewEvaluationsIsAnError) {
  FitOptions options;
  options.max_evaluations = 5;
  absl::StatusOr<GammaGammaFit> fit = FitGammaGamma(Spenders(Cdnow()), options);
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(GammaGammaTest, InvalidInputIsRefused) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(FitGammaGamma({}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const WeightedSpend good{{.x = 2, .zbar = 10}, 1};
  const WeightedSpend bad[] = {
      {{.x = 0, .zbar = 10}, 1},  {{.x = 2, .zbar = 0}, 1},
      {{.x = 2, .zbar = -3}, 1},  {{.x = 1.5, .zbar = 3}, 1},
      {{.x = 2, .zbar = nan}, 1}, {{.x = 2, .zbar = 3}, -1}};
  for (const WeightedSpend& c : bad) {
    absl::StatusOr<GammaGammaFit> fit = FitGammaGamma({good, c});
    EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(fit.status().message(), HasSubstr("customer 1"));
    if (c.weight >= 0) {
      EXPECT_TRUE(std::isnan(GammaGammaLogLikelihood(kPublished, c.summary)));
    }
  }
  EXPECT_TRUE(std::isnan(ExpectedAverageSpend(kPublished, {.x = -1})));
  EXPECT_TRUE(std::isnan(ExpectedAverageSpend(kPublished, {.x = 2})));
  EXPECT_TRUE(std::isnan(ExpectedAverageSpend({}, {.x = 0})));
  EXPECT_EQ(FitGammaGamma({good}, GammaGammaParams{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace omnihub::insights

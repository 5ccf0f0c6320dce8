#include "services/insights/purchase_model/log_likelihood_maximizer.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omnihub::insights {
namespace {

using ::testing::HasSubstr;

// A concave function of the log-parameters with its maximum at (2, 0.05,
// 300) and coupled coordinates; `gradient_error` spoils its gradient.
struct Bowl {
  double gradient_error = 0;

  double operator()(absl::Span<const double> p, absl::Span<double> g) const {
    const double u = std::log(p[0] / 2), v = std::log(p[1] / 0.05),
                 w = std::log(p[2] / 300);
    if (!g.empty()) {  // d/dp = d/dlog(p) / p
      g[0] = (-2 * u - v + gradient_error) / p[0];
      g[1] = (-u - 4 * v) / p[1];
      g[2] = (-0.5 * w) / p[2];
    }
    return -(u * u + u * v + 2 * v * v + 0.25 * w * w);
  }
};

const absl::string_view kNames[] = {"u", "v", "w"};

TEST(LogLikelihoodMaximizerTest, FindsTheMaximum) {
  Bowl bowl;
  absl::StatusOr<LogLikelihoodMaximum> best =
      MaximizeLogLikelihood(bowl, {1.0, 1.0, 1.0}, kNames, FitOptions{});
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_NEAR(best->params[0], 2, 2e-6);
  EXPECT_NEAR(best->params[1], 0.05, 0.05 * 1e-6);
  EXPECT_NEAR(best->params[2], 300, 300 * 1e-6);
  EXPECT_NEAR(best->mean_log_likelihood, 0, 1e-12);
  EXPECT_GT(best->evaluations, 0);
}

// The checks and the Newton polish use a numerical gradient: a slightly
// wrong analytic one (L-BFGS then stops off the maximum) is corrected, a
// badly wrong one reported, never returned.
TEST(LogLikelihoodMaximizerTest, AWrongGradientIsCorrectedOrCaught) {
  absl::StatusOr<LogLikelihoodMaximum> best = MaximizeLogLikelihood(
      Bowl{.gradient_error = 0.01}, {1.0, 1.0, 1.0}, kNames, FitOptions{});
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_NEAR(best->params[0], 2, 2e-6);
  EXPECT_NEAR(best->params[1], 0.05, 0.05 * 1e-6);
  best = MaximizeLogLikelihood(Bowl{.gradient_error = 1}, {1.0, 1.0, 1.0},
                               kNames, FitOptions{});
  EXPECT_EQ(best.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(best.status().message(), HasSubstr("did not converge"));
}

TEST(LogLikelihoodMaximizerTest, NoInteriorMaximumIsAnError) {
  // Growing without bound as x -> 0: the search runs into the bound.
  auto falling_log = [](absl::Span<const double> p, absl::Span<double> g) {
    if (!g.empty()) g[0] = -1 / p[0];
    return -std::log(p[0]);
  };
  absl::StatusOr<LogLikelihoodMaximum> best =
      MaximizeLogLikelihood(falling_log, {1.0}, {"x"}, FitOptions{});
  EXPECT_EQ(best.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(best.status().message(), HasSubstr("x ran to its bound"));
  // Levelling off as x -> 0: the search stalls before the bound, where the
  // Newton step shows it is not at a maximum.
  auto falling = [](absl::Span<const double> p, absl::Span<double> g) {
    if (!g.empty()) g[0] = -1;
    return -p[0];
  };
  best = MaximizeLogLikelihood(falling, {1.0}, {"x"}, FitOptions{});
  EXPECT_EQ(best.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LogLikelihoodMaximizerTest, AFlatDirectionIsAnError) {
  auto one_of_two = [](absl::Span<const double> p, absl::Span<double> g) {
    const double u = std::log(p[0]);
    if (!g.empty()) {
      g[0] = -2 * u / p[0];
      g[1] = 0;
    }
    return -u * u;
  };
  absl::StatusOr<LogLikelihoodMaximum> best =
      MaximizeLogLikelihood(one_of_two, {3.0, 3.0}, {"x", "y"}, FitOptions{});
  EXPECT_EQ(best.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(best.status().message(), HasSubstr("flat"));
}

TEST(LogLikelihoodMaximizerTest, TooFewEvaluationsIsAnError) {
  FitOptions options;
  options.max_evaluations = 2;
  absl::StatusOr<LogLikelihoodMaximum> best =
      MaximizeLogLikelihood(Bowl{}, {1.0, 1.0, 1.0}, kNames, options);
  EXPECT_EQ(best.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(best.status().message(), HasSubstr("did not converge"));
}

TEST(LogLikelihoodMaximizerTest, ANonFiniteFunctionIsAnError) {
  auto broken = [](absl::Span<const double> p, absl::Span<double> g) {
    if (!g.empty()) g[0] = 1;
    return p[0] > 1.5 ? std::numeric_limits<double>::quiet_NaN() : p[0];
  };
  absl::StatusOr<LogLikelihoodMaximum> best =
      MaximizeLogLikelihood(broken, {1.0}, {"x"}, FitOptions{});
  EXPECT_EQ(best.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(best.status().message(), HasSubstr("not finite"));
}

TEST(LogLikelihoodMaximizerTest, InvalidInputIsRefused) {
  Bowl bowl;
  EXPECT_EQ(MaximizeLogLikelihood(bowl, {1.0, 1.0}, kNames, FitOptions{})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MaximizeLogLikelihood(bowl, {1.0, 0.0, 1.0}, kNames, FitOptions{})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  FitOptions options;
  options.max_evaluations = 0;
  EXPECT_EQ(MaximizeLogLikelihood(bowl, {1.0, 1.0, 1.0}, kNames, options)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  options = FitOptions{};
  options.parameter_tolerance = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(MaximizeLogLikelihood(bowl, {1.0, 1.0, 1.0}, kNames, options)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace omnihub::insights

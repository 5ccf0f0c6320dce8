#include "services/insights/purchase_model/gamma_gamma.h"

#include <algorithm>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/insights/purchase_model/log_likelihood_maximizer.h"
#include "services/insights/purchase_model/math_policy.h"
#include "services/insights/purchase_model/weighted_customers.h"

namespace omnihub::insights {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double LogGamma(double v) { return boost::math::lgamma(v, kMathPolicy); }
double Digamma(double v) { return boost::math::digamma(v, kMathPolicy); }

// The customers arranged for a fast log-likelihood: the Gamma-function
// terms once per distinct x, per customer only ln(gamma + x zbar).
class GroupedSpenders {
 public:
  explicit GroupedSpenders(absl::Span<const WeightedSpend> customers);

  double total_weight() const { return total_weight_; }

  // At params = {p, q, gamma}; fills `gradient` when it is not empty.
  double MeanLogLikelihood(absl::Span<const double> params,
                           absl::Span<double> gradient) const;

 private:
  struct Spender {
    double x;
    double log_x_zbar;  // ln x + ln zbar
    double log_zbar;
    double x_zbar;
    double weight;
  };

  double total_weight_ = 0;
  std::vector<double> xs_, x_weights_;  // distinct x, their customers
  std::vector<Spender> spenders_;
};

GroupedSpenders::GroupedSpenders(absl::Span<const WeightedSpend> customers) {
  for (const WeightedSpend& c : customers) {
    if (c.weight == 0) continue;
    xs_.push_back(c.summary.x);
  }
  std::sort(xs_.begin(), xs_.end());
  xs_.erase(std::unique(xs_.begin(), xs_.end()), xs_.end());
  x_weights_.assign(xs_.size(), 0);
  for (const WeightedSpend& c : customers) {
    if (c.weight == 0) continue;
    const double x = c.summary.x, zbar = c.summary.zbar;
    total_weight_ += c.weight;
    x_weights_[std::lower_bound(xs_.begin(), xs_.end(), x) - xs_.begin()] +=
        c.weight;
    spenders_.push_back({.x = x,
                         .log_x_zbar = std::log(x) + std::log(zbar),
                         .log_zbar = std::log(zbar),
                         .x_zbar = x * zbar,
                         .weight = c.weight});
  }
}

double GroupedSpenders::MeanLogLikelihood(absl::Span<const double> params,
                                          absl::Span<double> gradient) const {
  const double p = params[0], q = params[1], gamma = params[2];
  const bool want_gradient = !gradient.empty();
  const double log_gamma = std::log(gamma), lg_q = LogGamma(q);
  const double dg_q = want_gradient ? Digamma(q) : 0;
  long double sum = 0, d_p = 0, d_q = 0, d_gamma = 0;
  for (size_t i = 0; i < xs_.size(); ++i) {
    const double px = p * xs_[i], w = x_weights_[i];
    sum += w * (LogGamma(px + q) - LogGamma(px) - lg_q + q * log_gamma);
    if (want_gradient) {
      const double dg_pxq = Digamma(px + q);
      d_p += w * xs_[i] * (dg_pxq - Digamma(px));
      d_q += w * (dg_pxq - dg_q + log_gamma);
      d_gamma += w * q / gamma;
    }
  }
  for (const Spender& s : spenders_) {
    const double px = p * s.x;
    const double log_total = std::log(gamma + s.x_zbar);
    sum += s.weight * (px * s.log_x_zbar - s.log_zbar - (px + q) * log_total);
    if (want_gradient) {
      d_p += s.weight * s.x * (s.log_x_zbar - log_total);
      d_q -= s.weight * log_total;
      d_gamma -= s.weight * (px + q) / (gamma + s.x_zbar);
    }
  }
  if (want_gradient) {
    gradient[0] = static_cast<double>(d_p / total_weight_);
    gradient[1] = static_cast<double>(d_q / total_weight_);
    gradient[2] = static_cast<double>(d_gamma / total_weight_);
  }
  return static_cast<double>(sum / total_weight_);
}

bool Valid(const GammaGammaParams& params, const SpendSummary& customer) {
  return ValidateGammaGammaParams(params).ok() &&
         ValidateSpendSummary(customer).ok();
}

}  // namespace

absl::Status ValidateGammaGammaParams(const GammaGammaParams& params) {
  for (double v : {params.p, params.q, params.gamma}) {
    if (!(std::isfinite(v) && v > 0)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "Gamma-Gamma parameters must be finite and > 0: p=%g q=%g gamma=%g",
          params.p, params.q, params.gamma));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSpendSummary(const SpendSummary& customer) {
  const double x = customer.x, zbar = customer.zbar;
  if (!(std::isfinite(x) && x > 0 && std::floor(x) == x &&
        std::isfinite(zbar) && zbar > 0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a spend summary needs x a whole number > 0 and zbar finite and > 0: "
        "x=%g zbar=%g",
        x, zbar));
  }
  return absl::OkStatus();
}

double GammaGammaLogLikelihood(const GammaGammaParams& params,
                               const SpendSummary& customer) {
  if (!Valid(params, customer)) return kNaN;
  const auto [p, q, gamma] = params;
  const double x = customer.x, zbar = customer.zbar, px = p * x;
  return LogGamma(px + q) - LogGamma(px) - LogGamma(q) + q * std::log(gamma) +
         (px - 1) * std::log(zbar) + px * std::log(x) -
         (px + q) * std::log(gamma + x * zbar);
}

double ExpectedAverageSpend(const GammaGammaParams& params,
                            const SpendSummary& customer) {
  if (customer.x == 0) {  // zbar is meaningless then
    if (!ValidateGammaGammaParams(params).ok()) return kNaN;
  } else if (!Valid(params, customer)) {
    return kNaN;
  }
  const double denominator = params.p * customer.x + params.q - 1;
  if (denominator <= 0) return std::numeric_limits<double>::infinity();
  const double total = customer.x == 0 ? 0 : customer.x * customer.zbar;
  return params.p * (params.gamma + total) / denominator;
}

absl::StatusOr<GammaGammaFit> FitGammaGamma(
    absl::Span<const WeightedSpend> customers, const FitOptions& options) {
  return FitGammaGamma(customers, GammaGammaParams{.p = 1, .q = 1, .gamma = 1},
                       options);
}

absl::StatusOr<GammaGammaFit> FitGammaGamma(
    absl::Span<const WeightedSpend> customers, const GammaGammaParams& start,
    const FitOptions& options) {
  if (absl::Status s = ValidateGammaGammaParams(start); !s.ok()) return s;
  if (absl::Status s = ValidateWeightedCustomers(
          customers,
          [](const WeightedSpend& customer) {
            return ValidateSpendSummary(customer.summary);
          });
      !s.ok()) {
    return s;
  }
  const GroupedSpenders grouped(customers);
  if (!(grouped.total_weight() > 0)) {
    return absl::InvalidArgumentError("the customers' weights sum to 0");
  }
  absl::StatusOr<LogLikelihoodMaximum> maximum = MaximizeLogLikelihood(
      [&grouped](absl::Span<const double> params, absl::Span<double> gradient) {
        return grouped.MeanLogLikelihood(params, gradient);
      },
      {start.p, start.q, start.gamma}, {"p", "q", "gamma"}, options);
  if (!maximum.ok()) {
    return absl::Status(
        maximum.status().code(),
        absl::StrCat("Gamma-Gamma fit: ", maximum.status().message()));
  }
  const std::vector<double>& p = maximum->params;
  return GammaGammaFit{
      .params = {.p = p[0], .q = p[1], .gamma = p[2]},
      .log_likelihood = maximum->mean_log_likelihood * grouped.total_weight(),
      .customers = grouped.total_weight(),
      .evaluations = maximum->evaluations};
}

}  // namespace omnihub::insights

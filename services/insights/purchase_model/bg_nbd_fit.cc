#include "services/insights/purchase_model/bg_nbd_fit.h"

#include <algorithm>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/insights/purchase_model/log_likelihood_maximizer.h"
#include "services/insights/purchase_model/math_policy.h"
#include "services/insights/purchase_model/weighted_customers.h"

namespace omnihub::insights {
namespace {

double LogGamma(double v) { return boost::math::lgamma(v, kMathPolicy); }
double Digamma(double v) { return boost::math::digamma(v, kMathPolicy); }

// The sorted distinct values of `values`.
std::vector<double> Distinct(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

uint32_t IndexOf(const std::vector<double>& distinct, double value) {
  return static_cast<uint32_t>(
      std::lower_bound(distinct.begin(), distinct.end(), value) -
      distinct.begin());
}

// The customers arranged for a fast log-likelihood (eq. 6 of the paper,
// summed): the terms in x alone once per distinct x, the logarithms of
// alpha+T and alpha+t_x once per distinct age and recency, and per distinct
// summary only the log-sum-exp of its two exponential terms.
class GroupedCustomers {
 public:
  explicit GroupedCustomers(absl::Span<const WeightedSummary> customers);

  double total_weight() const { return total_weight_; }
  bool has_repeat_buyer() const { return !repeat_buyers_.empty(); }

  // At params = {r, alpha, a, b}; fills `gradient` when it is not empty.
  double MeanLogLikelihood(absl::Span<const double> params,
                           absl::Span<double> gradient);

 private:
  struct RepeatBuyers {  // customers who share a summary with x > 0
    uint32_t x_index;
    uint32_t age_index;
    uint32_t recency_index;
    double weight;
  };
  // Weighted sums of the log-likelihood and of its derivatives, in long
  // double so that the fit's finite differences see the function, not the
  // rounding of a sum of 10^5 terms.
  struct Sums {
    long double value = 0, r = 0, alpha = 0, a = 0, b = 0;
  };

  // The terms in x alone, per distinct x; sets log_k_.
  void AddCountTerms(const BgNbdParams& p, bool want_gradient, Sums& sums);
  // ln (alpha+T)^-r of the customers with x == 0, per distinct age.
  void AddNoRepeatTerms(const BgNbdParams& p, Sums& sums) const;
  // ln[(alpha+T)^-(r+x) + a/(b+x-1) (alpha+t_x)^-(r+x)], per summary.
  void AddRepeatTerms(const BgNbdParams& p, bool want_gradient, Sums& sums);

  double total_weight_ = 0;
  std::vector<double> xs_, x_weights_;  // distinct x, their customers
  std::vector<double> ages_, recencies_;
  std::vector<double> no_repeat_weights_;  // x == 0, by age index
  std::vector<RepeatBuyers> repeat_buyers_;
  // Per evaluation: ln(alpha+v) and 1/(alpha+v) by age and recency; by x,
  // ln(a/(b+x-1)) and the weight of the customers' "dropped out" term.
  std::vector<double> log_age_, inv_age_, log_recency_, inv_recency_;
  std::vector<double> log_k_, dropped_weight_;
};

GroupedCustomers::GroupedCustomers(
    absl::Span<const WeightedSummary> customers) {
  std::vector<double> xs, ages, recencies;
  for (const WeightedSummary& c : customers) {
    if (c.weight == 0) continue;
    xs.push_back(c.summary.x);
    ages.push_back(c.summary.T);
    if (c.summary.x > 0) recencies.push_back(c.summary.t_x);
  }
  xs_ = Distinct(std::move(xs));
  ages_ = Distinct(std::move(ages));
  recencies_ = Distinct(std::move(recencies));
  x_weights_.assign(xs_.size(), 0);
  no_repeat_weights_.assign(ages_.size(), 0);
  for (const WeightedSummary& c : customers) {
    if (c.weight == 0) continue;
    const PurchaseSummary& s = c.summary;
    total_weight_ += c.weight;
    x_weights_[IndexOf(xs_, s.x)] += c.weight;
    if (s.x == 0) {
      no_repeat_weights_[IndexOf(ages_, s.T)] += c.weight;
    } else {
      repeat_buyers_.push_back({IndexOf(xs_, s.x), IndexOf(ages_, s.T),
                                IndexOf(recencies_, s.t_x), c.weight});
    }
  }
  log_age_.resize(ages_.size());
  inv_age_.resize(ages_.size());
  log_recency_.resize(recencies_.size());
  inv_recency_.resize(recencies_.size());
  log_k_.resize(xs_.size());
  dropped_weight_.resize(xs_.size());
}

double GroupedCustomers::MeanLogLikelihood(absl::Span<const double> params,
                                           absl::Span<double> gradient) {
  const BgNbdParams p{
      .r = params[0], .alpha = params[1], .a = params[2], .b = params[3]};
  const bool want_gradient = !gradient.empty();
  for (size_t j = 0; j < ages_.size(); ++j) {
    log_age_[j] = std::log(p.alpha + ages_[j]);
    inv_age_[j] = 1 / (p.alpha + ages_[j]);
  }
  for (size_t k = 0; k < recencies_.size(); ++k) {
    log_recency_[k] = std::log(p.alpha + recencies_[k]);
    inv_recency_[k] = 1 / (p.alpha + recencies_[k]);
  }
  Sums sums;
  AddCountTerms(p, want_gradient, sums);
  AddNoRepeatTerms(p, sums);
  AddRepeatTerms(p, want_gradient, sums);
  if (want_gradient) {
    gradient[0] = static_cast<double>(sums.r / total_weight_);
    gradient[1] = static_cast<double>(sums.alpha / total_weight_);
    gradient[2] = static_cast<double>(sums.a / total_weight_);
    gradient[3] = static_cast<double>(sums.b / total_weight_);
  }
  return static_cast<double>(sums.value / total_weight_);
}

void GroupedCustomers::AddCountTerms(const BgNbdParams& p, bool want_gradient,
                                     Sums& sums) {
  const auto [r, alpha, a, b] = p;
  const double log_alpha = std::log(alpha);
  const double lg_r = LogGamma(r), lg_ab = LogGamma(a + b), lg_b = LogGamma(b);
  const double dg_r = want_gradient ? Digamma(r) : 0;
  const double dg_ab = want_gradient ? Digamma(a + b) : 0;
  const double dg_b = want_gradient ? Digamma(b) : 0;
  for (size_t i = 0; i < xs_.size(); ++i) {
    const double x = xs_[i], w = x_weights_[i];
    sums.value += w * (LogGamma(r + x) - lg_r + r * log_alpha + lg_ab +
                       LogGamma(b + x) - lg_b - LogGamma(a + b + x));
    if (want_gradient) {
      const double dg_abx = Digamma(a + b + x);
      sums.r += w * (Digamma(r + x) - dg_r + log_alpha);
      sums.alpha += w * r / alpha;
      sums.a += w * (dg_ab - dg_abx);
      sums.b += w * (dg_ab + Digamma(b + x) - dg_b - dg_abx);
    }
    log_k_[i] = x > 0 ? std::log(a) - std::log(b + x - 1) : 0;
  }
}

void GroupedCustomers::AddNoRepeatTerms(const BgNbdParams& p,
                                        Sums& sums) const {
  for (size_t j = 0; j < ages_.size(); ++j) {
    const double w = no_repeat_weights_[j];
    sums.value -= w * p.r * log_age_[j];
    sums.r -= w * log_age_[j];
    sums.alpha -= w * p.r * inv_age_[j];
  }
}

void GroupedCustomers::AddRepeatTerms(const BgNbdParams& p, bool want_gradient,
                                      Sums& sums) {
  std::fill(dropped_weight_.begin(), dropped_weight_.end(), 0);
  for (const RepeatBuyers& c : repeat_buyers_) {
    const double rx = p.r + xs_[c.x_index];
    const double alive = -rx * log_age_[c.age_index];
    const double dropped =
        log_k_[c.x_index] - rx * log_recency_[c.recency_index];
    const double e = std::exp(-std::abs(alive - dropped));
    sums.value += c.weight * (std::max(alive, dropped) + std::log1p(e));
    if (!want_gradient) continue;
    // The two terms' shares of their sum.
    const double w_dropped = dropped > alive ? 1 / (1 + e) : e / (1 + e);
    const double w_alive = 1 - w_dropped;
    sums.r -= c.weight * (w_alive * log_age_[c.age_index] +
                          w_dropped * log_recency_[c.recency_index]);
    sums.alpha -= c.weight * rx *
                  (w_alive * inv_age_[c.age_index] +
                   w_dropped * inv_recency_[c.recency_index]);
    dropped_weight_[c.x_index] += c.weight * w_dropped;
  }
  if (!want_gradient) return;
  for (size_t i = 0; i < xs_.size(); ++i) {
    if (xs_[i] == 0) continue;
    sums.a += dropped_weight_[i] / p.a;
    sums.b -= dropped_weight_[i] / (p.b + xs_[i] - 1);
  }
}

absl::Status ValidateCustomers(absl::Span<const WeightedSummary> customers) {
  return ValidateWeightedCustomers(
      customers, [](const WeightedSummary& customer) {
        return ValidatePurchaseSummary(customer.summary);
      });
}

}  // namespace

std::vector<WeightedSummary> AggregateSummaries(
    absl::Span<const PurchaseSummary> customers) {
  std::vector<PurchaseSummary> sorted(customers.begin(), customers.end());
  auto key = [](const PurchaseSummary& s) {
    return std::make_tuple(s.x, s.t_x, s.T);
  };
  std::sort(sorted.begin(), sorted.end(),
            [&](const PurchaseSummary& l, const PurchaseSummary& r) {
              return key(l) < key(r);
            });
  std::vector<WeightedSummary> distinct;
  for (const PurchaseSummary& s : sorted) {
    if (!distinct.empty() && key(distinct.back().summary) == key(s)) {
      distinct.back().weight += 1;
    } else {
      distinct.push_back({.summary = s, .weight = 1});
    }
  }
  return distinct;
}

absl::StatusOr<BgNbdFit> FitBgNbd(absl::Span<const WeightedSummary> customers,
                                  const FitOptions& options) {
  return FitBgNbd(customers, BgNbdParams{.r = 1, .alpha = 1, .a = 1, .b = 1},
                  options);
}

absl::StatusOr<BgNbdFit> FitBgNbd(absl::Span<const WeightedSummary> customers,
                                  const BgNbdParams& start,
                                  const FitOptions& options) {
  if (absl::Status s = ValidateBgNbdParams(start); !s.ok()) return s;
  if (absl::Status s = ValidateCustomers(customers); !s.ok()) return s;
  GroupedCustomers grouped(customers);
  if (!(grouped.total_weight() > 0)) {
    return absl::InvalidArgumentError("the customers' weights sum to 0");
  }
  if (!grouped.has_repeat_buyer()) {
    return absl::FailedPreconditionError(
        "BG/NBD fit: no customer has a repeat purchase, so the likelihood "
        "has no maximum (it grows as r -> 0, and a, b are not identified)");
  }
  absl::StatusOr<LogLikelihoodMaximum> maximum = MaximizeLogLikelihood(
      [&grouped](absl::Span<const double> params, absl::Span<double> gradient) {
        return grouped.MeanLogLikelihood(params, gradient);
      },
      {start.r, start.alpha, start.a, start.b}, {"r", "alpha", "a", "b"},
      options);
  if (!maximum.ok()) {
    return absl::Status(
        maximum.status().code(),
        absl::StrCat("BG/NBD fit: ", maximum.status().message()));
  }
  const std::vector<double>& p = maximum->params;
  return BgNbdFit{
      .params = {.r = p[0], .alpha = p[1], .a = p[2], .b = p[3]},
      .log_likelihood = maximum->mean_log_likelihood * grouped.total_weight(),
      .customers = grouped.total_weight(),
      .evaluations = maximum->evaluations};
}

}  // namespace omnihub::insights

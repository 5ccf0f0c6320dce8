#include "services/insights/purchase_model/bg_nbd.h"

#include <algorithm>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"
#include "services/insights/purchase_model/expected_purchases_if_alive.h"
#include "services/insights/purchase_model/math_policy.h"

namespace omnihub::insights {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool Valid(const BgNbdParams& params, const PurchaseSummary& customer) {
  return ValidateBgNbdParams(params).ok() &&
         ValidatePurchaseSummary(customer).ok();
}

double LogGamma(double v) { return boost::math::lgamma(v, kMathPolicy); }

// ln(e^u + e^v) without overflow.
double LogAddExp(double u, double v) {
  const double high = std::max(u, v);
  return high + std::log1p(std::exp(std::min(u, v) - high));
}

// ln[a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)] for x > 0: the log-odds of
// having dropped out, of which P(alive) is the logistic function.
double LogOddsDroppedOut(const BgNbdParams& params,
                         const PurchaseSummary& customer) {
  const double x = customer.x;
  return std::log(params.a) - std::log(params.b + x - 1) +
         (params.r + x) * std::log1p((customer.T - customer.t_x) /
                                     (params.alpha + customer.t_x));
}

// 1 / (1 + e^odds), computed without overflow.
double Logistic(double log_odds) {
  if (log_odds > 0) {
    const double e = std::exp(-log_odds);
    return e / (1 + e);
  }
  return 1 / (1 + std::exp(log_odds));
}

}  // namespace

absl::Status ValidateBgNbdParams(const BgNbdParams& params) {
  for (double v : {params.r, params.alpha, params.a, params.b}) {
    if (!(std::isfinite(v) && v > 0)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "BG/NBD parameters must be finite and > 0: r=%g alpha=%g a=%g b=%g",
          params.r, params.alpha, params.a, params.b));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePurchaseSummary(const PurchaseSummary& customer) {
  const double x = customer.x, t_x = customer.t_x, T = customer.T;
  const bool valid = std::isfinite(x) && std::isfinite(t_x) &&
                     std::isfinite(T) && x >= 0 && t_x >= 0 && T >= 0 &&
                     std::floor(x) == x && t_x <= T && (x > 0 || t_x == 0);
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a purchase summary needs finite x, t_x, T >= 0, x whole, t_x <= T, "
        "and t_x == 0 when x == 0: x=%g t_x=%g T=%g",
        x, t_x, T));
  }
  return absl::OkStatus();
}

double BgNbdLogLikelihood(const BgNbdParams& params,
                          const PurchaseSummary& customer) {
  if (!Valid(params, customer)) return kNaN;
  const auto [r, alpha, a, b] = params;
  const double x = customer.x;
  const double counts = LogGamma(r + x) - LogGamma(r) + r * std::log(alpha) +
                        LogGamma(a + b) + LogGamma(b + x) - LogGamma(b) -
                        LogGamma(a + b + x);
  const double alive = -(r + x) * std::log(alpha + customer.T);
  if (x == 0) return counts + alive;
  const double dropped = std::log(a) - std::log(b + x - 1) -
                         (r + x) * std::log(alpha + customer.t_x);
  return counts + LogAddExp(alive, dropped);
}

double ProbabilityAlive(const BgNbdParams& params,
                        const PurchaseSummary& customer) {
  if (!Valid(params, customer)) return kNaN;
  if (customer.x == 0) return 1;
  return Logistic(LogOddsDroppedOut(params, customer));
}

double ExpectedPurchases(const BgNbdParams& params,
                         const PurchaseSummary& customer, double t) {
  if (!Valid(params, customer) || !(std::isfinite(t) && t >= 0)) return kNaN;
  const double alive = ProbabilityAlive(params, customer);
  if (t == 0 || alive == 0) return 0;
  return alive * ExpectedPurchasesIfAlive(params, customer.x, customer.T, t);
}

double ExpectedPurchasesNewCustomer(const BgNbdParams& params, double t) {
  return ExpectedPurchases(params, PurchaseSummary{}, t);
}

std::optional<double> AgeWhenProbabilityAliveFallsBelow(
    const BgNbdParams& params, double x, double t_x, double threshold) {
  if (!Valid(params, PurchaseSummary{.x = x, .t_x = t_x, .T = t_x}) || x == 0 ||
      !(threshold > 0)) {
    return std::nullopt;
  }
  if (threshold >= 1) return t_x;  // P(alive) < 1 at every age when x > 0
  // P < threshold  <=>  log-odds > ln((1-threshold)/threshold), and the
  // log-odds are ln K + (r+x) ln(1 + (T-t_x)/(alpha+t_x)).
  const double log_k = std::log(params.a) - std::log(params.b + x - 1);
  const double log_ratio =
      (std::log1p(-threshold) - std::log(threshold) - log_k) / (params.r + x);
  if (log_ratio <= 0) return t_x;
  const double age = t_x + (params.alpha + t_x) * std::expm1(log_ratio);
  if (!std::isfinite(age)) return std::nullopt;
  return age;
}

}  // namespace omnihub::insights

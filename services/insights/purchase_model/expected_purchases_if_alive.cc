#include "services/insights/purchase_model/expected_purchases_if_alive.h"

#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/gamma.hpp>  // pFq uses it unincluded
#include <boost/math/special_functions/hypergeometric_pFq.hpp>
#include <cmath>
#include <exception>
#include <limits>

#include "services/insights/purchase_model/math_policy.h"

namespace omnihub::insights {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Boost stops the series at the first falling term below epsilon times the
// sum. Past their peak the terms fall by about z each, so the rest is about
// z/(1-z) times that term: 9 epsilon for z <= 0.9. Nearer 1 the series is
// slow and Boost's own error estimate was seen to be wrong (1.5e-4 at
// z = 0.99998 while claiming 6e-16), so the quadrature takes over there.
constexpr double kSeriesMinOneMinusZ = 0.1;
constexpr double kSeriesMaxRelativeError = 1e-11;
constexpr double kQuadratureTolerance = 1e-11;
constexpr double kQuadratureMaxRelativeError = 1e-9;

}  // namespace

// With A = r+x, C = a+b+x-1, z = t/(alpha+T+t) and e = a-1, Euler's
// transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A,C-B;C;z) turns the
// bracket of eq. 10 into 1 - (1-z)^e 2F1(C-A, e; C; z), a series whose
// terms fall like n^(a-r-x-2) z^n (those of the original grow like
// n^(r+x-a) z^n: hopeless for x in the hundreds). Its second parameter is
// e, so it is 1 + e z (C-A)/C 3F2(C-A+1, a, 1; C+1, 2; z), and dividing by e
// exactly gives, with no 0/0 at a = 1 and no division by C = 0,
//   C [1 - (1-z)^e] / e - (1-z)^e z (C-A) 3F2(C-A+1, a, 1; C+1, 2; z),
// the 3F2 summed by Boost.Math.
double ExpectedPurchasesIfAliveBySeries(const BgNbdParams& params, double x,
                                        double T, double t) {
  if (t == 0) return 0;
  const double big_a = params.r + x;
  const double c = params.a + params.b + x - 1;
  const double e = params.a - 1;
  const double z = t / (params.alpha + T + t);
  const double log_1mz = -std::log1p(t / (params.alpha + T));
  const double e_log_1mz = e * log_1mz;
  const double first =
      e_log_1mz == 0 ? -log_1mz : -std::expm1(e_log_1mz) / e;  // [1-(1-z)^e]/e
  double sum = 0;
  double abs_error = 0;
  try {
    sum = boost::math::hypergeometric_pFq({c - big_a + 1, params.a, 1.0},
                                          {c + 1, 2.0}, z, &abs_error,
                                          kMathPolicy);
  } catch (const std::exception&) {  // no convergence within the policy's
    return kNaN;                     // max_series_iterations
  }
  if (!std::isfinite(sum) ||
      !(abs_error <= kSeriesMaxRelativeError * std::abs(sum))) {
    return kNaN;
  }
  return c * first - std::exp(e_log_1mz) * z * (c - big_a) * sum;
}

// The definition itself, E[(1 - (1 + p s)^-A) / p] with s = t/(alpha+T),
// integrated over p ~ Beta(a, b+x) by Boost.Math's tanh-sinh quadrature,
// which copes with the Beta density's singular ends.
double ExpectedPurchasesIfAliveByQuadrature(const BgNbdParams& params, double x,
                                            double T, double t) {
  if (t == 0) return 0;
  const double big_a = params.r + x;
  const double beta_b = params.b + x;
  const double s = t / (params.alpha + T);
  const double log_beta = boost::math::lgamma(params.a, kMathPolicy) +
                          boost::math::lgamma(beta_b, kMathPolicy) -
                          boost::math::lgamma(params.a + beta_b, kMathPolicy);
  // Boost passes the distance to the nearer end as `complement`: -p on the
  // left half, 1-p on the right, exact where p or 1-p is tiny.
  auto integrand = [&](double p, double complement) {
    if (complement < 0) p = -complement;
    const double q = complement > 0 ? complement : 1 - p;
    const double u = p * s;
    const double h = u < 1e-10 ? big_a * s * (1 - (big_a + 1) * u / 2)
                               : -std::expm1(-big_a * std::log1p(u)) / p;
    return std::exp((params.a - 1) * std::log(p) + (beta_b - 1) * std::log(q) -
                    log_beta) *
           h;
  };
  // Its tables are built once and grown under Boost's own lock; integrate()
  // is not declared const in Boost 1.74 but changes nothing else.
  static boost::math::quadrature::tanh_sinh<double, MathPolicy> integrator;
  double error = 0;
  double result = kNaN;
  try {
    result =
        integrator.integrate(integrand, 0.0, 1.0, kQuadratureTolerance, &error);
  } catch (const std::exception&) {
    return kNaN;
  }
  if (!std::isfinite(result) ||
      !(error <= kQuadratureMaxRelativeError * std::abs(result))) {
    return kNaN;
  }
  return result;
}

double ExpectedPurchasesIfAlive(const BgNbdParams& params, double x, double T,
                                double t) {
  const bool series_first =
      params.alpha + T >= kSeriesMinOneMinusZ * (params.alpha + T + t);
  const double first =
      series_first ? ExpectedPurchasesIfAliveBySeries(params, x, T, t)
                   : ExpectedPurchasesIfAliveByQuadrature(params, x, T, t);
  if (std::isfinite(first)) return first;
  return series_first ? ExpectedPurchasesIfAliveByQuadrature(params, x, T, t)
                      : ExpectedPurchasesIfAliveBySeries(params, x, T, t);
}

}  // namespace omnihub::insights

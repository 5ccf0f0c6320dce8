// The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005,
// "RFM and CLV"; Fader & Hardie, "The Gamma-Gamma Model of Monetary
// Value"): each customer's mean spend per occasion, and its fit.
//
//   absl::StatusOr<GammaGammaFit> fit = FitGammaGamma(spenders);
//   double spend = ExpectedAverageSpend(fit->params, {.x = 2, .zbar = 22.35});
//
// The functions of one customer return NaN when their input is not valid.
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_GAMMA_GAMMA_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_GAMMA_GAMMA_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/insights/purchase_model/fit_options.h"

namespace omnihub::insights {

// A customer's x repeat occasions with a spend and their mean spend zbar
// (the first purchase left out).
struct SpendSummary {
  double x = 0;
  double zbar = 0;
};

// Spend per occasion is Gamma(p, nu) for a customer, nu is Gamma(q, gamma)
// across customers. All > 0.
struct GammaGammaParams {
  double p = 0;
  double q = 0;
  double gamma = 0;
};

struct GammaGammaFit {
  GammaGammaParams params;
  double log_likelihood = 0;  // the weighted sum over customers
  double customers = 0;       // the sum of the weights
  int evaluations = 0;        // of the log-likelihood, the checks' included
};

// `weight` customers (finite, >= 0) share `summary`.
struct WeightedSpend {
  SpendSummary summary;
  double weight = 1;
};

// InvalidArgument unless every parameter is finite and > 0.
absl::Status ValidateGammaGammaParams(const GammaGammaParams& params);

// InvalidArgument unless x is a whole number > 0 and zbar finite and > 0.
absl::Status ValidateSpendSummary(const SpendSummary& customer);

// The log-likelihood of one customer's mean spend.
double GammaGammaLogLikelihood(const GammaGammaParams& params,
                               const SpendSummary& customer);

// E[M | x, zbar] = p (gamma + x zbar) / (p x + q - 1). With x == 0 (then
// zbar is ignored) the population mean p gamma / (q - 1). Infinite when
// p x + q <= 1, NaN for invalid input (x whole and >= 0, zbar finite and
// > 0 when x > 0).
double ExpectedAverageSpend(const GammaGammaParams& params,
                            const SpendSummary& customer);

// The maximum-likelihood parameters, searched from p = q = gamma = 1 or
// from `start`. Fit it on customers with x > 0 only. InvalidArgument for an
// invalid summary or weight (saying which), no customer, or invalid
// options; FailedPrecondition when the search did not end at a maximum
// (saying why; see MaximizeLogLikelihood).
absl::StatusOr<GammaGammaFit> FitGammaGamma(
    absl::Span<const WeightedSpend> customers, const FitOptions& options = {});
absl::StatusOr<GammaGammaFit> FitGammaGamma(
    absl::Span<const WeightedSpend> customers, const GammaGammaParams& start,
    const FitOptions& options = {});

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_GAMMA_GAMMA_H_

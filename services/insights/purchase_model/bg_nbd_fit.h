// Fitting the BG/NBD model by maximum likelihood to many customers' purchase
// summaries, identical summaries given once with a weight.
//
//   std::vector<WeightedSummary> customers = AggregateSummaries(summaries);
//   absl::StatusOr<BgNbdFit> fit = FitBgNbd(customers);
//   if (fit.ok()) UseModel(fit->params);
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_BG_NBD_FIT_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_BG_NBD_FIT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/insights/purchase_model/bg_nbd.h"
#include "services/insights/purchase_model/fit_options.h"

namespace omnihub::insights {

// `weight` customers (finite, >= 0; need not be whole) share `summary`.
struct WeightedSummary {
  PurchaseSummary summary;
  double weight = 1;
};

struct BgNbdFit {
  BgNbdParams params;
  double log_likelihood = 0;  // the weighted sum over customers
  double customers = 0;       // the sum of the weights
  int evaluations = 0;        // of the log-likelihood, the checks' included
};

// The distinct summaries of `customers` (equal when x, t_x and T are),
// each weighted by how many customers have it, in increasing (x, t_x, T).
std::vector<WeightedSummary> AggregateSummaries(
    absl::Span<const PurchaseSummary> customers);

// The maximum-likelihood parameters, searched from r = alpha = a = b = 1 or
// from `start`. InvalidArgument for an invalid summary or weight (saying
// which), no customer, or invalid options; FailedPrecondition when no
// customer has a repeat purchase (the likelihood then rises towards r = 0
// and does not depend on a, b), or when the search did not end at a maximum
// (saying why; see MaximizeLogLikelihood). The time grows with the number
// of distinct summaries: ~40 evaluations, each ~50 ns per distinct summary;
// 4 ms on CDNOW, 0.5-1.2 s for 1,000,000 simulated customers in whole days
// (250,000-590,000 distinct summaries; see purchase_model_bench).
absl::StatusOr<BgNbdFit> FitBgNbd(absl::Span<const WeightedSummary> customers,
                                  const FitOptions& options = {});
absl::StatusOr<BgNbdFit> FitBgNbd(absl::Span<const WeightedSummary> customers,
                                  const BgNbdParams& start,
                                  const FitOptions& options = {});

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_BG_NBD_FIT_H_

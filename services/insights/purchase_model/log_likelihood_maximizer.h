// Maximum likelihood over positive parameters, shared by the purchase
// models' fits: NLopt's L-BFGS over the parameters' logarithms, then checks,
// made apart from the search, that the answer is an isolated interior
// maximum.
//
//   absl::StatusOr<LogLikelihoodMaximum> best = MaximizeLogLikelihood(
//       mean_log_likelihood, {1.0, 1.0, 1.0}, {"p", "q", "gamma"}, options);
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_LOG_LIKELIHOOD_MAXIMIZER_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_LOG_LIKELIHOOD_MAXIMIZER_H_

#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/insights/purchase_model/fit_options.h"

namespace omnihub::insights {

// A log-likelihood averaged over customers, as a function of parameters that
// are all > 0. Fills `gradient` (its derivatives by each parameter) when
// `gradient` is not empty.
using LogLikelihoodFunction = absl::FunctionRef<double(
    absl::Span<const double> params, absl::Span<double> gradient)>;

struct LogLikelihoodMaximum {
  std::vector<double> params;
  double mean_log_likelihood = 0;
  int evaluations = 0;  // of the function, the checks' included
};

// The parameters stay within [kMinParameter, kMaxParameter]; a maximum on
// that boundary is reported as an error (the data have no interior maximum).
inline constexpr double kMinParameter = 1e-10;
inline constexpr double kMaxParameter = 1e10;

// InvalidArgument for bad options or start; FailedPrecondition, saying why,
// when the search did not end at a maximum that the checks accept (a
// parameter ran to its bound, the function is flat in some direction there,
// or one Newton step would still move a parameter by more than
// options.parameter_tolerance of itself).
absl::StatusOr<LogLikelihoodMaximum> MaximizeLogLikelihood(
    LogLikelihoodFunction mean_log_likelihood, absl::Span<const double> start,
    absl::Span<const absl::string_view> names, const FitOptions& options);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_LOG_LIKELIHOOD_MAXIMIZER_H_

// How the purchase models' maximum-likelihood fits search and when they
// accept an answer (FitBgNbd, FitGammaGamma).
//
//   FitOptions options;
//   options.max_evaluations = 500;
//   absl::StatusOr<BgNbdFit> fit = FitBgNbd(customers, options);
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_FIT_OPTIONS_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_FIT_OPTIONS_H_

namespace omnihub::insights {

struct FitOptions {
  // Evaluations of the log-likelihood (with its gradient) that the search
  // and its Newton polish may use; the final check uses 4 per parameter
  // more.
  int max_evaluations = 2000;
  // The search stops when an iteration changes the log-likelihood, or every
  // parameter, by less than this fraction (NLopt's ftol_rel, and xtol_abs
  // on the logarithms of the parameters).
  double relative_tolerance = 1e-12;
  // The answer is accepted only when one Newton step from it (numerical
  // gradient, finite-difference Hessian) would change no parameter by more
  // than this fraction of itself: an estimate of its distance from the
  // maximum, made apart from the search.
  double parameter_tolerance = 1e-6;
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_FIT_OPTIONS_H_

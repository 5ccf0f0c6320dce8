// The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting
// Your Customers the Easy Way"): one customer's likelihood, probability of
// being alive and expected purchases, given the model's four parameters.
//
//   BgNbdParams params{.r = 0.243, .alpha = 4.414, .a = 0.793, .b = 2.426};
//   PurchaseSummary customer{.x = 2, .t_x = 30.43, .T = 38.86};  // weeks
//   double alive = ProbabilityAlive(params, customer);            // 0.727
//   double next = ExpectedPurchases(params, customer, 39.0);      // 1.226
//
// The functions of one customer return NaN when their input is not valid
// (see ValidateBgNbdParams and ValidatePurchaseSummary).
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_BG_NBD_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_BG_NBD_H_

#include <optional>

#include "absl/status/status.h"

namespace omnihub::insights {

// One customer's purchase summary, in the model's time unit (weeks in the
// papers), measured from the customer's first purchase: `x` repeat purchase
// occasions (the first purchase is not counted), the last one at `t_x`
// (0 when x == 0), observed until age `T`.
struct PurchaseSummary {
  double x = 0;
  double t_x = 0;
  double T = 0;
};

// Purchase rates are Gamma(r, alpha) across customers; the probability of
// dropping out after each repeat purchase is Beta(a, b). All > 0.
struct BgNbdParams {
  double r = 0;
  double alpha = 0;
  double a = 0;
  double b = 0;
};

// InvalidArgument unless every parameter is finite and > 0.
absl::Status ValidateBgNbdParams(const BgNbdParams& params);

// InvalidArgument unless x, t_x and T are finite and >= 0, x is a whole
// number, t_x <= T, and t_x == 0 when x == 0.
absl::Status ValidatePurchaseSummary(const PurchaseSummary& customer);

// The log-likelihood of one customer's summary (eq. 6 of the paper).
double BgNbdLogLikelihood(const BgNbdParams& params,
                          const PurchaseSummary& customer);

// P(alive at T | x, t_x, T): 1 when x == 0, else falling with T.
double ProbabilityAlive(const BgNbdParams& params,
                        const PurchaseSummary& customer);

// E[Y(t) | x, t_x, T]: the expected purchases in the `t` time units after T
// (t >= 0). Increases with t; infinite only in the limit t -> infinity
// (for a <= 1).
double ExpectedPurchases(const BgNbdParams& params,
                         const PurchaseSummary& customer, double t);

// E[X(t)]: the expected repeat purchases of a new customer in the `t` time
// units after the first purchase.
double ExpectedPurchasesNewCustomer(const BgNbdParams& params, double t);

// The age T at which P(alive | x, t_x, T) falls to `threshold`: below it at
// every later age, at or above it before (t_x when it is already below at
// t_x). Closed form. nullopt when x == 0 (P(alive) is then 1 at every age),
// when threshold <= 0 (never reached), or when the input is not valid.
std::optional<double> AgeWhenProbabilityAliveFallsBelow(
    const BgNbdParams& params, double x, double t_x, double threshold);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_BG_NBD_H_

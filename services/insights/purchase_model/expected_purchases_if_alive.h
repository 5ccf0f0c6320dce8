// The hard numerical part of the BG/NBD's expected purchases: the
// Gaussian-hypergeometric term, for any customer and horizon, computed two
// ways (a series, and a quadrature where the series is slow).
//
//   // A customer alive at age 38.86 weeks after 2 repeat purchases:
//   double e = ExpectedPurchasesIfAlive(params, 2, 38.86, 39.0);
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_EXPECTED_PURCHASES_IF_ALIVE_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_EXPECTED_PURCHASES_IF_ALIVE_H_

#include "services/insights/purchase_model/bg_nbd.h"

namespace omnihub::insights {

// Expected purchases in the `t` time units after age T of a customer alive
// at T after x repeat purchases: E[(1 - (1 + p t/(alpha+T))^-(r+x)) / p]
// for p ~ Beta(a, b+x), which is the paper's eq. 10 without its P(alive)
// factor,
//   (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
//                        2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))].
// Inputs are not checked (the caller validates). NaN if neither way of
// computing it reaches ~1e-9 relative accuracy.
double ExpectedPurchasesIfAlive(const BgNbdParams& params, double x, double T,
                                double t);

// The same by each way alone, for tests: NaN where that way sees it fails.
// The series is used, and reliable, for t <= 9 (alpha+T) only: nearer
// z = 1 it can stop early without knowing it.
double ExpectedPurchasesIfAliveBySeries(const BgNbdParams& params, double x,
                                        double T, double t);
double ExpectedPurchasesIfAliveByQuadrature(const BgNbdParams& params, double x,
                                            double T, double t);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_EXPECTED_PURCHASES_IF_ALIVE_H_

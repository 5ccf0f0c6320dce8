// A customer's discounted expected lifetime value over a horizon, from the
// BG/NBD (how many purchases) and an expected spend per purchase (e.g.
// ExpectedAverageSpend of the Gamma-Gamma model).
//
//   // 12 months of 52/12 weeks, 1% a month:
//   double clv = LifetimeValue(bg_nbd, customer, spend, 12, 52.0 / 12, 0.01);
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_LIFETIME_VALUE_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_LIFETIME_VALUE_H_

#include "services/insights/purchase_model/bg_nbd.h"

namespace omnihub::insights {

// sum over i = 1..periods of
//   expected_spend * (E[Y(i k)] - E[Y((i-1) k)]) / (1 + discount_rate)^i
// with k = period_length (model time units) and E[Y(t)] the customer's
// ExpectedPurchases: each period's purchases discounted at its end. NaN for
// invalid input (besides the BG/NBD's: periods >= 0, period_length finite
// and > 0, discount_rate finite and > -1, expected_spend finite).
double LifetimeValue(const BgNbdParams& params, const PurchaseSummary& customer,
                     double expected_spend, int periods, double period_length,
                     double discount_rate);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_LIFETIME_VALUE_H_

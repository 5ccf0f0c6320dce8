#include "services/insights/purchase_model/lifetime_value.h"

#include <cmath>
#include <limits>

namespace omnihub::insights {

double LifetimeValue(const BgNbdParams& params, const PurchaseSummary& customer,
                     double expected_spend, int periods, double period_length,
                     double discount_rate) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (!ValidateBgNbdParams(params).ok() ||
      !ValidatePurchaseSummary(customer).ok() || periods < 0 ||
      !(std::isfinite(period_length) && period_length > 0) ||
      !(std::isfinite(discount_rate) && discount_rate > -1) ||
      !std::isfinite(expected_spend)) {
    return kNaN;
  }
  double value = 0;
  double before = 0;  // E[Y((i-1) k)]
  double discount = 1;
  for (int i = 1; i <= periods; ++i) {
    const double after = ExpectedPurchases(params, customer, i * period_length);
    discount /= 1 + discount_rate;
    value += (after - before) * discount;
    before = after;
  }
  return expected_spend * value;
}

}  // namespace omnihub::insights

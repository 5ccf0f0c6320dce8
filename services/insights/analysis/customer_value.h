// What the purchase model predicts for one customer on one day: the
// probability that it is still active, its expected purchases over horizons,
// and per currency its expected spend per purchase and lifetime value. Pure.
//
//   FittedModel model = ...;  // BG/NBD + a Gamma-Gamma model per currency
//   CustomerPrediction prediction =
//       Predict(model, record, /*day=*/20000, {30, 90, 365}, ValueSettings{});
#ifndef OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_CUSTOMER_VALUE_H_
#define OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_CUSTOMER_VALUE_H_

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/insights/analysis/customer_record.h"
#include "services/insights/purchase_model/bg_nbd.h"
#include "services/insights/purchase_model/gamma_gamma.h"

namespace omnihub::insights {

struct FittedModel {
  BgNbdParams purchases;
  // Gamma-Gamma per currency, fitted on spend in whole currency units.
  std::map<std::string, GammaGammaParams> spend;
};

// Lifetime value: `periods` periods of `period_days` days, each discounted by
// `discount_rate`.
struct ValueSettings {
  int periods = 12;
  double period_days = 30;
  double discount_rate = 0.01;
};

struct CurrencyValue {
  std::string currency;
  double expected_average_spend = 0;  // currency units
  double lifetime_value = 0;          // currency units
};

// Lifetime values per unit of expected spend, by (x, t_x, T): customers of
// a base share them a lot, and each costs a dozen hypergeometric functions.
// One cache serves one model and one ValueSettings (one query).
class LifetimeValueCache {
 public:
  double PerUnitOfSpend(const BgNbdParams& model,
                        const PurchaseSummary& summary,
                        const ValueSettings& settings);

 private:
  absl::flat_hash_map<std::tuple<double, double, double>, double> values_;
};

struct CustomerPrediction {
  double probability_alive = 1;
  // One per horizon asked for, in its order.
  std::vector<double> expected_purchases;
  // Currencies the customer bought in that have a spend model, ascending.
  std::vector<CurrencyValue> value;
};

// For a customer with a purchase on or before `day` (purchases after it are
// not counted; ages are measured to it).
CustomerPrediction Predict(const FittedModel& model,
                           const CustomerRecord& record, int64_t day,
                           const std::vector<int>& horizon_days,
                           const ValueSettings& settings,
                           LifetimeValueCache* cache = nullptr);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_CUSTOMER_VALUE_H_

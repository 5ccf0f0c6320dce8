#include "services/insights/analysis/customer_value.h"

#include <cmath>

#include "services/insights/lifecycle/lifecycle.h"
#include "services/insights/purchase_model/lifetime_value.h"

namespace omnihub::insights {

double LifetimeValueCache::PerUnitOfSpend(const BgNbdParams& model,
                                          const PurchaseSummary& summary,
                                          const ValueSettings& settings) {
  const auto key = std::make_tuple(summary.x, summary.t_x, summary.T);
  auto [it, added] = values_.try_emplace(key, 0.0);
  if (added) {
    it->second = LifetimeValue(model, summary, 1.0, settings.periods,
                               settings.period_days / kDaysPerModelUnit,
                               settings.discount_rate);
  }
  return it->second;
}

CustomerPrediction Predict(const FittedModel& model,
                           const CustomerRecord& record, int64_t day,
                           const std::vector<int>& horizon_days,
                           const ValueSettings& settings,
                           LifetimeValueCache* cache) {
  CustomerPrediction prediction;
  const PurchaseSummary summary = record.SummaryOn(day);
  prediction.probability_alive = ProbabilityAlive(model.purchases, summary);
  for (int horizon : horizon_days) {
    prediction.expected_purchases.push_back(ExpectedPurchases(
        model.purchases, summary, horizon / kDaysPerModelUnit));
  }
  const double occasions = static_cast<double>(record.OccasionsOn(day));
  for (const CurrencySpend& spend : record.SpendOn(day)) {
    auto fitted = model.spend.find(spend.currency);
    if (fitted == model.spend.end()) continue;
    SpendSummary spend_summary;
    if (spend.repeat_occasions > 0 && spend.repeat_micros > 0) {
      spend_summary.x = static_cast<double>(spend.repeat_occasions);
      spend_summary.zbar =
          static_cast<double>(spend.repeat_micros) / 1e6 / spend_summary.x;
    }
    CurrencyValue value;
    value.currency = spend.currency;
    value.expected_average_spend =
        ExpectedAverageSpend(fitted->second, spend_summary);
    // A spend model with q <= 1 has no finite mean for a customer with no
    // repeat purchase: no value rather than an infinite one.
    if (!std::isfinite(value.expected_average_spend)) continue;
    // Future occasions are expected in this currency as often as the
    // customer's past ones were.
    const double share = static_cast<double>(spend.occasions) / occasions;
    // The value is linear in the spend: its factor is shared.
    const double per_unit =
        cache != nullptr
            ? cache->PerUnitOfSpend(model.purchases, summary, settings)
            : LifetimeValue(model.purchases, summary, 1.0, settings.periods,
                            settings.period_days / kDaysPerModelUnit,
                            settings.discount_rate);
    value.lifetime_value = share * value.expected_average_spend * per_unit;
    prediction.value.push_back(std::move(value));
  }
  return prediction;
}

}  // namespace omnihub::insights

#include "services/insights/analysis/model_fit.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/insights/lifecycle/lifecycle.h"

namespace omnihub::insights {
namespace {

constexpr int64_t kLastFrequencyBucket = 7;

BacktestFigures Backtest(const BgNbdParams& params, int holdout_days,
                         const std::map<std::tuple<int64_t, int64_t, int64_t>,
                                        ModelFitData::Group>& groups);

}  // namespace

ModelFitData::ModelFitData(int64_t as_of_day, int holdout_days)
    : as_of_day_(as_of_day), holdout_days_(holdout_days) {}

void ModelFitData::Add(const CustomerRecord& record) {
  const int64_t last_day = as_of_day_ - 1;
  const int64_t occasions = record.OccasionsOn(last_day);
  if (occasions == 0) return;
  const std::vector<int64_t>& days = record.days();
  ++customers_;
  const int64_t x = occasions - 1;
  repeat_customers_ += x > 0;
  Group& group =
      groups_[{x, days[occasions - 1] - days[0], last_day - days[0]}];
  ++group.customers;
  if (holdout_days_ > 0) {
    const double actual = static_cast<double>(
        record.OccasionsBetween(as_of_day_, as_of_day_ + holdout_days_ - 1));
    group.actual += actual;
    group.actual_sq += actual * actual;
  }
  for (const CurrencySpend& spend : record.SpendOn(last_day)) {
    if (spend.repeat_occasions == 0 || spend.repeat_micros <= 0) continue;
    const double repeats = static_cast<double>(spend.repeat_occasions);
    spend_[spend.currency].push_back(
        {.summary = {.x = repeats,
                     .zbar = static_cast<double>(spend.repeat_micros) / 1e6 /
                             repeats},
         .weight = 1});
  }
}

absl::StatusOr<ModelFitReport> FitModel(const ModelFitData& data,
                                        const ModelFitOptions& options) {
  if (data.repeat_customers_ < options.min_repeat_customers) {
    return absl::FailedPreconditionError(absl::StrCat(
        "too few repeat buyers to fit the purchase model: ",
        data.repeat_customers_, " of ", data.customers_,
        " customers with a purchase before the as_of day bought on a second "
        "day; at least ",
        options.min_repeat_customers, " are needed"));
  }
  std::vector<WeightedSummary> summaries;
  summaries.reserve(data.groups_.size());
  for (const auto& [key, group] : data.groups_) {
    const auto& [x, t_x, age] = key;
    summaries.push_back(
        {.summary = {.x = static_cast<double>(x),
                     .t_x = static_cast<double>(t_x) / kDaysPerModelUnit,
                     .T = static_cast<double>(age) / kDaysPerModelUnit},
         .weight = static_cast<double>(group.customers)});
  }
  absl::StatusOr<BgNbdFit> purchases = FitBgNbd(summaries, options.optimiser);
  if (!purchases.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the BG/NBD purchase model could not be fitted: ",
                     purchases.status().message()));
  }
  ModelFitReport report;
  report.purchase_fit = *purchases;
  report.model.purchases = purchases->params;
  report.customers = data.customers_;
  report.repeat_customers = data.repeat_customers_;
  for (const auto& [currency, spends] : data.spend_) {
    if (static_cast<int64_t>(spends.size()) < options.min_spend_customers) {
      continue;
    }
    absl::StatusOr<GammaGammaFit> spend =
        FitGammaGamma(spends, options.optimiser);
    if (!spend.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the Gamma-Gamma spend model of ", currency,
                       " could not be fitted: ", spend.status().message()));
    }
    report.spend_fits[currency] = *spend;
    report.model.spend[currency] = spend->params;
  }
  if (data.holdout_days_ > 0) {
    report.backtest =
        Backtest(report.model.purchases, data.holdout_days_, data.groups_);
  }
  return report;
}

namespace {

BacktestFigures Backtest(const BgNbdParams& params, int holdout_days,
                         const std::map<std::tuple<int64_t, int64_t, int64_t>,
                                        ModelFitData::Group>& groups) {
  BacktestFigures figures;
  double sum_p = 0, sum_a = 0, sum_pp = 0, sum_aa = 0, sum_pa = 0;
  double squared_error = 0;
  std::vector<BacktestFigures::Bucket> buckets(kLastFrequencyBucket + 1);
  const double t = holdout_days / kDaysPerModelUnit;
  for (const auto& [key, group] : groups) {
    const auto& [x, t_x, age] = key;
    const double predicted =
        ExpectedPurchases(params,
                          {.x = static_cast<double>(x),
                           .t_x = static_cast<double>(t_x) / kDaysPerModelUnit,
                           .T = static_cast<double>(age) / kDaysPerModelUnit},
                          t);
    const double n = static_cast<double>(group.customers);
    figures.customers += group.customers;
    sum_p += n * predicted;
    sum_a += group.actual;
    sum_pp += n * predicted * predicted;
    sum_aa += group.actual_sq;
    sum_pa += predicted * group.actual;
    squared_error +=
        std::max(0.0, group.actual_sq - 2 * predicted * group.actual +
                          n * predicted * predicted);
    BacktestFigures::Bucket& bucket =
        buckets[std::min<int64_t>(x, kLastFrequencyBucket)];
    bucket.customers += group.customers;
    bucket.mean_actual += group.actual;
    bucket.mean_predicted += n * predicted;
  }
  figures.actual = sum_a;
  figures.predicted = sum_p;
  const double n = static_cast<double>(figures.customers);
  if (n > 0) {
    const double covariance = sum_pa - sum_p * sum_a / n;
    const double variance_p = sum_pp - sum_p * sum_p / n;
    const double variance_a = sum_aa - sum_a * sum_a / n;
    if (variance_p > 0 && variance_a > 0) {
      figures.correlation = covariance / std::sqrt(variance_p * variance_a);
    }
    figures.root_mean_squared_error = std::sqrt(squared_error / n);
  }
  for (size_t x = 0; x < buckets.size(); ++x) {
    BacktestFigures::Bucket& bucket = buckets[x];
    bucket.x = static_cast<int64_t>(x);
    if (bucket.customers > 0) {
      bucket.mean_actual /= static_cast<double>(bucket.customers);
      bucket.mean_predicted /= static_cast<double>(bucket.customers);
    }
    figures.by_frequency.push_back(bucket);
  }
  return figures;
}

}  // namespace
}  // namespace omnihub::insights

// Fitting the purchase model to a customer base, and backtesting it the way
// the papers validate it: customers are added one at a time (as a scan reads
// them), summarised as of a calibration day, and the BG/NBD and per-currency
// Gamma-Gamma models are fitted by maximum likelihood. Pure: no Redis.
//
//   ModelFitData data(/*as_of_day=*/DayOf(as_of), /*holdout_days=*/273);
//   for (const CustomerRecord& record : customers) data.Add(record);
//   absl::StatusOr<ModelFitReport> report = FitModel(data, {});
#ifndef OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_MODEL_FIT_H_
#define OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_MODEL_FIT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "services/insights/analysis/customer_record.h"
#include "services/insights/analysis/customer_value.h"
#include "services/insights/purchase_model/bg_nbd.h"
#include "services/insights/purchase_model/bg_nbd_fit.h"
#include "services/insights/purchase_model/fit_options.h"
#include "services/insights/purchase_model/gamma_gamma.h"

namespace omnihub::insights {

struct ModelFitOptions {
  // Fewer customers with a repeat purchase: FAILED_PRECONDITION.
  int64_t min_repeat_customers = 20;
  // A currency with fewer gets no spend model (its values stay unset).
  int64_t min_spend_customers = 10;
  FitOptions optimiser;
};

struct BacktestFigures {
  int64_t customers = 0;
  double actual = 0;
  double predicted = 0;
  double correlation = 0;
  double root_mean_squared_error = 0;
  struct Bucket {
    int64_t x = 0;  // 7: seven or more
    int64_t customers = 0;
    double mean_actual = 0;
    double mean_predicted = 0;
  };
  std::vector<Bucket> by_frequency;
};

struct ModelFitReport {
  FittedModel model;
  BgNbdFit purchase_fit;
  std::map<std::string, GammaGammaFit> spend_fits;
  int64_t customers = 0;
  int64_t repeat_customers = 0;
  std::optional<BacktestFigures> backtest;
};

// What the fit keeps of the customers: their summaries counted by (x, t_x,
// T) in whole days (customers share them a lot), their repeat spend per
// currency, and what they bought in the holdout window.
class ModelFitData {
 public:
  // Customers who share (x, t_x, T), and what they bought in the holdout.
  struct Group {
    int64_t customers = 0;
    double actual = 0;     // holdout purchases, summed
    double actual_sq = 0;  // and their squares
  };

  // Purchases on days before `as_of_day` count; ages are measured to the day
  // before it. The holdout window is the `holdout_days` days from `as_of_day`
  // on (0: none).
  ModelFitData(int64_t as_of_day, int holdout_days);

  void Add(const CustomerRecord& record);

  int64_t as_of_day() const { return as_of_day_; }
  int holdout_days() const { return holdout_days_; }
  // Customers with a purchase before as_of_day, and those with a repeat
  // purchase among them.
  int64_t customers() const { return customers_; }
  int64_t repeat_customers() const { return repeat_customers_; }

 private:
  friend absl::StatusOr<ModelFitReport> FitModel(
      const ModelFitData& data, const ModelFitOptions& options);
  int64_t as_of_day_;
  int holdout_days_;
  int64_t customers_ = 0;
  int64_t repeat_customers_ = 0;
  // (x, t_x days, T days) -> customers.
  std::map<std::tuple<int64_t, int64_t, int64_t>, Group> groups_;
  // Currency -> (repeat occasions, mean repeat spend in units) per customer.
  std::map<std::string, std::vector<WeightedSpend>> spend_;
};

// FAILED_PRECONDITION when there are too few repeat buyers or the optimiser
// did not converge; the message says which and how many.
absl::StatusOr<ModelFitReport> FitModel(const ModelFitData& data,
                                        const ModelFitOptions& options);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_MODEL_FIT_H_

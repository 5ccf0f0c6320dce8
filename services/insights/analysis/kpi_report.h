// The KPIs of a period and the cohort retention table, accumulated customer
// by customer from their lifecycle histories. Pure.
//
//   KpiReport report(/*first_day=*/20000, /*last_day=*/20364);
//   for (...) report.Add(channel, first_seen_day, history, value_at_end);
//   report.all().ChurnRate();
//
// Definitions (days are whole UTC days; "active" is NEW_CUSTOMER, ACTIVE or
// AT_RISK):
//   active at start / end   active on the day before the period / its last day
//   churned                 active at start, and lapsed during the period
//   retained                active at start and at end
//   prospects               prospects on the day before the period, and
//                           customers first seen during it who were prospects
//                           for at least a day
//   converted               of those, who bought for the first time during it
//   new, reactivated, lapsed  transitions during the period: first purchases,
//                           lapsed customers who bought again, into LAPSED
//   average lifetime value  per currency, over the customers active at the
//                           end that have a value in it
#ifndef OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_KPI_REPORT_H_
#define OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_KPI_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "services/insights/analysis/customer_value.h"
#include "services/insights/lifecycle/lifecycle.h"

namespace omnihub::insights {

struct KpiFigures {
  int64_t active_at_start = 0;
  int64_t active_at_end = 0;
  int64_t churned = 0;
  int64_t retained = 0;
  int64_t prospects = 0;
  int64_t converted = 0;
  int64_t new_customers = 0;
  int64_t reactivated = 0;
  int64_t lapsed = 0;
  struct ValueSum {
    double total = 0;
    int64_t customers = 0;
  };
  std::map<std::string, ValueSum> lifetime_value;

  // 0 when there is nobody to divide by.
  double ChurnRate() const;
  double RetentionRate() const;
  double ConversionRate() const;
};

class KpiReport {
 public:
  KpiReport(int64_t first_day, int64_t last_day);

  // `history`: the customer's whole lifecycle up to at least `last_day`;
  // `value_at_end`: its predicted value from its purchases up to the last
  // day (empty without a model).
  void Add(int channel, int64_t first_seen_day,
           const std::vector<Transition>& history,
           const std::vector<CurrencyValue>& value_at_end);

  const KpiFigures& all() const { return all_; }
  const std::map<int, KpiFigures>& by_channel() const { return by_channel_; }

 private:
  int64_t first_day_;
  int64_t last_day_;
  KpiFigures all_;
  std::map<int, KpiFigures> by_channel_;
};

// Customers by month of first purchase, and how many of each cohort were
// active at the end of each month from that one on (the current month: on
// `today`).
class CohortReport {
 public:
  CohortReport(absl::CivilMonth first, absl::CivilMonth last, int64_t today);

  void Add(const std::vector<Transition>& history, int64_t first_seen_day);

  struct Row {
    absl::CivilMonth month;
    int64_t customers = 0;
    std::vector<int64_t> active;  // [k]: at the end of month + k
  };
  const std::vector<Row>& rows() const { return rows_; }

 private:
  absl::CivilMonth first_;
  absl::CivilMonth last_;
  int64_t today_;
  std::vector<Row> rows_;
};

// The last day of a month, and the month of a day.
int64_t LastDayOf(absl::CivilMonth month);
absl::CivilMonth MonthOf(int64_t day);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_KPI_REPORT_H_

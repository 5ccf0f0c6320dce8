#include "services/insights/analysis/kpi_report.h"

#include <algorithm>

namespace omnihub::insights {
namespace {

double Ratio(int64_t part, int64_t whole) {
  return whole == 0 ? 0.0
                    : static_cast<double>(part) / static_cast<double>(whole);
}

void AddCustomer(KpiFigures& figures, int64_t first_day, int64_t last_day,
                 int64_t first_seen_day, const std::vector<Transition>& history,
                 const std::vector<CurrencyValue>& value_at_end) {
  const std::optional<Stage> before =
      StageFromHistory(history, first_seen_day, first_day - 1);
  const std::optional<Stage> at_end =
      StageFromHistory(history, first_seen_day, last_day);
  const bool active_at_start = before.has_value() && IsActive(*before);
  const bool active_at_end = at_end.has_value() && IsActive(*at_end);
  figures.active_at_start += active_at_start;
  figures.active_at_end += active_at_end;
  figures.retained += active_at_start && active_at_end;

  std::optional<int64_t> first_purchase;
  bool lapsed_in_period = false;
  for (const Transition& transition : history) {
    if (transition.from == Stage::kProspect && !first_purchase.has_value()) {
      first_purchase = transition.day;
    }
    if (transition.day < first_day || transition.day > last_day) continue;
    if (transition.from == Stage::kProspect) ++figures.new_customers;
    if (transition.reason == Reason::kReactivated) ++figures.reactivated;
    if (transition.to == Stage::kLapsed) {
      ++figures.lapsed;
      lapsed_in_period = true;
    }
  }
  figures.churned += active_at_start && lapsed_in_period;

  const bool prospect_before =
      before.has_value() && *before == Stage::kProspect;
  const bool became_prospect =
      first_seen_day >= first_day && first_seen_day <= last_day &&
      (!first_purchase.has_value() || *first_purchase > first_seen_day);
  if (prospect_before || became_prospect) {
    ++figures.prospects;
    if (first_purchase.has_value() && *first_purchase >= first_day &&
        *first_purchase <= last_day) {
      ++figures.converted;
    }
  }

  if (active_at_end) {
    for (const CurrencyValue& value : value_at_end) {
      KpiFigures::ValueSum& sum = figures.lifetime_value[value.currency];
      sum.total += value.lifetime_value;
      ++sum.customers;
    }
  }
}

}  // namespace

double KpiFigures::ChurnRate() const { return Ratio(churned, active_at_start); }
double KpiFigures::RetentionRate() const {
  return Ratio(retained, active_at_start);
}
double KpiFigures::ConversionRate() const {
  return Ratio(converted, prospects);
}

KpiReport::KpiReport(int64_t first_day, int64_t last_day)
    : first_day_(first_day), last_day_(last_day) {}

void KpiReport::Add(int channel, int64_t first_seen_day,
                    const std::vector<Transition>& history,
                    const std::vector<CurrencyValue>& value_at_end) {
  AddCustomer(all_, first_day_, last_day_, first_seen_day, history,
              value_at_end);
  AddCustomer(by_channel_[channel], first_day_, last_day_, first_seen_day,
              history, value_at_end);
}

int64_t LastDayOf(absl::CivilMonth month) {
  return DayOf(absl::CivilDay(month + 1) - 1);
}

absl::CivilMonth MonthOf(int64_t day) {
  return absl::CivilMonth(CivilDayOf(day));
}

CohortReport::CohortReport(absl::CivilMonth first, absl::CivilMonth last,
                           int64_t today)
    : first_(first), last_(last), today_(today) {
  for (absl::CivilMonth month = first; month <= last; ++month) {
    Row row;
    row.month = month;
    const int64_t months = MonthOf(today) - month + 1;
    row.active.assign(std::max<int64_t>(months, 0), 0);
    rows_.push_back(std::move(row));
  }
}

void CohortReport::Add(const std::vector<Transition>& history,
                       int64_t first_seen_day) {
  auto first_purchase = std::find_if(
      history.begin(), history.end(),
      [](const Transition& t) { return t.from == Stage::kProspect; });
  if (first_purchase == history.end()) return;
  const absl::CivilMonth month = MonthOf(first_purchase->day);
  if (month < first_ || month > last_) return;
  Row& row = rows_[month - first_];
  ++row.customers;
  for (size_t k = 0; k < row.active.size(); ++k) {
    const int64_t day = std::min(LastDayOf(month + k), today_);
    const std::optional<Stage> stage =
        StageFromHistory(history, first_seen_day, day);
    row.active[k] += stage.has_value() && IsActive(*stage);
  }
}

}  // namespace omnihub::insights

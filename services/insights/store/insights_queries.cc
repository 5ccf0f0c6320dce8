#include "services/insights/store/insights_queries.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/redis/blocking_calls.h"
#include "services/insights/analysis/kpi_report.h"
#include "services/timeline/stored_event.h"

namespace omnihub::insights {

using timeline::Done;

namespace {

constexpr int kStandardHorizons[] = {30, 90, 365};

// 00:00 UTC of a day.
google::protobuf::Timestamp DayTimestamp(int64_t day) {
  return timeline::FromMicros(absl::ToUnixMicros(StartOfDay(day)));
}

v1::Money MoneyOf(const std::string& currency, double units) {
  v1::Money money;
  money.set_currency(currency);
  money.set_amount_micros(std::llround(units * 1e6));
  return money;
}

v1::LifecycleTransition ToProto(const Transition& transition) {
  v1::LifecycleTransition out;
  *out.mutable_at() = DayTimestamp(transition.day);
  out.set_from(static_cast<v1::LifecycleStage>(transition.from));
  out.set_to(static_cast<v1::LifecycleStage>(transition.to));
  out.set_reason(
      static_cast<v1::LifecycleTransition::Reason>(transition.reason));
  return out;
}

// Reads the customer's record, following merges from `asked`; `done` gets
// the live id and the record. Asynchronous: no thread waits for Redis.
void ReadRecord(const InsightsEngine& engine, std::string asked,
                std::string customer_id, int hops,
                Done<std::pair<std::string, CustomerRecord>> done) {
  engine.context().redis->Execute(
      ReadCustomerCommand(engine.context().keys.ForCustomer(customer_id).view),
      [&engine, asked = std::move(asked), customer_id, hops,
       done = std::move(done)](absl::StatusOr<redis::Reply> reply) mutable {
        absl::StatusOr<CustomerRead> read = ParseCustomerRead(std::move(reply));
        if (!read.ok()) return std::move(done)(read.status());
        if (read->record.has_value()) {
          return std::move(done)(
              std::make_pair(customer_id, *std::move(read->record)));
        }
        if (read->missing || *read->moved_to == "-") {
          return std::move(done)(timeline::CustomerNotFound(asked));
        }
        if (hops >= timeline::kMaxAliasHops) {
          return std::move(done)(absl::InternalError(
              absl::StrCat("customer ", asked, " has too many aliases")));
        }
        ReadRecord(engine, std::move(asked), *read->moved_to, hops + 1,
                   std::move(done));
      });
}

void FillPurchases(const CustomerRecord& record, int64_t day,
                   v1::PurchaseHistory* purchases) {
  const int64_t occasions = record.OccasionsOn(day);
  purchases->set_occasions(occasions);
  purchases->set_repeat_occasions(occasions - 1);
  *purchases->mutable_first_purchase() = DayTimestamp(record.days().front());
  *purchases->mutable_last_purchase() =
      DayTimestamp(record.days()[occasions - 1]);
  const PurchaseSummary summary = record.SummaryOn(day);
  purchases->set_recency_weeks(summary.t_x);
  purchases->set_age_weeks(summary.T);
  for (const CurrencySpend& spend : record.SpendOn(day)) {
    v1::Money* total = purchases->add_spend();
    total->set_currency(spend.currency);
    total->set_amount_micros(spend.total_micros);
    if (spend.repeat_occasions > 0) {
      v1::Money* average = purchases->add_average_repeat_spend();
      average->set_currency(spend.currency);
      average->set_amount_micros(
          std::llround(static_cast<double>(spend.repeat_micros) /
                       static_cast<double>(spend.repeat_occasions)));
    }
  }
}

void FillRfm(const InsightsEngine& engine, const CustomerRecord& record,
             int64_t day, v1::CustomerInsights* insights) {
  std::optional<RfmScore> score = engine.RfmOf(record, day);
  if (!score.has_value()) {
    insights->set_rfm_unavailable(
        "the RFM boundaries have not been computed yet (--rfm_interval, "
        "or ComputeRfm)");
    return;
  }
  v1::RfmScores* rfm = insights->mutable_rfm();
  rfm->set_recency(score->recency);
  rfm->set_frequency(score->frequency);
  rfm->set_monetary(score->monetary);
  rfm->set_segment(static_cast<v1::RfmSegment>(score->segment));
  rfm->set_main_currency(score->main_currency);
  rfm->set_recency_days(score->recency_days);
  rfm->set_occasions(score->occasions);
  rfm->mutable_spend()->set_currency(score->main_currency);
  rfm->mutable_spend()->set_amount_micros(score->spend_micros);
}

}  // namespace

void ReadCustomerInsights(InsightsEngine& engine,
                          const std::string& customer_id,
                          CustomerInsightsQuery query,
                          Done<v1::CustomerInsights> done) {
  ReadRecord(
      engine, customer_id, customer_id, 0,
      [&engine, customer_id, query = std::move(query), done = std::move(done)](
          absl::StatusOr<std::pair<std::string, CustomerRecord>>
              found) mutable {
        if (!found.ok()) return std::move(done)(found.status());
        // The model's figures take tens of microseconds: not on a Redis
        // client thread.
        engine.Schedule([&engine, customer_id, query = std::move(query),
                         done = std::move(done),
                         found = *std::move(found)]() mutable {
          std::move(done)(BuildCustomerInsights(
              engine, customer_id, found.first, found.second, query));
        });
      });
}

absl::StatusOr<v1::CustomerInsights> BuildCustomerInsights(
    const InsightsEngine& engine, const std::string& customer_id,
    const std::string& live_id, const CustomerRecord& record,
    const CustomerInsightsQuery& query) {
  const std::shared_ptr<const CurrentModel> model = engine.model().Get();
  const int64_t today = DayOf(engine.Now());
  const int64_t day = query.as_of.has_value() ? DayOf(*query.as_of) - 1 : today;

  v1::CustomerInsights insights;
  insights.set_customer_id(live_id);
  if (live_id != customer_id) insights.set_merged_from(customer_id);
  *insights.mutable_as_of() = DayTimestamp(day);

  // The recorded history; one not recorded yet (the customer's first
  // refresh is under way) is computed as it will be.
  std::vector<Transition> history = record.stored_history();
  if (history.empty() && !record.days().empty()) {
    history = LifecycleHistory(record.days(), record.first_seen_day(), today,
                               model->rules);
  }
  const std::optional<Stage> stage =
      StageFromHistory(history, record.first_seen_day(), day);
  if (!stage.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("as_of: customer ", live_id, " was first seen on day ",
                     record.first_seen_day(), ", after the day asked for"));
  }
  insights.set_stage(static_cast<v1::LifecycleStage>(*stage));
  int64_t since = record.first_seen_day();
  for (const Transition& transition : history) {
    if (transition.day > day) break;
    since = transition.day;
    *insights.add_history() = ToProto(transition);
  }
  *insights.mutable_stage_since() = DayTimestamp(since);

  v1::LifetimeValueSettings* settings =
      insights.mutable_lifetime_value_settings();
  settings->set_periods(query.value.periods);
  settings->set_period_days(query.value.period_days);
  settings->set_discount_rate(query.value.discount_rate);
  if (record.OccasionsOn(day) == 0) {
    insights.set_model_unavailable("a prospect: no purchase yet");
    insights.set_rfm_unavailable("a prospect: no purchase yet");
    return insights;
  }
  FillPurchases(record, day, insights.mutable_purchases());
  FillRfm(engine, record, day, &insights);
  if (!model->fitted.has_value()) {
    insights.set_model_unavailable(
        "no purchase model has been fitted yet (FitPurchaseModel, or "
        "--model_refit_interval)");
    return insights;
  }
  *insights.mutable_model_fitted_at() = model->proto->fitted_at();
  std::vector<int> horizons(std::begin(kStandardHorizons),
                            std::end(kStandardHorizons));
  horizons.insert(horizons.end(), query.horizon_days.begin(),
                  query.horizon_days.end());
  const CustomerPrediction prediction =
      Predict(*model->fitted, record, day, horizons, query.value);
  insights.set_probability_alive(prediction.probability_alive);
  for (size_t i = 0; i < horizons.size(); ++i) {
    v1::ExpectedPurchases* expected = insights.add_expected_purchases();
    expected->set_days(horizons[i]);
    expected->set_purchases(prediction.expected_purchases[i]);
  }
  std::vector<std::string> unmodelled;
  for (const v1::Money& spend : insights.purchases().spend()) {
    if (!model->fitted->spend.contains(spend.currency())) {
      unmodelled.push_back(spend.currency());
    }
  }
  for (const CurrencyValue& value : prediction.value) {
    if (!query.currency.empty() && value.currency != query.currency) continue;
    v1::CustomerValue* out = insights.add_value();
    out->set_currency(value.currency);
    *out->mutable_expected_average_spend() =
        MoneyOf(value.currency, value.expected_average_spend);
    *out->mutable_lifetime_value() =
        MoneyOf(value.currency, value.lifetime_value);
  }
  if (!unmodelled.empty()) {
    insights.set_model_unavailable(
        absl::StrCat("no spend model for ", absl::StrJoin(unmodelled, ", "),
                     " (too few repeat buyers in it at the last fit)"));
  }
  return insights;
}

namespace {

void FillKpis(const KpiFigures& figures, const std::string& currency,
              v1::Kpis* kpis) {
  kpis->set_customers_active_at_start(figures.active_at_start);
  kpis->set_customers_active_at_end(figures.active_at_end);
  kpis->set_churned_customers(figures.churned);
  kpis->set_retained_customers(figures.retained);
  kpis->set_churn_rate(figures.ChurnRate());
  kpis->set_retention_rate(figures.RetentionRate());
  kpis->set_prospects(figures.prospects);
  kpis->set_converted_prospects(figures.converted);
  kpis->set_conversion_rate(figures.ConversionRate());
  kpis->set_new_customers(figures.new_customers);
  kpis->set_reactivated_customers(figures.reactivated);
  kpis->set_lapsed_customers(figures.lapsed);
  for (const auto& [value_currency, sum] : figures.lifetime_value) {
    if (!currency.empty() && value_currency != currency) continue;
    if (sum.customers == 0) continue;
    *kpis->add_average_lifetime_value() =
        MoneyOf(value_currency, sum.total / static_cast<double>(sum.customers));
  }
}

}  // namespace

absl::StatusOr<v1::GetKpisResponse> ComputeKpis(const InsightsEngine& engine,
                                                int64_t first_day,
                                                int64_t last_day, int channel,
                                                const std::string& currency) {
  const std::shared_ptr<const CurrentModel> model = engine.model().Get();
  const int64_t today = DayOf(engine.Now());
  KpiReport report(first_day, last_day);
  LifetimeValueCache values;
  absl::StatusOr<ScanResult> scanned = ScanCustomers(
      engine.context(), engine.keys(), engine.options().scan,
      [&](const std::string&, const CustomerRecord& record) {
        if (channel != 0 && record.acquisition_channel() != channel) {
          return absl::OkStatus();
        }
        const std::vector<Transition> history = LifecycleHistory(
            record.days(), record.first_seen_day(), today, model->rules);
        std::vector<CurrencyValue> value;
        const std::optional<Stage> at_end =
            StageFromHistory(history, record.first_seen_day(), last_day);
        if (model->fitted.has_value() && at_end.has_value() &&
            IsActive(*at_end)) {
          value = Predict(*model->fitted, record, last_day, {},
                          engine.options().value, &values)
                      .value;
        }
        report.Add(record.acquisition_channel(), record.first_seen_day(),
                   history, value);
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned.status();
  v1::GetKpisResponse response;
  response.set_start_date(absl::FormatCivilTime(CivilDayOf(first_day)));
  response.set_end_date(absl::FormatCivilTime(CivilDayOf(last_day)));
  FillKpis(report.all(), currency, response.mutable_kpis());
  if (channel == 0) {
    for (const auto& [by, figures] : report.by_channel()) {
      v1::ChannelKpis* entry = response.add_by_acquisition_channel();
      entry->set_channel(static_cast<v1::Channel>(by));
      FillKpis(figures, currency, entry->mutable_kpis());
    }
  }
  response.set_customers_scanned(scanned->customers);
  if (model->proto.has_value()) {
    *response.mutable_model_fitted_at() = model->proto->fitted_at();
  }
  return response;
}

absl::StatusOr<v1::GetCohortsResponse> ComputeCohorts(
    const InsightsEngine& engine, absl::CivilMonth first, absl::CivilMonth last,
    int channel) {
  const std::shared_ptr<const CurrentModel> model = engine.model().Get();
  const int64_t today = DayOf(engine.Now());
  CohortReport report(first, last, today);
  absl::StatusOr<ScanResult> scanned = ScanCustomers(
      engine.context(), engine.keys(), engine.options().scan,
      [&](const std::string&, const CustomerRecord& record) {
        if (record.days().empty() ||
            (channel != 0 && record.acquisition_channel() != channel)) {
          return absl::OkStatus();
        }
        report.Add(LifecycleHistory(record.days(), record.first_seen_day(),
                                    today, model->rules),
                   record.first_seen_day());
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned.status();
  v1::GetCohortsResponse response;
  for (const CohortReport::Row& row : report.rows()) {
    v1::Cohort* cohort = response.add_cohorts();
    cohort->set_month(
        absl::StrFormat("%04d-%02d", row.month.year(), row.month.month()));
    cohort->set_customers(row.customers);
    for (int64_t active : row.active) {
      cohort->add_active_share(row.customers == 0
                                   ? 0.0
                                   : static_cast<double>(active) /
                                         static_cast<double>(row.customers));
    }
  }
  response.set_customers_scanned(scanned->customers);
  return response;
}

}  // namespace omnihub::insights

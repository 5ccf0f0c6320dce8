#include "services/insights/insights_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/auth/caller.h"
#include "common/grpc_util/status_conversion.h"
#include "common/logging/log.h"
#include "common/money/money.h"
#include "common/redis/call_scope.h"
#include "services/insights/analysis/kpi_report.h"
#include "services/insights/store/insights_queries.h"
#include "services/insights/store/top_customers.h"
#include "services/timeline/grpc_call_scope.h"

namespace omnihub::insights {
namespace {

using grpc_util::ToGrpcStatus;

// Ranking entries read at once when listing the top customers within a
// segment (at least a page).
constexpr int kTopMembersBatch = 200;

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Runs `work` on the engine's threads and answers with what it returns.
template <typename Response>
grpc::ServerUnaryReactor* Answer(
    grpc::CallbackServerContext* context, InsightsEngine* engine,
    Response* response,
    absl::AnyInvocable<absl::StatusOr<Response>() &&> work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine->Schedule([reactor, response, work = std::move(work)]() mutable {
    absl::StatusOr<Response> answer = std::move(work)();
    if (!answer.ok()) return reactor->Finish(ToGrpcStatus(answer.status()));
    *response = *std::move(answer);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// A timestamp from outside: valid, and not after now. Unset: nullopt.
absl::StatusOr<std::optional<absl::Time>> PastTime(
    bool set, const google::protobuf::Timestamp& timestamp,
    absl::string_view field, absl::Time now) {
  if (!set) return std::nullopt;
  if (timestamp.nanos() < 0 || timestamp.nanos() > 999999999 ||
      timestamp.seconds() < 0 || timestamp.seconds() > 253402300799) {
    return Invalid(field, "is not a valid time");
  }
  const absl::Time time = absl::FromUnixSeconds(timestamp.seconds()) +
                          absl::Nanoseconds(timestamp.nanos());
  if (time > now) {
    return Invalid(
        field, absl::StrCat("is in the future (", absl::FormatTime(time), ")"));
  }
  return time;
}

// Empty, or a currency the model has a spend model for.
absl::Status CheckCurrency(const std::string& currency,
                           const CurrentModel& model, absl::string_view field) {
  if (currency.empty()) return absl::OkStatus();
  if (!money::IsCurrencyCode(currency)) {
    return Invalid(field, absl::StrCat("\"", currency,
                                       "\" is not an ISO 4217 code (three "
                                       "upper-case letters)"));
  }
  if (!model.fitted.has_value()) {
    return Invalid(field,
                   "no purchase model is fitted yet, so no currency "
                   "has a spend model");
  }
  if (!model.fitted->spend.contains(currency)) {
    std::vector<std::string> known;
    for (const auto& [code, params] : model.fitted->spend) {
      known.push_back(code);
    }
    return Invalid(
        field,
        absl::StrCat("no spend model for ", currency, " (models: ",
                     known.empty() ? "none" : absl::StrJoin(known, ", "), ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckChannel(int channel, absl::string_view field) {
  if (!v1::Channel_IsValid(channel)) {
    return Invalid(field, absl::StrCat(channel, " is not a known channel"));
  }
  return absl::OkStatus();
}

}  // namespace

InsightsService::InsightsService(InsightsEngine* engine,
                                 timeline::TimelineStore* store,
                                 const timeline::EventValidator* validator,
                                 InsightsServiceLimits limits,
                                 SegmentLookup* segments)
    : engine_(engine),
      store_(store),
      validator_(validator),
      limits_(limits),
      segments_(segments) {}

grpc::ServerUnaryReactor* InsightsService::GetCustomerInsights(
    grpc::CallbackServerContext* context,
    const v1::GetCustomerInsightsRequest* request,
    v1::CustomerInsights* response) {
  absl::StatusOr<v1::CustomerSelector> selector =
      validator_->NormalizeCustomerSelector(request->customer(), "customer");
  if (!selector.ok()) return Finished(context, selector.status());
  CustomerInsightsQuery query;
  absl::StatusOr<std::optional<absl::Time>> as_of =
      PastTime(request->has_as_of(), request->as_of(), "as_of", engine_->Now());
  if (!as_of.ok()) return Finished(context, as_of.status());
  query.as_of = *as_of;
  if (request->horizon_days_size() > limits_.max_horizons) {
    return Finished(context,
                    Invalid("horizon_days",
                            absl::StrCat("at most ", limits_.max_horizons)));
  }
  for (int i = 0; i < request->horizon_days_size(); ++i) {
    const int days = request->horizon_days(i);
    if (days < 1 || days > limits_.max_horizon_days) {
      return Finished(context,
                      Invalid(absl::StrCat("horizon_days[", i, "]"),
                              absl::StrCat("must be 1 to ",
                                           limits_.max_horizon_days, " days")));
    }
    query.horizon_days.push_back(days);
  }
  query.value = engine_->options().value;
  const v1::LifetimeValueSettings& value = request->lifetime_value();
  if (value.periods() != 0) {
    if (value.periods() < 1 || value.periods() > 600) {
      return Finished(context,
                      Invalid("lifetime_value.periods", "must be 1 to 600"));
    }
    query.value.periods = value.periods();
  }
  if (value.period_days() != 0) {
    if (!(value.period_days() >= 1 && value.period_days() <= 366)) {
      return Finished(
          context, Invalid("lifetime_value.period_days", "must be 1 to 366"));
    }
    query.value.period_days = value.period_days();
  }
  if (value.discount_rate() != 0) {
    if (!(value.discount_rate() > 0 && value.discount_rate() <= 1)) {
      return Finished(
          context, Invalid("lifetime_value.discount_rate", "must be 0 to 1"));
    }
    query.value.discount_rate = value.discount_rate();
  }
  if (absl::Status status = CheckCurrency(request->currency(),
                                          *engine_->model().Get(), "currency");
      !status.ok()) {
    return Finished(context, status);
  }
  query.currency = request->currency();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Asynchronous throughout: the identity's owner, then the customer (its
  // merges followed), then the figures on the engine's threads.
  const bool by_identity = selector->has_identity();
  store_->FindCustomer(
      *selector,
      [this, reactor, response, by_identity,
       query = std::move(query)](absl::StatusOr<std::string> found) mutable {
        if (!found.ok()) return reactor->Finish(ToGrpcStatus(found.status()));
        ReadCustomerInsights(
            *engine_, *found, std::move(query),
            [this, reactor, response,
             by_identity](absl::StatusOr<v1::CustomerInsights> insights) {
              if (!insights.ok()) {
                return reactor->Finish(ToGrpcStatus(insights.status()));
              }
              // On an engine thread: the segments' read may block.
              if (segments_ != nullptr) {
                absl::StatusOr<std::vector<v1::CustomerSegmentMembership>>
                    memberships =
                        segments_->MembershipsOf(insights->customer_id());
                if (!memberships.ok()) {
                  return reactor->Finish(ToGrpcStatus(memberships.status()));
                }
                for (v1::CustomerSegmentMembership& membership : *memberships) {
                  *insights->add_segments() = std::move(membership);
                }
              }
              *response = *std::move(insights);
              // merged_from names a customer id the caller gave.
              if (by_identity) response->clear_merged_from();
              reactor->Finish(grpc::Status::OK);
            });
      });
  return reactor;
}

grpc::ServerUnaryReactor* InsightsService::GetPurchaseModel(
    grpc::CallbackServerContext* context,
    const v1::GetPurchaseModelRequest* request, v1::PurchaseModel* response) {
  const std::shared_ptr<const CurrentModel> model = engine_->model().Get();
  if (!model->proto.has_value()) {
    return Finished(context,
                    absl::NotFoundError("no purchase model has been fitted yet "
                                        "(FitPurchaseModel, or "
                                        "--model_refit_interval)"));
  }
  *response = *model->proto;
  return Finished(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InsightsService::FitPurchaseModel(
    grpc::CallbackServerContext* context,
    const v1::FitPurchaseModelRequest* request, v1::PurchaseModel* response) {
  const absl::Time now = engine_->Now();
  absl::StatusOr<std::optional<absl::Time>> as_of =
      PastTime(request->has_as_of(), request->as_of(), "as_of", now);
  if (!as_of.ok()) return Finished(context, as_of.status());
  const int holdout = request->holdout_days();
  if (holdout < 0 || holdout > limits_.max_holdout_days) {
    return Finished(context, Invalid("holdout_days",
                                     absl::StrCat("must be 0 to ",
                                                  limits_.max_holdout_days)));
  }
  if (holdout > 0) {
    const int64_t start = DayOf(as_of->value_or(now));
    if (start + holdout > DayOf(now)) {
      return Finished(
          context,
          Invalid(
              "holdout_days",
              absl::StrCat("the holdout window (", holdout,
                           " days from as_of) must end before today: it "
                           "would end ",
                           start + holdout - DayOf(now), " day(s) too late")));
    }
  }
  const std::string principal = auth::CallerPrincipal(*context);
  log::Info("audit: purchase model fit requested by %s",
            principal.empty() ? "an unauthenticated caller" : principal);
  return Answer<v1::PurchaseModel>(
      context, engine_, response, [this, as_of = *as_of, holdout] {
        return engine_->Fit(as_of, holdout, "request");
      });
}

grpc::ServerUnaryReactor* InsightsService::GetKpis(
    grpc::CallbackServerContext* context, const v1::GetKpisRequest* request,
    v1::GetKpisResponse* response) {
  absl::CivilDay start, end;
  if (!absl::ParseCivilTime(request->start_date(), &start)) {
    return Finished(context,
                    Invalid("start_date", "must be a date YYYY-MM-DD"));
  }
  if (!absl::ParseCivilTime(request->end_date(), &end)) {
    return Finished(context, Invalid("end_date", "must be a date YYYY-MM-DD"));
  }
  if (end < start) {
    return Finished(context, Invalid("end_date", "is before start_date"));
  }
  const int64_t today = DayOf(engine_->Now());
  if (DayOf(end) > today) {
    return Finished(context, Invalid("end_date", "is after today"));
  }
  if (end - start + 1 > limits_.max_kpi_days) {
    return Finished(
        context,
        Invalid("end_date", absl::StrCat("the period is at most ",
                                         limits_.max_kpi_days, " days")));
  }
  if (absl::Status status =
          CheckChannel(request->acquisition_channel(), "acquisition_channel");
      !status.ok()) {
    return Finished(context, status);
  }
  if (absl::Status status = CheckCurrency(request->currency(),
                                          *engine_->model().Get(), "currency");
      !status.ok()) {
    return Finished(context, status);
  }
  return Answer<v1::GetKpisResponse>(
      context, engine_, response,
      [this, first = DayOf(start), last = DayOf(end),
       channel = request->acquisition_channel(),
       currency = request->currency()] {
        return ComputeKpis(*engine_, first, last, channel, currency);
      });
}

grpc::ServerUnaryReactor* InsightsService::GetCohorts(
    grpc::CallbackServerContext* context, const v1::GetCohortsRequest* request,
    v1::GetCohortsResponse* response) {
  absl::CivilMonth first, last;
  if (!absl::ParseCivilTime(request->start_month(), &first)) {
    return Finished(context, Invalid("start_month", "must be a month YYYY-MM"));
  }
  if (!absl::ParseCivilTime(request->end_month(), &last)) {
    return Finished(context, Invalid("end_month", "must be a month YYYY-MM"));
  }
  if (last < first) {
    return Finished(context, Invalid("end_month", "is before start_month"));
  }
  if (last > MonthOf(DayOf(engine_->Now()))) {
    return Finished(context, Invalid("end_month", "is after this month"));
  }
  if (last - first + 1 > limits_.max_cohort_months) {
    return Finished(
        context,
        Invalid("end_month", absl::StrCat("at most ", limits_.max_cohort_months,
                                          " cohorts")));
  }
  if (absl::Status status =
          CheckChannel(request->acquisition_channel(), "acquisition_channel");
      !status.ok()) {
    return Finished(context, status);
  }
  return Answer<v1::GetCohortsResponse>(
      context, engine_, response,
      [this, first, last, channel = request->acquisition_channel()] {
        return ComputeCohorts(*engine_, first, last, channel);
      });
}

grpc::ServerUnaryReactor* InsightsService::GetRfmSummary(
    grpc::CallbackServerContext* context,
    const v1::GetRfmSummaryRequest* request, v1::RfmSummary* response) {
  const std::shared_ptr<const CurrentRfm> rfm = engine_->rfm().Get();
  if (!rfm->proto.has_value()) {
    return Finished(context,
                    absl::NotFoundError("the RFM boundaries have not been "
                                        "computed yet (--rfm_interval, or "
                                        "ComputeRfm)"));
  }
  *response = *rfm->proto;
  return Finished(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InsightsService::ComputeRfm(
    grpc::CallbackServerContext* context, const v1::ComputeRfmRequest* request,
    v1::RfmSummary* response) {
  (void)request;
  const std::string principal = auth::CallerPrincipal(*context);
  log::Info("audit: RFM computation requested by %s",
            principal.empty() ? "an unauthenticated caller" : principal);
  return Answer<v1::RfmSummary>(context, engine_, response, [this] {
    return engine_->RunPopulationPass();
  });
}

grpc::ServerUnaryReactor* InsightsService::ListTopCustomers(
    grpc::CallbackServerContext* context,
    const v1::ListTopCustomersRequest* request,
    v1::ListTopCustomersResponse* response) {
  TopCustomersQuery query;
  query.currency = request->currency();
  if (query.currency.empty()) {
    return Finished(context, Invalid("currency", "is required (ISO 4217)"));
  }
  if (!money::IsCurrencyCode(query.currency)) {
    return Finished(
        context,
        Invalid("currency", absl::StrCat("\"", query.currency,
                                         "\" is not an ISO 4217 code "
                                         "(three upper-case letters)")));
  }
  switch (request->by()) {
    case v1::ListTopCustomersRequest::RANKED_BY_UNSPECIFIED:
    case v1::ListTopCustomersRequest::RANKED_BY_HISTORICAL_VALUE:
      query.ranking = Ranking::kHistorical;
      break;
    case v1::ListTopCustomersRequest::RANKED_BY_PREDICTED_VALUE:
      query.ranking = Ranking::kPredicted;
      if (!engine_->model().Get()->fitted.has_value()) {
        return Finished(context,
                        absl::FailedPreconditionError(
                            "by: no purchase model has been fitted yet, so "
                            "there is no predicted value (FitPurchaseModel, "
                            "or --model_refit_interval)"));
      }
      break;
    default:
      return Finished(
          context,
          Invalid("by", absl::StrCat(request->by(), " is not a ranking")));
  }
  if (request->limit() < 0 ||
      request->limit() > limits_.max_top_customers_page) {
    return Finished(
        context, Invalid("limit", absl::StrCat("must be 1 to ",
                                               limits_.max_top_customers_page,
                                               " (0: 100)")));
  }
  query.limit = request->limit() == 0
                    ? std::min(100, limits_.max_top_customers_page)
                    : request->limit();
  if (!request->page_token().empty()) {
    absl::StatusOr<TopCursor> after =
        DecodeTopCursor(request->page_token(), query.ranking, query.currency);
    if (!after.ok()) return Finished(context, after.status());
    query.after = *std::move(after);
  }
  if (!request->segment().empty() && segments_ == nullptr) {
    return Finished(context,
                    absl::FailedPreconditionError(
                        "segment: user-defined segments are off on this "
                        "hub (--segments)"));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto answer = [reactor,
                 response](absl::StatusOr<v1::ListTopCustomersResponse> page) {
    if (!page.ok()) return reactor->Finish(ToGrpcStatus(page.status()));
    *response = *std::move(page);
    reactor->Finish(grpc::Status::OK);
  };
  // No thread waits on it; the first round trip carries the call's deadline.
  redis::ScopedCall call(timeline::DeadlineOf(context));
  if (!request->segment().empty()) {
    // Walks the ranking, checking membership a page at a time.
    const int batch = std::max(query.limit, kTopMembersBatch);
    ListTopMembers(engine_->context(), engine_->keys(), engine_->scripts(),
                   *segments_, request->segment(), std::move(query), batch,
                   limits_.max_top_customers_segment_scan, std::move(answer));
    return reactor;
  }
  insights::ListTopCustomers(engine_->context(), engine_->keys(),
                             engine_->scripts(), std::move(query),
                             std::move(answer));
  return reactor;
}

}  // namespace omnihub::insights

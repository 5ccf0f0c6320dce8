#include "services/visit_adapter/visit_routes.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/csv/csv_reader.h"
#include "common/json_fields/json_fields.h"
#include "common/money/money.h"

namespace omnihub::visit {
namespace {

// The visit's event, checked as the hub will check it, with every problem
// named by the visit's own fields ("visits[2].checked_in_at: ...", or
// "checked_in_at: ..." for a CSV row) rather than the event's.
absl::StatusOr<v1::InteractionEvent> CheckedEvent(
    const http_intake::HttpIntake& intake,
    const identity::IdentityNormalizer& normalizer, const VisitRecord& visit,
    absl::Time now, absl::Duration max_future_skew, const std::string& sender) {
  absl::StatusOr<v1::InteractionEvent> event = VisitToEvent(visit, normalizer);
  if (!event.ok()) return event.status();
  // The API key that sent it: "visit-adapter/<key>/json"; without keys the
  // source stays "visit-adapter/json".
  if (!sender.empty()) {
    event->set_source(
        absl::StrCat("visit-adapter/", sender, "/", visit.format));
  }
  if (visit.updated_at && *visit.updated_at > now + max_future_skew) {
    return json_fields::FieldError(
        visit.path, "updated_at",
        absl::StrCat("is in the future; at most ",
                     absl::FormatDuration(max_future_skew),
                     " of clock skew is allowed"));
  }
  constexpr absl::string_view kPrefix = "event";
  if (std::optional<timeline::FieldViolation> violation =
          intake.Validate(*event, kPrefix)) {
    absl::string_view field = violation->field;
    absl::ConsumePrefix(&field, kPrefix);
    absl::ConsumePrefix(&field, ".");
    return VisitError(visit, *event, field, violation->reason);
  }
  return event;
}

// The adapter's CSV settings, as the request's query may override them:
// ?delimiter=comma|semicolon|tab|auto and ?decimal=point|comma.
absl::StatusOr<VisitParseOptions> RequestOptions(
    const httplib::Request& request, VisitParseOptions options) {
  if (request.has_param("delimiter")) {
    absl::StatusOr<char> delimiter =
        csv::ParseDelimiterName(request.get_param_value("delimiter"));
    if (!delimiter.ok()) {
      return json_fields::FieldError("", "delimiter",
                                     delimiter.status().message());
    }
    options.csv_delimiter = *delimiter;
  }
  if (request.has_param("decimal")) {
    absl::StatusOr<money::DecimalMark> decimal =
        money::ParseDecimalMark(request.get_param_value("decimal"));
    if (!decimal.ok()) {
      return json_fields::FieldError("", "decimal", decimal.status().message());
    }
    options.csv_decimal = *decimal;
  }
  return options;
}

}  // namespace

void RegisterVisitRoutes(http_intake::HttpIntake& intake,
                         const identity::IdentityNormalizer* normalizer,
                         VisitParseOptions options) {
  intake.Post(
      "/v1/visits", "visits",
      [&intake, normalizer, options](const httplib::Request& request,
                                     httplib::Response& response) {
        std::optional<std::string> sender =
            intake.Authenticate(request, response);
        if (!sender.has_value()) return;
        if (!intake.RequireContentType(request, response,
                                       {"application/json"})) {
          return;
        }
        absl::StatusOr<std::vector<VisitRecord>> visits =
            ParseJsonVisits(request.body, options);
        if (!visits.ok()) {
          return intake.BadRequest(response, visits.status(), "bad_json");
        }
        const absl::Time now = absl::Now();
        std::vector<v1::InteractionEvent> events;
        events.reserve(visits->size());
        for (const VisitRecord& visit : *visits) {
          absl::StatusOr<v1::InteractionEvent> event =
              CheckedEvent(intake, *normalizer, visit, now,
                           options.max_future_skew, *sender);
          if (!event.ok()) {
            return intake.BadRequest(response, event.status(), "invalid_visit");
          }
          events.push_back(*std::move(event));
        }
        intake.Accept(std::move(events), 0, response);
      });
  intake.Post(
      "/v1/visits/csv", "visits_csv",
      [&intake, normalizer, options](const httplib::Request& request,
                                     httplib::Response& response) {
        std::optional<std::string> sender =
            intake.Authenticate(request, response);
        if (!sender.has_value()) return;
        if (!intake.RequireContentType(request, response,
                                       {"text/csv", "text/plain"})) {
          return;
        }
        absl::StatusOr<VisitParseOptions> request_options =
            RequestOptions(request, options);
        if (!request_options.ok()) {
          return intake.BadRequest(response, request_options.status(),
                                   "bad_query");
        }
        absl::StatusOr<CsvVisits> visits =
            ParseCsvVisits(request.body, *request_options);
        if (!visits.ok()) {
          return intake.BadRequest(response, visits.status(), "bad_csv");
        }
        std::vector<http_intake::RejectedRecord> rejected;
        for (const RowProblem& problem : visits->bad) {
          rejected.push_back({problem.line, problem.field, problem.message});
        }
        // Every row is checked completely before any is spooled, so a row
        // is stored whole or not at all.
        const absl::Time now = absl::Now();
        std::vector<v1::InteractionEvent> events;
        events.reserve(visits->good.size());
        for (const VisitRecord& visit : visits->good) {
          absl::StatusOr<v1::InteractionEvent> event =
              CheckedEvent(intake, *normalizer, visit, now,
                           options.max_future_skew, *sender);
          if (!event.ok()) {
            const std::string message(event.status().message());
            rejected.push_back({visit.line, FieldOfMessage(message), message});
            continue;
          }
          events.push_back(*std::move(event));
        }
        std::stable_sort(rejected.begin(), rejected.end(),
                         [](const http_intake::RejectedRecord& a,
                            const http_intake::RejectedRecord& b) {
                           return a.line < b.line;
                         });
        intake.AcceptSome(std::move(events), rejected, visits->ignored_columns,
                          response);
      });
}

}  // namespace omnihub::visit

#include "services/visit_adapter/visit_routes.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace omnihub::visit {

void RegisterVisitRoutes(http_intake::HttpIntake& intake,
                         const identity::IdentityNormalizer* normalizer,
                         VisitParseOptions options) {
  intake.Post(
      "/v1/visits", "visits",
      [&intake, normalizer, options](const httplib::Request& request,
                                     httplib::Response& response) {
        absl::StatusOr<std::vector<VisitRecord>> visits =
            ParseJsonVisits(request.body, options);
        if (!visits.ok()) {
          return intake.BadRequest(response, visits.status(), "bad_json");
        }
        std::vector<v1::InteractionEvent> events;
        for (const VisitRecord& visit : *visits) {
          absl::StatusOr<v1::InteractionEvent> event =
              VisitToEvent(visit, *normalizer);
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
        absl::StatusOr<CsvVisits> visits =
            ParseCsvVisits(request.body, options);
        if (!visits.ok()) {
          return intake.BadRequest(response, visits.status(), "bad_csv");
        }
        std::vector<http_intake::RejectedRecord> rejected;
        for (const RowProblem& problem : visits->bad) {
          rejected.push_back({problem.line, problem.field, problem.message});
        }
        // Each row whole or not at all: it is checked completely before
        // any row is spooled.
        std::vector<v1::InteractionEvent> events;
        for (const VisitRecord& visit : visits->good) {
          absl::StatusOr<v1::InteractionEvent> event =
              VisitToEvent(visit, *normalizer);
          if (!event.ok()) {
            const std::string message(event.status().message());
            rejected.push_back(
                {visit.line, message.substr(0, message.find(": ")), message});
            continue;
          }
          if (auto violation = intake.Validate(*event, "event")) {
            rejected.push_back(
                {visit.line, violation->field,
                 absl::StrCat(violation->field, ": ", violation->reason)});
            continue;
          }
          events.push_back(*std::move(event));
        }
        std::sort(rejected.begin(), rejected.end(),
                  [](const auto& a, const auto& b) { return a.line < b.line; });
        intake.AcceptSome(std::move(events), rejected, response);
      });
}

}  // namespace omnihub::visit

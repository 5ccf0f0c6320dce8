#include "services/phone_adapter/phone_routes.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace omnihub::phone {
namespace {

// Turns parsed calls into events (skipping internal ones) and accepts them.
void AcceptCalls(http_intake::HttpIntake& intake,
                 const identity::IdentityNormalizer& normalizer,
                 const CallEventOptions& options,
                 const std::vector<CallRecord>& calls,
                 httplib::Response& response) {
  std::vector<v1::InteractionEvent> events;
  int ignored = 0;
  for (size_t i = 0; i < calls.size(); ++i) {
    absl::StatusOr<std::optional<v1::InteractionEvent>> event =
        CallToEvent(calls[i], normalizer, options);
    if (!event.ok()) {
      return intake.BadRequest(
          response,
          absl::InvalidArgumentError(
              absl::StrCat("calls[", i, "].", event.status().message())),
          "invalid_call");
    }
    if (event->has_value()) {
      events.push_back(**std::move(event));
    } else {
      ++ignored;  // between internal extensions: no customer on the call
    }
  }
  intake.Accept(std::move(events), ignored, response);
}

}  // namespace

void RegisterPhoneRoutes(http_intake::HttpIntake& intake,
                         const identity::IdentityNormalizer* normalizer,
                         PhoneRouteOptions options) {
  intake.Post(
      "/v1/calls", "calls",
      [&intake, normalizer, options](const httplib::Request& request,
                                     httplib::Response& response) {
        if (!intake.RequireContentType(request, response,
                                       {"application/json"})) {
          return;
        }
        absl::StatusOr<std::vector<CallRecord>> calls =
            ParseJsonCalls(request.body, options.parse);
        if (!calls.ok()) {
          return intake.BadRequest(response, calls.status(), "bad_json");
        }
        AcceptCalls(intake, *normalizer, options.events, *calls, response);
      });
  intake.Post("/v1/calls/asterisk-cdr", "asterisk_cdr",
              [&intake, normalizer, options](const httplib::Request& request,
                                             httplib::Response& response) {
                if (!intake.RequireContentType(request, response,
                                               {"text/csv", "text/plain"})) {
                  return;
                }
                absl::StatusOr<std::vector<CallRecord>> calls =
                    ParseAsteriskCdr(request.body, options.parse);
                if (!calls.ok()) {
                  return intake.BadRequest(response, calls.status(), "bad_cdr");
                }
                AcceptCalls(intake, *normalizer, options.events, *calls,
                            response);
              });
  intake.Post(
      "/v1/calls/twilio", "twilio",
      [&intake, normalizer, options](const httplib::Request& request,
                                     httplib::Response& response) {
        // The server decodes the form only when it is labelled as one.
        if (!intake.RequireContentType(request, response,
                                       {"application/x-www-form-urlencoded"})) {
          return;
        }
        absl::StatusOr<CallRecord> call =
            ParseTwilioCallback(request.params, absl::Now());
        if (!call.ok()) {
          return intake.BadRequest(response, call.status(), "bad_twilio_form");
        }
        AcceptCalls(intake, *normalizer, options.events, {*call}, response);
      });
}

}  // namespace omnihub::phone

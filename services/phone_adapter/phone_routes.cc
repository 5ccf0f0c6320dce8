#include "services/phone_adapter/phone_routes.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "services/phone_adapter/twilio_signature.h"

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

// The events' source names the API key that sent them
// ("phone-adapter/<key>/json"); without keys it stays "phone-adapter/json".
CallEventOptions WithSender(CallEventOptions options,
                            const std::string& key_name) {
  if (!key_name.empty()) absl::StrAppend(&options.source, "/", key_name);
  return options;
}

// Whether the callback came from Twilio: its signature over the URL Twilio
// called and the form it posted (the query's parameters are part of the
// URL, not of the signed list). Answers 403 when not.
bool FromTwilio(http_intake::HttpIntake& intake,
                const TwilioVerification& twilio,
                const httplib::Request& request, httplib::Response& response) {
  if (!request.has_header("X-Twilio-Signature")) {
    intake.RefuseSender(request, response, 403, "missing_signature",
                        "X-Twilio-Signature is missing");
    return false;
  }
  httplib::Params form;
  httplib::detail::parse_query_text(request.body, form);
  const std::string url =
      absl::StrCat(absl::StripSuffix(twilio.public_url, "/"), request.target);
  if (!TwilioSignatureMatches(twilio.auth_token, url, form,
                              request.get_header_value("X-Twilio-Signature"))) {
    intake.RefuseSender(request, response, 403, "bad_signature",
                        absl::StrCat("X-Twilio-Signature does not match the "
                                     "form and the URL ",
                                     url));
    return false;
  }
  return true;
}

}  // namespace

void RegisterPhoneRoutes(http_intake::HttpIntake& intake,
                         const identity::IdentityNormalizer* normalizer,
                         PhoneRouteOptions options) {
  intake.Post(
      "/v1/calls", "calls",
      [&intake, normalizer, options](const httplib::Request& request,
                                     httplib::Response& response) {
        std::optional<std::string> sender =
            intake.Authenticate(request, response);
        if (!sender.has_value()) return;
        if (!intake.RequireContentType(request, response,
                                       {"application/json"})) {
          return;
        }
        absl::StatusOr<std::vector<CallRecord>> calls =
            ParseJsonCalls(request.body, options.parse);
        if (!calls.ok()) {
          return intake.BadRequest(response, calls.status(), "bad_json");
        }
        AcceptCalls(intake, *normalizer, WithSender(options.events, *sender),
                    *calls, response);
      });
  intake.Post("/v1/calls/asterisk-cdr", "asterisk_cdr",
              [&intake, normalizer, options](const httplib::Request& request,
                                             httplib::Response& response) {
                std::optional<std::string> sender =
                    intake.Authenticate(request, response);
                if (!sender.has_value()) return;
                if (!intake.RequireContentType(request, response,
                                               {"text/csv", "text/plain"})) {
                  return;
                }
                absl::StatusOr<std::vector<CallRecord>> calls =
                    ParseAsteriskCdr(request.body, options.parse);
                if (!calls.ok()) {
                  return intake.BadRequest(response, calls.status(), "bad_cdr");
                }
                AcceptCalls(intake, *normalizer,
                            WithSender(options.events, *sender), *calls,
                            response);
              });
  intake.Post(
      "/v1/calls/twilio", "twilio",
      [&intake, normalizer, options](const httplib::Request& request,
                                     httplib::Response& response) {
        std::string sender;
        if (options.twilio != nullptr) {
          if (!FromTwilio(intake, options.twilio->Current(), request,
                          response)) {
            return;
          }
        } else {
          std::optional<std::string> key =
              intake.Authenticate(request, response);
          if (!key.has_value()) return;
          sender = *std::move(key);
        }
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
        AcceptCalls(intake, *normalizer, WithSender(options.events, sender),
                    {*call}, response);
      });
}

}  // namespace omnihub::phone

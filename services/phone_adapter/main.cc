// omnihub-phone-adapter: call-center software pushes call records here.
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/adapter_runtime/adapter_runtime.h"
#include "common/config/secret_file.h"
#include "common/logging/log.h"
#include "services/phone_adapter/phone_routes.h"

ABSL_FLAG(std::string, cdr_time_zone, "UTC",
          "Time zone of Asterisk CDR times (e.g. Europe/London).");
ABSL_FLAG(int, max_extension_digits, 6,
          "Numbers this short are internal extensions, not customers.");
ABSL_FLAG(std::string, twilio_auth_token_file, "",
          "A file holding the Twilio account's auth token: Twilio callbacks "
          "must then carry a valid X-Twilio-Signature (403 otherwise) instead "
          "of an API key. Needs --public_url. Re-read on SIGHUP.");
ABSL_FLAG(std::string, public_url, "",
          "The adapter's address as Twilio calls it (e.g. "
          "https://hub.example.com, or with the path prefix a proxy adds): "
          "Twilio signs the URL it called, which a proxy hides.");

namespace {

// --twilio_auth_token_file and --public_url; none when no token is given.
absl::StatusOr<std::optional<omnihub::phone::TwilioVerification>>
TwilioVerificationFromFlags() {
  const std::string path = absl::GetFlag(FLAGS_twilio_auth_token_file);
  const std::string public_url = absl::GetFlag(FLAGS_public_url);
  if (path.empty()) {
    if (!public_url.empty()) {
      return absl::InvalidArgumentError(
          "--public_url: only used to check Twilio's signatures; give "
          "--twilio_auth_token_file too");
    }
    return std::nullopt;
  }
  if (!absl::StartsWith(public_url, "https://") &&
      !absl::StartsWith(public_url, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--public_url: \"", public_url,
        "\" is not an http(s) URL; Twilio signs the URL it called, which "
        "the adapter cannot tell behind a proxy (e.g. "
        "https://hub.example.com)"));
  }
  absl::StatusOr<std::string> token =
      omnihub::config::ReadSecretFile("twilio_auth_token_file", path);
  if (!token.ok()) return token.status();
  return omnihub::phone::TwilioVerification{*std::move(token), public_url};
}

}  // namespace

int main(int argc, char** argv) {
  return omnihub::adapter::RunAdapter(
      argc, argv,
      {.name = "phone",
       .default_port = 8081,
       .usage = "omnihub-phone-adapter: takes call records (JSON, Asterisk "
                "CDR lines, Twilio status callbacks) over HTTP and delivers "
                "them to the timeline service.",
       .takes_api_keys = true},
      [](omnihub::http_intake::HttpIntake& intake,
         const omnihub::identity::IdentityNormalizer& normalizer) {
        omnihub::phone::PhoneRouteOptions options;
        // A zone the system does not know would shift every CDR by hours if
        // taken as UTC: refuse to start instead.
        if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_cdr_time_zone),
                                &options.parse.cdr_time_zone)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "--cdr_time_zone: \"", absl::GetFlag(FLAGS_cdr_time_zone),
              "\" is not a time zone this system knows (an IANA name such "
              "as Europe/London, or UTC)"));
        }
        // E.164 numbers have at most 15 digits: beyond, every number would
        // be taken for an extension and every call ignored.
        const int extension_digits = absl::GetFlag(FLAGS_max_extension_digits);
        if (extension_digits < 0 || extension_digits > 14) {
          return absl::InvalidArgumentError(
              absl::StrCat("--max_extension_digits: ", extension_digits,
                           " is not allowed; it must be from 0 to 14"));
        }
        options.events.max_extension_digits = extension_digits;
        options.parse.max_json_depth = omnihub::adapter::MaxJsonDepth();
        absl::StatusOr<std::optional<omnihub::phone::TwilioVerification>>
            twilio = TwilioVerificationFromFlags();
        if (!twilio.ok()) return twilio.status();
        if (twilio->has_value()) {
          auto verifier = std::make_shared<omnihub::phone::TwilioVerifier>(
              **std::move(twilio));
          options.twilio = verifier;
          // A rotated auth token: the file again, the URL as it was.
          omnihub::adapter::OnReload([verifier] {
            const std::string path =
                absl::GetFlag(FLAGS_twilio_auth_token_file);
            absl::StatusOr<std::string> token =
                omnihub::config::ReadSecretFile("twilio_auth_token_file", path);
            if (!token.ok()) {
              omnihub::log::Error(
                  "SIGHUP: keeping the Twilio auth token in use: %s",
                  token.status().message());
              return;
            }
            verifier->Replace(
                {*std::move(token), verifier->Current().public_url});
            omnihub::log::Info("SIGHUP: Twilio auth token re-read from %s",
                               path);
          });
        }
        omnihub::phone::RegisterPhoneRoutes(intake, &normalizer, options);
        return absl::OkStatus();
      });
}

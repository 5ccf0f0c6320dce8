// omnihub-phone-adapter: call-center software pushes call records here.
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/adapter_runtime/adapter_runtime.h"
#include "services/phone_adapter/phone_routes.h"

ABSL_FLAG(std::string, cdr_time_zone, "UTC",
          "Time zone of Asterisk CDR times (e.g. Europe/London).");
ABSL_FLAG(int, max_extension_digits, 6,
          "Numbers this short are internal extensions, not customers.");

int main(int argc, char** argv) {
  return omnihub::adapter::RunAdapter(
      argc, argv,
      {.name = "phone",
       .default_port = 8081,
       .usage = "omnihub-phone-adapter: takes call records (JSON, Asterisk "
                "CDR lines, Twilio status callbacks) over HTTP and delivers "
                "them to the timeline service."},
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
        omnihub::phone::RegisterPhoneRoutes(intake, &normalizer, options);
        return absl::OkStatus();
      });
}

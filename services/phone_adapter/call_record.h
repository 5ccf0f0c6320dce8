// A call as the phone adapter understands it, whatever the call-center
// software sent, and how it becomes an interaction event.
//
//   absl::StatusOr<std::vector<CallRecord>> calls = ParseAsteriskCdr(body,
//   opts); absl::StatusOr<std::optional<v1::InteractionEvent>> event =
//       CallToEvent(calls->front(), normalizer, options);
#ifndef OMNIHUB_SERVICES_PHONE_ADAPTER_CALL_RECORD_H_
#define OMNIHUB_SERVICES_PHONE_ADAPTER_CALL_RECORD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/identity_normalizer.h"
#include "common/json_fields/json_body.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::phone {

struct CallRecord {
  // Which system sent it ("json", "asterisk", "twilio") and its id for the
  // call: every record of one call shares both, so they make one event.
  std::string format;
  std::string call_id;
  v1::CallDetail::Direction direction = v1::CallDetail::DIRECTION_UNSPECIFIED;
  std::string caller;
  std::string callee;
  std::optional<absl::Time> started_at;
  std::optional<absl::Time> answered_at;
  std::optional<absl::Time> ended_at;
  int duration_seconds = 0;
  int billable_seconds = 0;
  v1::CallDetail::Disposition disposition =
      v1::CallDetail::DISPOSITION_UNSPECIFIED;
  std::string agent;
  std::string queue;
  std::string wrap_up_code;
  std::string recording_url;
  std::optional<double> satisfaction;  // 0 to 10
  // Later records of the same call carry a higher revision.
  uint64_t revision = 0;
};

// A problem with any record refuses the whole request (INVALID_ARGUMENT naming
// the record and field), so nothing is half-accepted.
struct CallParseOptions {
  absl::TimeZone cdr_time_zone = absl::UTCTimeZone();  // Asterisk local times
  size_t max_records = 1000;
  // Most arrays and objects nested in a JSON body (see json_body.h).
  size_t max_json_depth = json_fields::kDefaultMaxJsonDepth;
};

// JSON: one call object or an array of them (fields in the README).
absl::StatusOr<std::vector<CallRecord>> ParseJsonCalls(
    absl::string_view body, const CallParseOptions& options);

// Asterisk cdr_csv (Master.csv) lines, one or many. Rows of one call (same
// linkedid when the newer columns are logged, else uniqueid) are merged.
absl::StatusOr<std::vector<CallRecord>> ParseAsteriskCdr(
    absl::string_view body, const CallParseOptions& options);

// A Twilio-style call status callback, its form fields already decoded (the
// HTTP server parses application/x-www-form-urlencoded bodies). `now` stands
// in for a missing Timestamp.
absl::StatusOr<CallRecord> ParseTwilioCallback(
    const std::multimap<std::string, std::string>& form, absl::Time now);

struct CallEventOptions {
  // Numbers with at most this many digits are internal extensions, not
  // customers.
  int max_extension_digits = 6;
  std::string source = "phone-adapter";
};

// The interaction event for a call; std::nullopt for a call between internal
// extensions (no customer on it). INVALID_ARGUMENT naming the field when the
// customer's number is unusable.
absl::StatusOr<std::optional<v1::InteractionEvent>> CallToEvent(
    const CallRecord& call, const identity::IdentityNormalizer& normalizer,
    const CallEventOptions& options);

}  // namespace omnihub::phone

#endif  // OMNIHUB_SERVICES_PHONE_ADAPTER_CALL_RECORD_H_

// Call records as the phone adapter receives them: JSON call records and
// Asterisk cdr_csv lines, each accepted call turned into an event.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/identity/identity_normalizer.h"
#include "services/phone_adapter/call_record.h"
#include "tests/fuzz/hub_validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the format, the rest is the body.
  const bool asterisk = data[0] & 1;
  const absl::string_view body(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  static const omnihub::identity::IdentityNormalizer normalizer;
  omnihub::phone::CallParseOptions options;
  options.cdr_time_zone = absl::FixedTimeZone(3600);
  absl::StatusOr<std::vector<omnihub::phone::CallRecord>> calls =
      asterisk ? omnihub::phone::ParseAsteriskCdr(body, options)
               : omnihub::phone::ParseJsonCalls(body, options);
  if (!calls.ok()) return 0;
  for (const omnihub::phone::CallRecord& call : *calls) {
    absl::StatusOr<std::optional<omnihub::v1::InteractionEvent>> event =
        omnihub::phone::CallToEvent(call, normalizer, {});
    if (event.ok() && event->has_value()) {
      omnihub::fuzz::ValidateAsTheHubWould(**std::move(event));
    }
  }
  return 0;
}

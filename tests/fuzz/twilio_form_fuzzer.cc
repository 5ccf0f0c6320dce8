// Twilio call status callbacks: any set of form fields (the HTTP server has
// already decoded the form), each accepted callback turned into an event.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "common/identity/identity_normalizer.h"
#include "services/phone_adapter/call_record.h"
#include "tests/fuzz/hub_validation.h"

namespace {

// Mostly the fields a callback has, so the parser gets past its first checks.
constexpr const char* kFieldNames[] = {
    "CallSid",      "From",      "To",           "Direction",      "CallStatus",
    "CallDuration", "Timestamp", "RecordingUrl", "SequenceNumber", "Queue"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  std::multimap<std::string, std::string> form;
  while (input.remaining_bytes() > 0 && form.size() < 64) {
    std::string name = input.ConsumeBool()
                           ? kFieldNames[input.ConsumeIntegralInRange<size_t>(
                                 0, std::size(kFieldNames) - 1)]
                           : input.ConsumeRandomLengthString(32);
    form.emplace(std::move(name), input.ConsumeRandomLengthString(256));
  }
  static const omnihub::identity::IdentityNormalizer normalizer;
  absl::StatusOr<omnihub::phone::CallRecord> call =
      omnihub::phone::ParseTwilioCallback(form,
                                          absl::FromUnixSeconds(1795000000));
  if (!call.ok()) return 0;
  absl::StatusOr<std::optional<omnihub::v1::InteractionEvent>> event =
      omnihub::phone::CallToEvent(*call, normalizer, {});
  if (event.ok() && event->has_value()) {
    omnihub::fuzz::ValidateAsTheHubWould(**std::move(event));
  }
  return 0;
}

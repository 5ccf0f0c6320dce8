#include "common/event_validation/ingest_limit_flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(int, max_event_bytes, 16384,
          "Largest serialized event, in bytes (give the hub and every adapter "
          "the same value).");
ABSL_FLAG(int, max_identities, 16,
          "Most identities on one event (the same on the hub and adapters).");
ABSL_FLAG(int, max_attributes, 32,
          "Most attributes on one event (the same on the hub and adapters).");
ABSL_FLAG(int, max_line_items, 100,
          "Most line items on one purchase (the same on the hub and "
          "adapters).");
ABSL_FLAG(int, max_line_item_field_bytes, 256,
          "Longest sku, name or category of a line item, in bytes (the same "
          "on the hub and adapters).");
ABSL_FLAG(absl::Duration, max_future_skew, absl::Minutes(5),
          "How far in the future an event's time may be (the same on the hub "
          "and adapters).");

namespace omnihub::timeline {
namespace {

absl::Status AtLeast(const char* flag, int value, int minimum) {
  if (value >= minimum) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": ", value,
                   " is not allowed; it must be at least ", minimum));
}

}  // namespace

absl::StatusOr<IngestLimits> IngestLimitsFromFlags() {
  IngestLimits limits;
  const int event_bytes = absl::GetFlag(FLAGS_max_event_bytes);
  const int identities = absl::GetFlag(FLAGS_max_identities);
  const int attributes = absl::GetFlag(FLAGS_max_attributes);
  const int line_items = absl::GetFlag(FLAGS_max_line_items);
  const int line_item_bytes = absl::GetFlag(FLAGS_max_line_item_field_bytes);
  const absl::Duration skew = absl::GetFlag(FLAGS_max_future_skew);
  // Smaller than this, not even an event with one identity fits.
  constexpr int kLeastEventBytes = 256;
  for (absl::Status status :
       {AtLeast("max_event_bytes", event_bytes, kLeastEventBytes),
        AtLeast("max_identities", identities, 1),
        AtLeast("max_attributes", attributes, 0),
        AtLeast("max_line_items", line_items, 0),
        AtLeast("max_line_item_field_bytes", line_item_bytes, 1)}) {
    if (!status.ok()) return status;
  }
  if (skew < absl::ZeroDuration() || skew == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_future_skew: ", absl::FormatDuration(skew),
                     " is not allowed; it must be a finite duration of at "
                     "least 0s, like 5m"));
  }
  limits.max_event_bytes = static_cast<size_t>(event_bytes);
  limits.max_identities_per_event = static_cast<size_t>(identities);
  limits.max_attributes = static_cast<size_t>(attributes);
  limits.max_line_items = static_cast<size_t>(line_items);
  limits.max_line_item_field_bytes = static_cast<size_t>(line_item_bytes);
  limits.max_future_skew = skew;
  return limits;
}

}  // namespace omnihub::timeline

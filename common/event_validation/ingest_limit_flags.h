// The flags of the limits an event is validated against, defined once for
// the hub and every adapter, so that an adapter started with the hub's
// values never accepts (202) an event the hub would then refuse and
// dead-letter. Give each process the same values.
//
//   absl::StatusOr<IngestLimits> limits = IngestLimitsFromFlags();
//   if (!limits.ok()) { log::Error("%s", limits.status().message()); return 2;
//   } EventValidator validator(*limits, &normalizer);
#ifndef OMNIHUB_COMMON_EVENT_VALIDATION_INGEST_LIMIT_FLAGS_H_
#define OMNIHUB_COMMON_EVENT_VALIDATION_INGEST_LIMIT_FLAGS_H_

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_validation/event_validator.h"

ABSL_DECLARE_FLAG(int, max_event_bytes);
ABSL_DECLARE_FLAG(int, max_identities);
ABSL_DECLARE_FLAG(int, max_attributes);
ABSL_DECLARE_FLAG(int, max_line_items);
ABSL_DECLARE_FLAG(int, max_line_item_field_bytes);
ABSL_DECLARE_FLAG(absl::Duration, max_future_skew);

namespace omnihub::timeline {

// The event limits from the flags above (the others keep their defaults);
// INVALID_ARGUMENT "--max_event_bytes: ..." for a value that makes no sense.
absl::StatusOr<IngestLimits> IngestLimitsFromFlags();

}  // namespace omnihub::timeline

#endif  // OMNIHUB_COMMON_EVENT_VALIDATION_INGEST_LIMIT_FLAGS_H_

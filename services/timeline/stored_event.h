// How one event is written as a value of a customer's events hash: a small
// text header the Lua scripts read (revision, time, channel, kind, value,
// satisfaction), then the protobuf payload without what the header and the
// hash field (the event id) already hold.
//
//   std::string value = EncodeStoredEvent(event);   // header .. payload
//   absl::StatusOr<v1::InteractionEvent> back =
//       DecodeStoredEvent(event.event_id(), value);
#ifndef OMNIHUB_SERVICES_TIMELINE_STORED_EVENT_H_
#define OMNIHUB_SERVICES_TIMELINE_STORED_EVENT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::timeline {

// The parts of the header.
struct StoredEventFields {
  std::string header;
  // Decimal without leading zeros: the scripts order revisions by length,
  // then by bytes.
  std::string revision;
  int64_t occurred_at_micros = 0;
  std::string channel;
  std::string currency;             // empty when the event carries no value
  std::string amount_micros = "0";  // "0" when it carries none
  std::string satisfaction_milli;   // empty when it carries none
};

StoredEventFields StoredFieldsOf(const v1::InteractionEvent& event);

// The whole value: header then the serialized rest of the event (taken by
// value: the fields the header holds are cleared from it, not from a copy).
std::string EncodeStoredEvent(v1::InteractionEvent event);

// The event back. An event trimmed by retention (its header alone) comes
// back with what the header keeps: id, revision, time, channel, kind, value
// and satisfaction. INTERNAL when `value` is not a stored event.
absl::StatusOr<v1::InteractionEvent> DecodeStoredEvent(
    absl::string_view event_id, absl::string_view value);

int64_t ToMicros(const google::protobuf::Timestamp& timestamp);
google::protobuf::Timestamp FromMicros(int64_t micros);

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_STORED_EVENT_H_

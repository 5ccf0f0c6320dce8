#include "services/timeline/stored_event.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace omnihub::timeline {
namespace {

constexpr int kHeaderFields = 7;

}  // namespace

int64_t ToMicros(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() * 1000000 + timestamp.nanos() / 1000;
}

google::protobuf::Timestamp FromMicros(int64_t micros) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(micros / 1000000);
  timestamp.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return timestamp;
}

StoredEventFields StoredFieldsOf(const v1::InteractionEvent& event) {
  StoredEventFields fields;
  fields.revision = absl::StrFormat("%020u", event.revision());
  fields.occurred_at_micros = ToMicros(event.occurred_at());
  fields.channel = absl::StrCat(static_cast<int>(event.channel()));
  if (event.has_value()) {
    fields.currency = event.value().currency();
    fields.amount_micros = absl::StrCat(event.value().amount_micros());
  } else {
    fields.amount_micros = "0";
  }
  if (event.has_satisfaction()) {
    fields.satisfaction_milli =
        absl::StrCat(std::llround(event.satisfaction() * 1000));
  }
  fields.header = absl::StrCat(
      fields.revision, "|", fields.occurred_at_micros, "|", fields.channel, "|",
      static_cast<int>(event.kind()), "|", fields.currency, "|",
      fields.amount_micros, "|", fields.satisfaction_milli, "|");
  return fields;
}

std::string EncodeStoredEvent(const v1::InteractionEvent& event) {
  return absl::StrCat(StoredFieldsOf(event).header, event.SerializeAsString());
}

absl::StatusOr<v1::InteractionEvent> DecodeStoredEvent(
    absl::string_view value) {
  size_t position = 0;
  for (int i = 0; i < kHeaderFields; ++i) {
    position = value.find('|', position);
    if (position == absl::string_view::npos) {
      return absl::InternalError("stored event has a malformed header");
    }
    ++position;
  }
  const absl::string_view payload = value.substr(position);
  if (payload.empty()) {
    return absl::NotFoundError("event was trimmed by retention");
  }
  v1::InteractionEvent event;
  if (!event.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::InternalError("stored event payload does not parse");
  }
  return event;
}

}  // namespace omnihub::timeline

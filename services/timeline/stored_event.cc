#include "services/timeline/stored_event.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

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

absl::StatusOr<v1::InteractionEvent> DecodeStoredEventOrHeader(
    absl::string_view event_id, absl::string_view value) {
  absl::StatusOr<v1::InteractionEvent> event = DecodeStoredEvent(value);
  if (!absl::IsNotFound(event.status())) return event;
  std::vector<absl::string_view> fields = absl::StrSplit(value, '|');
  uint64_t revision = 0;
  int64_t occurred = 0;
  int channel = 0;
  int kind = 0;
  int64_t amount = 0;
  int64_t satisfaction = 0;
  if (fields.size() != kHeaderFields + 1 ||
      !absl::SimpleAtoi(fields[0], &revision) ||
      !absl::SimpleAtoi(fields[1], &occurred) ||
      !absl::SimpleAtoi(fields[2], &channel) ||
      !absl::SimpleAtoi(fields[3], &kind)) {
    return absl::InternalError("stored event has a malformed header");
  }
  v1::InteractionEvent header;
  header.set_event_id(std::string(event_id));
  header.set_revision(revision);
  *header.mutable_occurred_at() = FromMicros(occurred);
  header.set_channel(static_cast<v1::Channel>(channel));
  header.set_kind(static_cast<v1::InteractionKind>(kind));
  if (!fields[4].empty() && absl::SimpleAtoi(fields[5], &amount)) {
    header.mutable_value()->set_currency(std::string(fields[4]));
    header.mutable_value()->set_amount_micros(amount);
  }
  if (absl::SimpleAtoi(fields[6], &satisfaction)) {
    header.set_satisfaction(static_cast<double>(satisfaction) / 1000.0);
  }
  return header;
}

}  // namespace omnihub::timeline

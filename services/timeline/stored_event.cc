#include "services/timeline/stored_event.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
  fields.revision = absl::StrCat(event.revision());
  fields.occurred_at_micros = ToMicros(event.occurred_at());
  fields.channel = absl::StrCat(static_cast<int>(event.channel()));
  if (event.has_value()) {
    fields.currency = event.value().currency();
    fields.amount_micros = absl::StrCat(event.value().amount_micros());
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

std::string EncodeStoredEvent(v1::InteractionEvent event) {
  std::string value = StoredFieldsOf(event).header;
  // What the header and the hash field hold is left out of the payload:
  // about a fifth of a typical event's bytes.
  event.clear_event_id();
  event.clear_occurred_at();
  event.clear_channel();
  event.clear_kind();
  event.clear_revision();
  event.clear_value();
  event.clear_satisfaction();
  event.clear_customer_id();
  event.AppendToString(&value);
  return value;
}

absl::StatusOr<v1::InteractionEvent> DecodeStoredEvent(
    absl::string_view event_id, absl::string_view value) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(value, absl::MaxSplits('|', kHeaderFields));
  uint64_t revision = 0;
  int64_t occurred = 0;
  int channel = 0;
  int kind = 0;
  if (fields.size() != kHeaderFields + 1 ||
      !absl::SimpleAtoi(fields[0], &revision) ||
      !absl::SimpleAtoi(fields[1], &occurred) ||
      !absl::SimpleAtoi(fields[2], &channel) ||
      !absl::SimpleAtoi(fields[3], &kind)) {
    return absl::InternalError("stored event has a malformed header");
  }
  v1::InteractionEvent event;
  const absl::string_view payload = fields[kHeaderFields];
  if (!event.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::InternalError("stored event payload does not parse");
  }
  event.set_event_id(std::string(event_id));
  event.set_revision(revision);
  *event.mutable_occurred_at() = FromMicros(occurred);
  event.set_channel(static_cast<v1::Channel>(channel));
  event.set_kind(static_cast<v1::InteractionKind>(kind));
  int64_t amount = 0;
  if (!fields[4].empty() && absl::SimpleAtoi(fields[5], &amount)) {
    event.mutable_value()->set_currency(std::string(fields[4]));
    event.mutable_value()->set_amount_micros(amount);
  }
  int64_t satisfaction = 0;
  if (absl::SimpleAtoi(fields[6], &satisfaction)) {
    event.set_satisfaction(static_cast<double>(satisfaction) / 1000.0);
  }
  return event;
}

}  // namespace omnihub::timeline

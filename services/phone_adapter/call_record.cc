#include "services/phone_adapter/call_record.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/event_validation/event_validator.h"

namespace omnihub::phone {
namespace {

absl::Status SetTime(absl::string_view field, absl::Time time,
                     google::protobuf::Timestamp* out) {
  std::optional<google::protobuf::Timestamp> timestamp =
      timeline::ToEventTimestamp(time);
  if (!timestamp) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", absl::FormatTime(time), " ", timeline::kTimeOutOfRange));
  }
  *out = *timestamp;
  return absl::OkStatus();
}

int CountDigits(absl::string_view number) {
  int digits = 0;
  for (char c : number) digits += absl::ascii_isdigit(c) ? 1 : 0;
  return digits;
}

bool IsExtension(absl::string_view number, const CallEventOptions& options) {
  return CountDigits(number) <= options.max_extension_digits;
}

v1::InteractionKind KindOf(const CallRecord& call) {
  if (call.direction == v1::CallDetail::DIRECTION_OUTBOUND) {
    return v1::INTERACTION_KIND_OUTBOUND_CALL;
  }
  const bool answered =
      call.disposition == v1::CallDetail::DISPOSITION_ANSWERED ||
      (call.disposition == v1::CallDetail::DISPOSITION_UNSPECIFIED &&
       call.billable_seconds > 0);
  // A caller nobody spoke to (no answer, busy, abandoned, voicemail) is a
  // missed call: an interaction all the same.
  return answered ? v1::INTERACTION_KIND_INBOUND_CALL
                  : v1::INTERACTION_KIND_MISSED_CALL;
}

}  // namespace

absl::StatusOr<std::optional<v1::InteractionEvent>> CallToEvent(
    const CallRecord& call, const identity::IdentityNormalizer& normalizer,
    const CallEventOptions& options) {
  // The customer is the outside party: the caller of an inbound call, the
  // callee of an outbound one.
  const bool outbound = call.direction == v1::CallDetail::DIRECTION_OUTBOUND;
  std::pair<const char*, const std::string*> parties[] = {
      {"caller", &call.caller}, {"callee", &call.callee}};
  if (outbound) std::swap(parties[0], parties[1]);
  const char* customer_field = nullptr;
  const std::string* customer_number = nullptr;
  for (const auto& [field, number] : parties) {
    if (!number->empty() && !IsExtension(*number, options)) {
      customer_field = field;
      customer_number = number;
      break;
    }
  }
  if (customer_number == nullptr) return std::nullopt;  // internal call

  absl::StatusOr<std::string> phone =
      normalizer.Normalize(v1::IDENTITY_KIND_PHONE, *customer_number);
  if (!phone.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(customer_field, ": \"",
                                                   *customer_number, "\" ",
                                                   phone.status().message()));
  }
  std::pair<const char*, std::optional<absl::Time>> occurred = {
      "started_at", call.started_at};
  if (!occurred.second) occurred = {"answered_at", call.answered_at};
  if (!occurred.second) occurred = {"ended_at", call.ended_at};
  if (!occurred.second) {
    return absl::InvalidArgumentError("started_at: the call has no time");
  }

  v1::InteractionEvent event;
  event.set_event_id(absl::StrCat("call:", call.format, ":", call.call_id));
  if (absl::Status status = SetTime(occurred.first, *occurred.second,
                                    event.mutable_occurred_at());
      !status.ok()) {
    return status;
  }
  event.set_channel(v1::CHANNEL_PHONE);
  event.set_kind(KindOf(call));
  v1::Identity* identity = event.add_identities();
  identity->set_kind(v1::IDENTITY_KIND_PHONE);
  identity->set_value(*std::move(phone));
  event.set_source(absl::StrCat(options.source, "/", call.format));
  event.set_revision(call.revision);
  if (call.satisfaction) event.set_satisfaction(*call.satisfaction);

  v1::CallDetail& detail = *event.mutable_call();
  detail.set_call_id(call.call_id);
  detail.set_direction(call.direction);
  detail.set_from_number(call.caller);
  detail.set_to_number(call.callee);
  if (call.answered_at) {
    if (absl::Status status = SetTime("answered_at", *call.answered_at,
                                      detail.mutable_answered_at());
        !status.ok()) {
      return status;
    }
  }
  if (call.ended_at) {
    if (absl::Status status =
            SetTime("ended_at", *call.ended_at, detail.mutable_ended_at());
        !status.ok()) {
      return status;
    }
  }
  detail.set_duration_seconds(call.duration_seconds);
  detail.set_billable_seconds(call.billable_seconds);
  detail.set_disposition(call.disposition);
  detail.set_agent(call.agent);
  detail.set_queue(call.queue);
  detail.set_wrap_up_code(call.wrap_up_code);
  detail.set_recording_url(call.recording_url);
  return event;
}

}  // namespace omnihub::phone

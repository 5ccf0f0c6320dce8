#include "common/event_validation/event_validator.h"

#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace omnihub::timeline {
namespace {

using google::protobuf::util::TimeUtil;

std::optional<FieldViolation> Violation(absl::string_view prefix,
                                        absl::string_view field,
                                        std::string reason) {
  if (prefix.empty())
    return FieldViolation{std::string(field), std::move(reason)};
  return FieldViolation{absl::StrCat(prefix, ".", field), std::move(reason)};
}

std::string TooLong(size_t size, size_t limit) {
  return absl::StrCat("is ", size, " bytes; the limit is ", limit);
}

constexpr int64_t kMaxAmountMicros = 1'000'000'000'000'000LL;
constexpr int64_t kMaxQuantity = 1'000'000;

bool IsValidTimestamp(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() >= 0 &&
         timestamp.seconds() <= TimeUtil::kTimestampMaxSeconds &&
         timestamp.nanos() >= 0 && timestamp.nanos() <= 999999999;
}

bool IsCurrencyCode(absl::string_view code) {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (!absl::ascii_isupper(c)) return false;
  }
  return true;
}

// Which detail a channel's events may carry.
v1::InteractionEvent::DetailCase DetailOf(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_PHONE:
      return v1::InteractionEvent::kCall;
    case v1::CHANNEL_WEB:
      return v1::InteractionEvent::kWeb;
    case v1::CHANNEL_IN_PERSON:
      return v1::InteractionEvent::kInPerson;
    default:
      return v1::InteractionEvent::DETAIL_NOT_SET;
  }
}

}  // namespace

bool KindFitsChannel(v1::InteractionKind kind, v1::Channel channel) {
  switch (kind) {
    case v1::INTERACTION_KIND_INBOUND_CALL:
    case v1::INTERACTION_KIND_OUTBOUND_CALL:
    case v1::INTERACTION_KIND_MISSED_CALL:
      return channel == v1::CHANNEL_PHONE;
    case v1::INTERACTION_KIND_PAGE_VIEW:
    case v1::INTERACTION_KIND_FORM_SUBMITTED:
    case v1::INTERACTION_KIND_WEB_ACTION:
    case v1::INTERACTION_KIND_IDENTIFIED:
      return channel == v1::CHANNEL_WEB;
    case v1::INTERACTION_KIND_STORE_VISIT:
    case v1::INTERACTION_KIND_APPOINTMENT:
      return channel == v1::CHANNEL_IN_PERSON;
    case v1::INTERACTION_KIND_PURCHASE:
      return true;
    default:
      return false;
  }
}

EventValidator::EventValidator(IngestLimits limits,
                               const identity::IdentityNormalizer* normalizer)
    : limits_(std::move(limits)), normalizer_(normalizer) {}

std::optional<FieldViolation> EventValidator::ValidateEvent(
    v1::InteractionEvent& event, absl::Time now,
    absl::string_view prefix) const {
  event.clear_customer_id();
  event.clear_received_at();
  if (event.event_id().empty()) {
    return Violation(prefix, "event_id", "must be set");
  }
  if (event.event_id().size() > limits_.max_event_id_bytes) {
    return Violation(
        prefix, "event_id",
        TooLong(event.event_id().size(), limits_.max_event_id_bytes));
  }
  if (!identity::IsPrintableUtf8(event.event_id())) {
    return Violation(prefix, "event_id",
                     "must be valid UTF-8 without control characters");
  }
  if (!event.has_occurred_at()) {
    return Violation(prefix, "occurred_at", "must be set");
  }
  if (!IsValidTimestamp(event.occurred_at())) {
    return Violation(prefix, "occurred_at",
                     "is not a valid time after 1970-01-01");
  }
  const absl::Time occurred =
      absl::FromUnixSeconds(event.occurred_at().seconds()) +
      absl::Nanoseconds(event.occurred_at().nanos());
  if (occurred > now + limits_.max_future_skew) {
    return Violation(prefix, "occurred_at",
                     absl::StrCat("is ",
                                  absl::FormatDuration(absl::Trunc(
                                      occurred - now, absl::Seconds(1))),
                                  " in the future; at most ",
                                  absl::FormatDuration(limits_.max_future_skew),
                                  " of clock skew is allowed"));
  }
  if (!v1::Channel_IsValid(event.channel()) ||
      event.channel() == v1::CHANNEL_UNSPECIFIED) {
    return Violation(prefix, "channel",
                     absl::StrCat("must be a known channel, not ",
                                  static_cast<int>(event.channel())));
  }
  if (!v1::InteractionKind_IsValid(event.kind()) ||
      event.kind() == v1::INTERACTION_KIND_UNSPECIFIED) {
    return Violation(prefix, "kind",
                     absl::StrCat("must be a known kind, not ",
                                  static_cast<int>(event.kind())));
  }
  if (!KindFitsChannel(event.kind(), event.channel())) {
    return Violation(prefix, "kind",
                     absl::StrCat(v1::InteractionKind_Name(event.kind()),
                                  " does not happen on ",
                                  v1::Channel_Name(event.channel())));
  }
  if (event.detail_case() != v1::InteractionEvent::DETAIL_NOT_SET &&
      event.detail_case() != DetailOf(event.channel())) {
    return Violation(prefix, "detail",
                     absl::StrCat("does not match channel ",
                                  v1::Channel_Name(event.channel())));
  }
  if (auto violation = CheckIdentities(event, prefix)) return violation;
  return CheckPayload(event, prefix);
}

std::optional<FieldViolation> EventValidator::CheckIdentities(
    v1::InteractionEvent& event, absl::string_view prefix) const {
  return NormalizeIdentities(event.mutable_identities(), prefix);
}

std::optional<FieldViolation> EventValidator::NormalizeIdentities(
    google::protobuf::RepeatedPtrField<v1::Identity>* identities,
    absl::string_view prefix) const {
  if (identities->empty()) {
    return Violation(prefix, "identities",
                     "must name at least one identity of the customer");
  }
  if (static_cast<size_t>(identities->size()) >
      limits_.max_identities_per_event) {
    return Violation(
        prefix, "identities",
        absl::StrCat("has ", identities->size(), " identities; the limit is ",
                     limits_.max_identities_per_event));
  }
  // Each identity's place in `kept`.
  std::map<std::pair<int, std::string>, int> seen;
  google::protobuf::RepeatedPtrField<v1::Identity> kept;
  for (int i = 0; i < identities->size(); ++i) {
    const v1::Identity& identity = identities->Get(i);
    const std::string field = absl::StrCat("identities[", i, "]");
    if (!v1::IdentityKind_IsValid(identity.kind()) ||
        identity.kind() == v1::IDENTITY_KIND_UNSPECIFIED) {
      return Violation(prefix, absl::StrCat(field, ".kind"),
                       absl::StrCat("must be a known identity kind, not ",
                                    static_cast<int>(identity.kind())));
    }
    if (identity.value().size() > limits_.max_identity_value_bytes) {
      return Violation(
          prefix, absl::StrCat(field, ".value"),
          TooLong(identity.value().size(), limits_.max_identity_value_bytes));
    }
    absl::StatusOr<std::string> value =
        normalizer_->Normalize(identity.kind(), identity.value());
    if (!value.ok()) {
      return Violation(prefix, absl::StrCat(field, ".value"),
                       std::string(value.status().message()));
    }
    auto [first, added] = seen.emplace(
        std::make_pair(static_cast<int>(identity.kind()), *value), kept.size());
    if (!added) {
      // The same identity twice: verified only if every copy is.
      if (identity.unverified())
        kept.Mutable(first->second)->set_unverified(true);
      continue;
    }
    v1::Identity* normalized = kept.Add();
    normalized->set_kind(identity.kind());
    normalized->set_value(*std::move(value));
    normalized->set_unverified(identity.unverified());
  }
  identities->Swap(&kept);
  return std::nullopt;
}

std::optional<FieldViolation> EventValidator::CheckPayload(
    const v1::InteractionEvent& event, absl::string_view prefix) const {
  if (event.source().size() > limits_.max_source_bytes) {
    return Violation(prefix, "source",
                     TooLong(event.source().size(), limits_.max_source_bytes));
  }
  if (event.has_value()) {
    if (!IsCurrencyCode(event.value().currency())) {
      return Violation(prefix, "value.currency",
                       "must be an ISO 4217 code like \"EUR\"");
    }
    // One billion units at most: the view adds amounts up exactly in a
    // 64-bit integer, which then holds over nine thousand such events.
    if (std::llabs(event.value().amount_micros()) > kMaxAmountMicros) {
      return Violation(prefix, "value.amount_micros",
                       "is beyond one billion units (1e15 micros)");
    }
  }
  if (auto violation = CheckLineItems(event, prefix)) return violation;
  for (const auto& [field, time] :
       {std::make_pair("call.answered_at", &event.call().answered_at()),
        std::make_pair("call.ended_at", &event.call().ended_at()),
        std::make_pair("in_person.checked_in_at",
                       &event.in_person().checked_in_at()),
        std::make_pair("in_person.checked_out_at",
                       &event.in_person().checked_out_at())}) {
    if (time->ByteSizeLong() > 0 && !IsValidTimestamp(*time)) {
      return Violation(prefix, field, "is not a valid time after 1970-01-01");
    }
  }
  if (event.has_satisfaction() &&
      !(std::isfinite(event.satisfaction()) && event.satisfaction() >= 0 &&
        event.satisfaction() <= 10)) {
    return Violation(prefix, "satisfaction", "must be between 0 and 10");
  }
  if (static_cast<size_t>(event.attributes_size()) > limits_.max_attributes) {
    return Violation(
        prefix, "attributes",
        absl::StrCat("has ", event.attributes_size(),
                     " attributes; the limit is ", limits_.max_attributes));
  }
  for (const auto& [key, value] : event.attributes()) {
    if (key.empty() || key.size() > limits_.max_attribute_key_bytes) {
      return Violation(prefix, "attributes",
                       absl::StrCat("keys must be 1 to ",
                                    limits_.max_attribute_key_bytes, " bytes"));
    }
    if (value.size() > limits_.max_attribute_value_bytes) {
      return Violation(
          prefix, absl::StrCat("attributes[", key, "]"),
          TooLong(value.size(), limits_.max_attribute_value_bytes));
    }
  }
  const size_t size = event.ByteSizeLong();
  if (size > limits_.max_event_bytes) {
    return FieldViolation{
        std::string(prefix),
        absl::StrCat("the event is ", size, " bytes; the limit is ",
                     limits_.max_event_bytes)};
  }
  return std::nullopt;
}

std::optional<FieldViolation> EventValidator::CheckLineItems(
    const v1::InteractionEvent& event, absl::string_view prefix) const {
  if (event.line_items().empty()) return std::nullopt;
  if (event.kind() != v1::INTERACTION_KIND_PURCHASE) {
    return Violation(prefix, "line_items",
                     "only a PURCHASE event carries line items");
  }
  if (static_cast<size_t>(event.line_items_size()) > limits_.max_line_items) {
    return Violation(
        prefix, "line_items",
        absl::StrCat("has ", event.line_items_size(),
                     " line items; the limit is ", limits_.max_line_items));
  }
  // Every price in one currency: the event value's when it has one, else
  // the first priced line's.
  std::string currency =
      event.has_value() ? event.value().currency() : std::string();
  for (int i = 0; i < event.line_items_size(); ++i) {
    const v1::LineItem& item = event.line_items(i);
    const std::string field = absl::StrCat("line_items[", i, "]");
    if (item.sku().empty()) {
      return Violation(prefix, absl::StrCat(field, ".sku"), "must be set");
    }
    for (const auto& [name, text] :
         {std::make_pair("sku", &item.sku()),
          std::make_pair("name", &item.name()),
          std::make_pair("category", &item.category())}) {
      if (text->size() > limits_.max_line_item_field_bytes) {
        return Violation(
            prefix, absl::StrCat(field, ".", name),
            TooLong(text->size(), limits_.max_line_item_field_bytes));
      }
      if (!identity::IsPrintableUtf8(*text)) {
        return Violation(prefix, absl::StrCat(field, ".", name),
                         "must be valid UTF-8 without control characters");
      }
    }
    if (item.quantity() < 1 || item.quantity() > kMaxQuantity) {
      return Violation(prefix, absl::StrCat(field, ".quantity"),
                       absl::StrCat("must be between 1 and ", kMaxQuantity,
                                    ", got ", item.quantity()));
    }
    if (!item.has_unit_price()) continue;
    if (!IsCurrencyCode(item.unit_price().currency())) {
      return Violation(prefix, absl::StrCat(field, ".unit_price.currency"),
                       "must be an ISO 4217 code like \"EUR\"");
    }
    if (currency.empty()) {
      currency = item.unit_price().currency();
    } else if (item.unit_price().currency() != currency) {
      return Violation(
          prefix, absl::StrCat(field, ".unit_price.currency"),
          absl::StrCat("is ", item.unit_price().currency(),
                       "; every price of the purchase must be in ", currency));
    }
    if (item.unit_price().amount_micros() < 0 ||
        item.unit_price().amount_micros() > kMaxAmountMicros) {
      return Violation(prefix, absl::StrCat(field, ".unit_price.amount_micros"),
                       "must be between 0 and one billion units (1e15 micros)");
    }
  }
  return std::nullopt;
}

absl::Status EventValidator::ValidateIngestRequest(
    const v1::IngestRequest& request) const {
  if (request.events().empty()) {
    return absl::InvalidArgumentError("events: must hold at least one event");
  }
  if (static_cast<size_t>(request.events_size()) > limits_.max_batch_events) {
    return absl::InvalidArgumentError(absl::StrCat(
        "events: ", request.events_size(),
        " events in one request; the limit is ", limits_.max_batch_events));
  }
  if (request.request_id().size() > limits_.max_request_id_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_id: ",
        TooLong(request.request_id().size(), limits_.max_request_id_bytes)));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CustomerSelector> EventValidator::NormalizeCustomerSelector(
    const v1::CustomerSelector& selector, absl::string_view field) const {
  if (absl::Status status = ValidateCustomerSelector(selector, field);
      !status.ok()) {
    return status;
  }
  v1::CustomerSelector normalized = selector;
  if (selector.has_identity()) {
    absl::StatusOr<std::string> value = normalizer_->Normalize(
        selector.identity().kind(), selector.identity().value());
    if (!value.ok()) return value.status();
    normalized.mutable_identity()->set_value(*std::move(value));
  }
  return normalized;
}

absl::Status EventValidator::ValidateCustomerSelector(
    const v1::CustomerSelector& selector, absl::string_view field) const {
  switch (selector.selector_case()) {
    case v1::CustomerSelector::kCustomerId:
      if (selector.customer_id().empty() ||
          selector.customer_id().size() > limits_.max_customer_id_bytes ||
          !identity::IsPrintableUtf8(selector.customer_id())) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ".customer_id: must be 1 to ", limits_.max_customer_id_bytes,
            " printable characters"));
      }
      return absl::OkStatus();
    case v1::CustomerSelector::kIdentity: {
      const v1::Identity& identity = selector.identity();
      if (identity.value().size() > limits_.max_identity_value_bytes) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".identity.value: ",
                         TooLong(identity.value().size(),
                                 limits_.max_identity_value_bytes)));
      }
      absl::StatusOr<std::string> value =
          normalizer_->Normalize(identity.kind(), identity.value());
      if (!value.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".identity: ", value.status().message()));
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": must name a customer by customer_id or identity"));
  }
}

absl::Status EventValidator::ValidateTimelineRequest(
    const v1::GetTimelineRequest& request) const {
  if (absl::Status status =
          ValidateCustomerSelector(request.customer(), "customer");
      !status.ok()) {
    return status;
  }
  for (int channel : request.channels()) {
    if (!v1::Channel_IsValid(channel) || channel == v1::CHANNEL_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("channels: ", channel, " is not a known channel"));
    }
  }
  for (int kind : request.kinds()) {
    if (!v1::InteractionKind_IsValid(kind) ||
        kind == v1::INTERACTION_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("kinds: ", kind, " is not a known interaction kind"));
    }
  }
  if (request.has_start_time() && !IsValidTimestamp(request.start_time())) {
    return absl::InvalidArgumentError("start_time: is not a valid time");
  }
  if (request.has_end_time() && !IsValidTimestamp(request.end_time())) {
    return absl::InvalidArgumentError("end_time: is not a valid time");
  }
  if (request.has_start_time() && request.has_end_time() &&
      request.start_time() >= request.end_time()) {
    return absl::InvalidArgumentError("end_time: must be after start_time");
  }
  if (request.page_size() < 0 || request.page_size() > limits_.max_page_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: must be between 0 (default ", limits_.default_page_size,
        ") and ", limits_.max_page_size, ", got ", request.page_size()));
  }
  return absl::OkStatus();
}

std::optional<google::protobuf::Timestamp> ToEventTimestamp(absl::Time time) {
  if (time < absl::UnixEpoch() ||
      time >= absl::FromUnixSeconds(TimeUtil::kTimestampMaxSeconds + 1)) {
    return std::nullopt;
  }
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

}  // namespace omnihub::timeline

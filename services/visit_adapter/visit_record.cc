#include "services/visit_adapter/visit_record.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/event_validation/event_validator.h"
#include "common/json_fields/json_fields.h"

namespace omnihub::visit {
namespace {

// A visit field as the visit's sender names it: JSON nests the identities in
// an object, a CSV row has them as plain columns.
std::string SenderField(const VisitRecord& visit, std::string field) {
  constexpr absl::string_view kNested = "identities.";
  if (visit.format == "csv" && absl::StartsWith(field, kNested)) {
    field.erase(0, kNested.size());
  }
  return field;
}

absl::Status AddIdentities(const VisitRecord& visit,
                           const identity::IdentityNormalizer& normalizer,
                           v1::InteractionEvent& event) {
  struct Given {
    v1::IdentityKind kind;
    const std::string* value;
  };
  for (const Given& given :
       {Given{v1::IDENTITY_KIND_LOYALTY_CARD, &visit.loyalty_card},
        Given{v1::IDENTITY_KIND_PHONE, &visit.phone},
        Given{v1::IDENTITY_KIND_EMAIL, &visit.email},
        Given{v1::IDENTITY_KIND_CRM_ID, &visit.crm_id}}) {
    if (given.value->empty()) continue;
    absl::StatusOr<std::string> value =
        normalizer.Normalize(given.kind, *given.value);
    if (!value.ok()) {
      return json_fields::FieldError(
          visit.path,
          SenderField(visit,
                      absl::StrCat("identities.",
                                   identity::IdentityKindName(given.kind))),
          value.status().message());
    }
    v1::Identity* identity = event.add_identities();
    identity->set_kind(given.kind);
    identity->set_value(*std::move(value));
  }
  return absl::OkStatus();
}

// The identity field that `event_field` ("identities[2].value") points at,
// as a visit names it ("identities.email"); "" when it points at none.
std::string IdentityFieldOf(const v1::InteractionEvent& event,
                            absl::string_view event_field) {
  if (!absl::ConsumePrefix(&event_field, "identities[")) return "";
  const size_t close = event_field.find(']');
  int index = 0;
  if (close == absl::string_view::npos ||
      !absl::SimpleAtoi(event_field.substr(0, close), &index) || index < 0 ||
      index >= event.identities_size()) {
    return "";
  }
  return absl::StrCat("identities.", identity::IdentityKindName(
                                         event.identities(index).kind()));
}

}  // namespace

absl::StatusOr<v1::InteractionEvent> VisitToEvent(
    const VisitRecord& visit, const identity::IdentityNormalizer& normalizer) {
  v1::InteractionEvent event;
  event.set_event_id(
      absl::StrCat("visit:", visit.store_id, ":", visit.visit_id));
  event.set_source(absl::StrCat("visit-adapter/", visit.format));
  event.set_channel(v1::CHANNEL_IN_PERSON);
  // A visit at which the till took money (or that lists what was bought)
  // is a purchase, as one on the website is (what the insights count as
  // purchases); a return's amount is money given back, not a purchase.
  if ((visit.amount_micros || !visit.items.empty()) &&
      visit.purpose != "return") {
    event.set_kind(v1::INTERACTION_KIND_PURCHASE);
  } else if (visit.purpose == "appointment") {
    event.set_kind(v1::INTERACTION_KIND_APPOINTMENT);
  } else {
    event.set_kind(v1::INTERACTION_KIND_STORE_VISIT);
  }
  if (!visit.checked_in_at) {
    return VisitError(visit, event, "occurred_at", "must be set");
  }
  std::optional<google::protobuf::Timestamp> checked_in_at =
      timeline::ToEventTimestamp(*visit.checked_in_at);
  if (!checked_in_at) {
    return VisitError(visit, event, "occurred_at", timeline::kTimeOutOfRange);
  }
  std::optional<google::protobuf::Timestamp> checked_out_at;
  if (visit.checked_out_at) {
    checked_out_at = timeline::ToEventTimestamp(*visit.checked_out_at);
    if (!checked_out_at) {
      return VisitError(visit, event, "in_person.checked_out_at",
                        timeline::kTimeOutOfRange);
    }
  }
  *event.mutable_occurred_at() = *checked_in_at;
  if (absl::Status status = AddIdentities(visit, normalizer, event);
      !status.ok()) {
    return status;
  }

  v1::InPersonVisitDetail* detail = event.mutable_in_person();
  detail->set_visit_id(visit.visit_id);
  detail->set_location_id(visit.store_id);
  detail->set_staff_id(visit.staff_id);
  *detail->mutable_checked_in_at() = *checked_in_at;
  if (checked_out_at) *detail->mutable_checked_out_at() = *checked_out_at;
  detail->set_purpose(visit.purpose);
  detail->set_outcome(visit.outcome);
  if (visit.amount_micros) {
    event.mutable_value()->set_amount_micros(*visit.amount_micros);
    event.mutable_value()->set_currency(visit.currency);
  }
  if (event.kind() == v1::INTERACTION_KIND_PURCHASE) {
    for (const v1::LineItem& item : visit.items) *event.add_line_items() = item;
  }
  if (visit.satisfaction) event.set_satisfaction(*visit.satisfaction);
  // The store system's update time orders its records; without one, the
  // check-out record is the later, fuller one.
  event.set_revision(
      visit.updated_at
          ? static_cast<uint64_t>(absl::ToUnixMicros(*visit.updated_at))
          : (visit.checked_out_at ? 2 : 1));
  return event;
}

std::string VisitFieldOf(const v1::InteractionEvent& event,
                         absl::string_view event_field) {
  if (event_field == "event_id") return "visit_id";
  if (event_field == "occurred_at") return "checked_in_at";
  if (event_field == "in_person.checked_out_at") return "checked_out_at";
  if (event_field == "value.amount_micros") return "purchase_amount";
  if (event_field == "value.currency") return "currency";
  if (absl::StartsWith(event_field, "identities[")) {
    std::string identity = IdentityFieldOf(event, event_field);
    return identity.empty() ? "identities" : identity;
  }
  return std::string(event_field);
}

absl::Status VisitError(const VisitRecord& visit,
                        const v1::InteractionEvent& event,
                        absl::string_view event_field,
                        absl::string_view problem) {
  const std::string field =
      SenderField(visit, VisitFieldOf(event, event_field));
  // A CSV row's problem with the row as a whole has nothing to name: the row
  // is reported beside its line.
  if (visit.path.empty() && field.empty()) {
    return absl::InvalidArgumentError(problem);
  }
  return json_fields::FieldError(visit.path, field, problem);
}

std::string FieldOfMessage(absl::string_view message) {
  const size_t colon = message.find(": ");
  return colon == absl::string_view::npos
             ? ""
             : std::string(message.substr(0, colon));
}

}  // namespace omnihub::visit

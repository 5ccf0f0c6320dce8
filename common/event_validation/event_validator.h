// Checks everything that comes from outside before anything is stored, and
// says what is wrong in terms of the request's own fields.
//
//   EventValidator validator(IngestLimits{}, &normalizer);
//   if (auto violation = validator.ValidateEvent(event, absl::Now(),
//   "events[3]"))
//     // violation->field == "events[3].identities[0].value", ->reason == "..."
#ifndef OMNIHUB_COMMON_EVENT_VALIDATION_EVENT_VALIDATOR_H_
#define OMNIHUB_COMMON_EVENT_VALIDATION_EVENT_VALIDATOR_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/identity_normalizer.h"
#include "omnihub/v1/timeline.pb.h"

namespace omnihub::timeline {

// Every limit explicit; the service maps its flags onto these.
struct IngestLimits {
  size_t max_batch_events = 1000;
  size_t max_event_bytes = 16 * 1024;  // one serialized event
  size_t max_event_id_bytes = 128;
  size_t max_identities_per_event = 16;
  size_t max_identity_value_bytes = 256;
  size_t max_source_bytes = 128;
  size_t max_attributes = 32;
  size_t max_attribute_key_bytes = 64;
  size_t max_attribute_value_bytes = 1024;
  size_t max_line_items = 100;
  size_t max_line_item_field_bytes = 256;  // sku, name, category
  size_t max_request_id_bytes = 128;
  size_t max_customer_id_bytes = 64;
  absl::Duration max_future_skew = absl::Minutes(5);
  int default_page_size = 50;
  int max_page_size = 500;
};

struct FieldViolation {
  std::string field;
  std::string reason;
};

class EventValidator {
 public:
  EventValidator(IngestLimits limits,
                 const identity::IdentityNormalizer* normalizer);

  // Checks one event and normalises it in place: identity values normalised,
  // repeated identities dropped, server-filled fields cleared.
  std::optional<FieldViolation> ValidateEvent(
      v1::InteractionEvent& event, absl::Time now,
      absl::string_view field_prefix) const;

  // Checks identities and normalises them in place (values normalised,
  // repeats dropped); fields are named "<prefix>.identities[i].value".
  std::optional<FieldViolation> NormalizeIdentities(
      google::protobuf::RepeatedPtrField<v1::Identity>* identities,
      absl::string_view prefix) const;

  // Whole-request checks; INVALID_ARGUMENT naming the field.
  absl::Status ValidateIngestRequest(const v1::IngestRequest& request) const;
  absl::Status ValidateTimelineRequest(
      const v1::GetTimelineRequest& request) const;
  absl::Status ValidateCustomerSelector(const v1::CustomerSelector& selector,
                                        absl::string_view field) const;
  // Checks the selector and returns it with its identity's value
  // normalised, as stored.
  absl::StatusOr<v1::CustomerSelector> NormalizeCustomerSelector(
      const v1::CustomerSelector& selector, absl::string_view field) const;

  const IngestLimits& limits() const { return limits_; }

 private:
  std::optional<FieldViolation> CheckIdentities(v1::InteractionEvent& event,
                                                absl::string_view prefix) const;
  std::optional<FieldViolation> CheckLineItems(
      const v1::InteractionEvent& event, absl::string_view prefix) const;
  std::optional<FieldViolation> CheckPayload(const v1::InteractionEvent& event,
                                             absl::string_view prefix) const;

  IngestLimits limits_;
  const identity::IdentityNormalizer* normalizer_;
};

// True when the kind may happen on the channel.
bool KindFitsChannel(v1::InteractionKind kind, v1::Channel channel);

// A time as the contract stores it, or nullopt when the contract cannot hold
// it: before 1970 or after the year 9999. Adapters parse dates of any year
// (and a sender's clock arithmetic can run off either end), so they convert
// with this and reject the field rather than abort in protobuf.
std::optional<google::protobuf::Timestamp> ToEventTimestamp(absl::Time time);

// What a field outside ToEventTimestamp's range is told.
inline constexpr absl::string_view kTimeOutOfRange =
    "is outside the years 1970 to 9999";

}  // namespace omnihub::timeline

#endif  // OMNIHUB_COMMON_EVENT_VALIDATION_EVENT_VALIDATOR_H_

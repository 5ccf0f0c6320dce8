#include "common/event_validation/event_validator.h"

#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class EventValidatorTest : public ::testing::Test {
 protected:
  static v1::InteractionEvent Valid(v1::Channel channel = v1::CHANNEL_PHONE) {
    v1::InteractionEvent event;
    event.set_event_id("e-1");
    event.mutable_occurred_at()->set_seconds(1'799'999'000);
    event.set_channel(channel);
    switch (channel) {
      case v1::CHANNEL_WEB:
        event.set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
        event.mutable_web()->set_url("https://example.com/");
        break;
      case v1::CHANNEL_IN_PERSON:
        event.set_kind(v1::INTERACTION_KIND_STORE_VISIT);
        event.mutable_in_person()->set_location_id("s-1");
        break;
      default:
        event.set_kind(v1::INTERACTION_KIND_INBOUND_CALL);
        event.mutable_call()->set_call_id("c-1");
    }
    v1::Identity* identity = event.add_identities();
    identity->set_kind(v1::IDENTITY_KIND_EMAIL);
    identity->set_value("Ann@Example.com");
    return event;
  }

  // The violation for `event`, which the test expects there to be.
  FieldViolation Rejected(v1::InteractionEvent event) {
    std::optional<FieldViolation> violation =
        validator_.ValidateEvent(event, kNow, "events[2]");
    EXPECT_TRUE(violation.has_value());
    return violation.value_or(FieldViolation{});
  }

  IngestLimits limits_;
  identity::IdentityNormalizer normalizer_{{.default_region = "GB"}};
  EventValidator validator_{limits_, &normalizer_};
};

TEST_F(EventValidatorTest, ValidEventsOfEveryChannelPass) {
  for (v1::Channel channel :
       {v1::CHANNEL_PHONE, v1::CHANNEL_WEB, v1::CHANNEL_IN_PERSON}) {
    v1::InteractionEvent event = Valid(channel);
    EXPECT_FALSE(validator_.ValidateEvent(event, kNow, "events[0]").has_value())
        << v1::Channel_Name(channel);
  }
}

TEST_F(EventValidatorTest, NormalisesIdentitiesDropsRepeatsAndServerFields) {
  v1::InteractionEvent event = Valid();
  *event.add_identities() = event.identities(0);
  event.mutable_identities(1)->set_value(" ann@example.COM ");
  event.set_customer_id("forged");
  event.mutable_received_at()->set_seconds(5);
  ASSERT_FALSE(validator_.ValidateEvent(event, kNow, "e").has_value());
  ASSERT_EQ(event.identities_size(), 1);
  EXPECT_EQ(event.identities(0).value(), "ann@example.com");
  EXPECT_TRUE(event.customer_id().empty());
  EXPECT_FALSE(event.has_received_at());
}

// The hub resolves with what validation leaves: a claim must stay one.
TEST_F(EventValidatorTest, NormalisingKeepsWhetherAnIdentityIsUnverified) {
  v1::InteractionEvent event = Valid();
  event.mutable_identities(0)->set_unverified(true);
  v1::Identity* phone = event.add_identities();
  phone->set_kind(v1::IDENTITY_KIND_PHONE);
  phone->set_value("020 7183 8750");
  // The same identity again, once unverified: it is taken as unverified.
  *event.add_identities() = *phone;
  event.mutable_identities(2)->set_unverified(true);
  ASSERT_FALSE(validator_.ValidateEvent(event, kNow, "e").has_value());
  ASSERT_EQ(event.identities_size(), 2);
  EXPECT_TRUE(event.identities(0).unverified());
  EXPECT_EQ(event.identities(1).value(), "+442071838750");
  EXPECT_TRUE(event.identities(1).unverified());
}

TEST_F(EventValidatorTest, EventIdRules) {
  v1::InteractionEvent event = Valid();
  event.clear_event_id();
  FieldViolation violation = Rejected(event);
  EXPECT_EQ(violation.field, "events[2].event_id");
  EXPECT_EQ(violation.reason, "must be set");
  event.set_event_id(std::string(129, 'x'));
  EXPECT_NE(Rejected(event).reason.find("limit is 128"), std::string::npos);
  event.set_event_id("bad\x01id");
  EXPECT_EQ(Rejected(event).field, "events[2].event_id");
}

TEST_F(EventValidatorTest, OccurredAtRules) {
  v1::InteractionEvent event = Valid();
  event.clear_occurred_at();
  EXPECT_EQ(Rejected(event).field, "events[2].occurred_at");
  event.mutable_occurred_at()->set_seconds(-5);
  EXPECT_EQ(Rejected(event).field, "events[2].occurred_at");
  event.mutable_occurred_at()->set_seconds(1'800'000'000 + 3 * 86400);
  FieldViolation future = Rejected(event);
  EXPECT_NE(future.reason.find("in the future"), std::string::npos)
      << future.reason;
  // Within the allowed skew is fine.
  event.mutable_occurred_at()->set_seconds(1'800'000'000 + 60);
  EXPECT_FALSE(validator_.ValidateEvent(event, kNow, "e").has_value());
}

TEST_F(EventValidatorTest, TimesInsideTheDetailMustBeValid) {
  v1::InteractionEvent call = Valid(v1::CHANNEL_PHONE);
  call.mutable_call()->mutable_ended_at()->set_seconds(-1);
  EXPECT_EQ(Rejected(call).field, "events[2].call.ended_at");
  call.mutable_call()->mutable_ended_at()->set_seconds(1'800'000'000);
  call.mutable_call()->mutable_answered_at()->set_nanos(-3);
  EXPECT_EQ(Rejected(call).field, "events[2].call.answered_at");
  v1::InteractionEvent visit = Valid(v1::CHANNEL_IN_PERSON);
  visit.mutable_in_person()->mutable_checked_out_at()->set_seconds(
      400'000'000'000);
  EXPECT_EQ(Rejected(visit).field, "events[2].in_person.checked_out_at");
}

TEST_F(EventValidatorTest, ChannelKindAndDetailMustAgree) {
  v1::InteractionEvent event = Valid();
  event.set_channel(v1::CHANNEL_UNSPECIFIED);
  EXPECT_EQ(Rejected(event).field, "events[2].channel");
  event.set_channel(static_cast<v1::Channel>(99));
  EXPECT_EQ(Rejected(event).field, "events[2].channel");
  event = Valid();
  event.set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
  FieldViolation wrong_kind = Rejected(event);
  EXPECT_EQ(wrong_kind.field, "events[2].kind");
  EXPECT_NE(wrong_kind.reason.find("CHANNEL_PHONE"), std::string::npos);
  event = Valid();
  event.mutable_web()->set_url("https://example.com/");
  EXPECT_EQ(Rejected(event).field, "events[2].detail");
  event = Valid(v1::CHANNEL_WEB);
  event.set_kind(v1::INTERACTION_KIND_PURCHASE);
  EXPECT_FALSE(validator_.ValidateEvent(event, kNow, "e").has_value());
}

TEST_F(EventValidatorTest, IdentityRules) {
  v1::InteractionEvent event = Valid();
  event.clear_identities();
  EXPECT_EQ(Rejected(event).field, "events[2].identities");
  event = Valid();
  event.add_identities()->set_kind(v1::IDENTITY_KIND_UNSPECIFIED);
  EXPECT_EQ(Rejected(event).field, "events[2].identities[1].kind");
  event = Valid();
  event.mutable_identities(0)->set_value("not an email");
  FieldViolation bad = Rejected(event);
  EXPECT_EQ(bad.field, "events[2].identities[0].value");
  EXPECT_NE(bad.reason.find("e-mail"), std::string::npos);
  event = Valid();
  event.mutable_identities(0)->set_kind(v1::IDENTITY_KIND_LOGIN_ID);
  event.mutable_identities(0)->set_value(std::string(300, 'a'));
  EXPECT_NE(Rejected(event).reason.find("limit is 256"), std::string::npos);
  event = Valid();
  for (int i = 0; i < 17; ++i) {
    v1::Identity* identity = event.add_identities();
    identity->set_kind(v1::IDENTITY_KIND_CRM_ID);
    identity->set_value("crm-" + std::to_string(i));
  }
  EXPECT_NE(Rejected(event).reason.find("limit is 16"), std::string::npos);
}

TEST_F(EventValidatorTest, ValueSatisfactionSourceAndAttributes) {
  v1::InteractionEvent event = Valid();
  event.mutable_value()->set_currency("eur");
  EXPECT_EQ(Rejected(event).field, "events[2].value.currency");
  event.mutable_value()->set_currency("EUR");
  event.mutable_value()->set_amount_micros(2'000'000'000'000'000LL);
  EXPECT_EQ(Rejected(event).field, "events[2].value.amount_micros");
  event = Valid();
  event.set_satisfaction(11);
  EXPECT_EQ(Rejected(event).field, "events[2].satisfaction");
  event.set_satisfaction(std::nan(""));
  EXPECT_EQ(Rejected(event).field, "events[2].satisfaction");
  event = Valid();
  event.set_source(std::string(200, 's'));
  EXPECT_EQ(Rejected(event).field, "events[2].source");
  event = Valid();
  for (int i = 0; i < 33; ++i) {
    (*event.mutable_attributes())["k" + std::to_string(i)] = "v";
  }
  EXPECT_NE(Rejected(event).reason.find("33 attributes"), std::string::npos);
  event = Valid();
  (*event.mutable_attributes())["big"] = std::string(2000, 'v');
  EXPECT_EQ(Rejected(event).field, "events[2].attributes[big]");
  event = Valid();
  (*event.mutable_attributes())[""] = "v";
  EXPECT_EQ(Rejected(event).field, "events[2].attributes");
}

TEST_F(EventValidatorTest, LineItemRules) {
  v1::InteractionEvent event = Valid();
  event.set_kind(v1::INTERACTION_KIND_PURCHASE);
  event.mutable_value()->set_currency("EUR");
  event.mutable_value()->set_amount_micros(30'000'000);
  for (const char* sku : {"A-1", "B-2", "C-3"}) {
    v1::LineItem* item = event.add_line_items();
    item->set_sku(sku);
    item->set_category("shoes");
    item->set_quantity(1);
    item->mutable_unit_price()->set_currency("EUR");
    item->mutable_unit_price()->set_amount_micros(10'000'000);
  }
  v1::InteractionEvent valid = event;
  EXPECT_FALSE(validator_.ValidateEvent(valid, kNow, "events[2]").has_value());

  event.mutable_line_items(2)->mutable_unit_price()->set_currency("USD");
  FieldViolation violation = Rejected(event);
  EXPECT_EQ(violation.field, "events[2].line_items[2].unit_price.currency");
  EXPECT_NE(violation.reason.find("EUR"), std::string::npos);
  // Without an event value, the first priced line sets the currency.
  event.clear_value();
  EXPECT_EQ(Rejected(event).field,
            "events[2].line_items[2].unit_price.currency");
  event = valid;
  event.mutable_line_items(1)->mutable_unit_price()->set_currency("eur");
  EXPECT_EQ(Rejected(event).field,
            "events[2].line_items[1].unit_price.currency");
  event = valid;
  event.mutable_line_items(1)->mutable_unit_price()->set_amount_micros(-1);
  EXPECT_EQ(Rejected(event).field,
            "events[2].line_items[1].unit_price.amount_micros");
  event = valid;
  event.mutable_line_items(0)->set_quantity(0);
  EXPECT_EQ(Rejected(event).field, "events[2].line_items[0].quantity");
  event = valid;
  event.mutable_line_items(1)->clear_sku();
  EXPECT_EQ(Rejected(event).field, "events[2].line_items[1].sku");
  event = valid;
  event.mutable_line_items(1)->set_category(std::string(300, 'c'));
  EXPECT_EQ(Rejected(event).field, "events[2].line_items[1].category");
  event = valid;
  event.mutable_line_items(1)->set_name("bad\x01name");
  EXPECT_EQ(Rejected(event).field, "events[2].line_items[1].name");
  event = valid;
  for (int i = 0; i < 100; ++i) *event.add_line_items() = valid.line_items(0);
  violation = Rejected(event);
  EXPECT_EQ(violation.field, "events[2].line_items");
  EXPECT_NE(violation.reason.find("103 line items"), std::string::npos);
  // Only a purchase has line items.
  event = valid;
  event.set_kind(v1::INTERACTION_KIND_INBOUND_CALL);
  EXPECT_EQ(Rejected(event).field, "events[2].line_items");
}

TEST_F(EventValidatorTest, WholeEventSizeIsBounded) {
  limits_.max_event_bytes = 200;
  EventValidator small(limits_, &normalizer_);
  v1::InteractionEvent event = Valid();
  event.mutable_call()->set_recording_url(std::string(300, 'u'));
  std::optional<FieldViolation> violation =
      small.ValidateEvent(event, kNow, "events[0]");
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->field, "events[0]");
  EXPECT_NE(violation->reason.find("limit is 200"), std::string::npos);
}

TEST_F(EventValidatorTest, IngestRequestRules) {
  v1::IngestRequest request;
  EXPECT_EQ(validator_.ValidateIngestRequest(request).code(),
            absl::StatusCode::kInvalidArgument);
  for (int i = 0; i < 1001; ++i) *request.add_events() = Valid();
  absl::Status too_many = validator_.ValidateIngestRequest(request);
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.message().find("1001 events"), std::string::npos);
  request.mutable_events()->DeleteSubrange(0, 1);
  EXPECT_TRUE(validator_.ValidateIngestRequest(request).ok());
}

TEST_F(EventValidatorTest, TimelineRequestRules) {
  v1::GetTimelineRequest request;
  EXPECT_NE(
      validator_.ValidateTimelineRequest(request).message().find("customer"),
      std::string::npos);
  request.mutable_customer()->set_customer_id("c1");
  EXPECT_TRUE(validator_.ValidateTimelineRequest(request).ok());
  request.set_page_size(501);
  EXPECT_NE(
      validator_.ValidateTimelineRequest(request).message().find("page_size"),
      std::string::npos);
  request.set_page_size(10);
  request.add_channels(static_cast<v1::Channel>(42));
  EXPECT_NE(
      validator_.ValidateTimelineRequest(request).message().find("channels"),
      std::string::npos);
  request.clear_channels();
  request.mutable_start_time()->set_seconds(100);
  request.mutable_end_time()->set_seconds(50);
  EXPECT_NE(
      validator_.ValidateTimelineRequest(request).message().find("end_time"),
      std::string::npos);
  request.clear_start_time();
  request.clear_end_time();
  request.mutable_customer()->mutable_identity()->set_kind(
      v1::IDENTITY_KIND_PHONE);
  request.mutable_customer()->mutable_identity()->set_value("banana");
  EXPECT_NE(validator_.ValidateTimelineRequest(request).message().find(
                "customer.identity"),
            std::string::npos);
}

}  // namespace
}  // namespace omnihub::timeline

#include "services/timeline/stored_event.h"

#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

v1::InteractionEvent SampleEvent() {
  v1::InteractionEvent event;
  event.set_event_id("call-1");
  event.set_channel(v1::CHANNEL_PHONE);
  event.set_kind(v1::INTERACTION_KIND_INBOUND_CALL);
  *event.mutable_occurred_at() = FromMicros(1700000000123456);
  event.set_revision(42);
  event.mutable_value()->set_currency("EUR");
  event.mutable_value()->set_amount_micros(-12340000);
  event.set_satisfaction(8.5);
  v1::Identity* phone = event.add_identities();
  phone->set_kind(v1::IDENTITY_KIND_PHONE);
  phone->set_value("+442071838750");
  event.set_source("pbx");
  return event;
}

TEST(StoredEventTest, HeaderCarriesWhatTheScriptsRead) {
  EXPECT_EQ(StoredFieldsOf(SampleEvent()).header,
            "42|1700000000123456|1|1|EUR|-12340000|8500|");
}

TEST(StoredEventTest, HeaderWithoutValueOrSatisfaction) {
  v1::InteractionEvent event = SampleEvent();
  event.clear_value();
  event.clear_satisfaction();
  EXPECT_EQ(StoredFieldsOf(event).header, "42|1700000000123456|1|1||0||");
}

TEST(StoredEventTest, RevisionIsPlainDecimal) {
  v1::InteractionEvent event = SampleEvent();
  event.set_revision(18446744073709551615u);
  EXPECT_EQ(StoredFieldsOf(event).revision, "18446744073709551615");
  event.clear_revision();
  EXPECT_EQ(StoredFieldsOf(event).revision, "0");
}

TEST(StoredEventTest, RoundTripsAndLeavesTheHeadersFieldsOutOfThePayload) {
  const v1::InteractionEvent event = SampleEvent();
  const std::string stored = EncodeStoredEvent(event);
  absl::StatusOr<v1::InteractionEvent> back =
      DecodeStoredEvent("call-1", stored);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), event.SerializeAsString());
  // The payload holds neither the id nor the header's fields.
  EXPECT_EQ(stored.find("call-1"), std::string::npos);
  EXPECT_LT(stored.size(), StoredFieldsOf(event).header.size() +
                               event.SerializeAsString().size());
}

TEST(StoredEventTest, TrimmedEventDecodesToWhatItsHeaderKeeps) {
  const v1::InteractionEvent event = SampleEvent();
  absl::StatusOr<v1::InteractionEvent> header =
      DecodeStoredEvent("call-1", StoredFieldsOf(event).header);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->event_id(), "call-1");
  EXPECT_EQ(header->revision(), 42u);
  EXPECT_EQ(ToMicros(header->occurred_at()), 1700000000123456);
  EXPECT_EQ(header->channel(), v1::CHANNEL_PHONE);
  EXPECT_EQ(header->kind(), v1::INTERACTION_KIND_INBOUND_CALL);
  EXPECT_EQ(header->value().currency(), "EUR");
  EXPECT_EQ(header->value().amount_micros(), -12340000);
  EXPECT_DOUBLE_EQ(header->satisfaction(), 8.5);
  EXPECT_TRUE(header->identities().empty());

  v1::InteractionEvent plain = event;
  plain.clear_value();
  plain.clear_satisfaction();
  header = DecodeStoredEvent("call-1", StoredFieldsOf(plain).header);
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(header->has_value());
  EXPECT_FALSE(header->has_satisfaction());
}

TEST(StoredEventTest, GarbageIsInternal) {
  EXPECT_EQ(DecodeStoredEvent("x", "no header").status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(DecodeStoredEvent("x", "1|2|x|").status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(DecodeStoredEvent("x", "1|2|1|1||0||\xff\xff").status().code(),
            absl::StatusCode::kInternal);
}

TEST(StoredEventTest, MicrosRoundTrip) {
  EXPECT_EQ(ToMicros(FromMicros(1700000000123456)), 1700000000123456);
}

}  // namespace
}  // namespace omnihub::timeline

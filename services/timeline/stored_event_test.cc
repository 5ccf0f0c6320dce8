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
  return event;
}

TEST(StoredEventTest, HeaderCarriesWhatTheScriptsRead) {
  EXPECT_EQ(StoredFieldsOf(SampleEvent()).header,
            "00000000000000000042|1700000000123456|1|1|EUR|-12340000|8500|");
}

TEST(StoredEventTest, HeaderWithoutValueOrSatisfaction) {
  v1::InteractionEvent event = SampleEvent();
  event.clear_value();
  event.clear_satisfaction();
  EXPECT_EQ(StoredFieldsOf(event).header,
            "00000000000000000042|1700000000123456|1|1||0||");
}

TEST(StoredEventTest, RevisionOrderIsStringOrder) {
  v1::InteractionEvent low = SampleEvent();
  v1::InteractionEvent high = SampleEvent();
  low.set_revision(9);
  high.set_revision(18446744073709551615u);
  EXPECT_LT(StoredFieldsOf(low).revision, StoredFieldsOf(high).revision);
}

TEST(StoredEventTest, RoundTrips) {
  absl::StatusOr<v1::InteractionEvent> back =
      DecodeStoredEvent(EncodeStoredEvent(SampleEvent()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), SampleEvent().SerializeAsString());
}

TEST(StoredEventTest, TrimmedEventIsNotFoundAndGarbageIsInternal) {
  EXPECT_EQ(
      DecodeStoredEvent(StoredFieldsOf(SampleEvent()).header).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(DecodeStoredEvent("no header").status().code(),
            absl::StatusCode::kInternal);
}

TEST(StoredEventTest, TrimmedEventDecodesToWhatItsHeaderKeeps) {
  const v1::InteractionEvent event = SampleEvent();
  absl::StatusOr<v1::InteractionEvent> header =
      DecodeStoredEventOrHeader("call-1", StoredFieldsOf(event).header);
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
  header = DecodeStoredEventOrHeader("call-1", StoredFieldsOf(plain).header);
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(header->has_value());
  EXPECT_FALSE(header->has_satisfaction());
  // A whole stored event decodes whole.
  header = DecodeStoredEventOrHeader("call-1", EncodeStoredEvent(event));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->event_id(), "call-1");
  EXPECT_EQ(DecodeStoredEventOrHeader("x", "1|2|x|").status().code(),
            absl::StatusCode::kInternal);
}

TEST(StoredEventTest, MicrosRoundTrip) {
  EXPECT_EQ(ToMicros(FromMicros(1700000000123456)), 1700000000123456);
}

}  // namespace
}  // namespace omnihub::timeline

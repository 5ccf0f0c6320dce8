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

TEST(StoredEventTest, MicrosRoundTrip) {
  EXPECT_EQ(ToMicros(FromMicros(1700000000123456)), 1700000000123456);
}

}  // namespace
}  // namespace omnihub::timeline

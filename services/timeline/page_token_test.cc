#include "services/timeline/page_token.h"

#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

v1::GetTimelineRequest Request() {
  v1::GetTimelineRequest request;
  request.mutable_customer()->mutable_identity()->set_kind(
      v1::IDENTITY_KIND_EMAIL);
  request.mutable_customer()->mutable_identity()->set_value("ann@example.com");
  request.add_channels(v1::CHANNEL_PHONE);
  request.add_channels(v1::CHANNEL_WEB);
  return request;
}

TEST(PageTokenTest, RoundTrips) {
  const uint64_t fingerprint = TimelineFilterFingerprint(Request());
  const TimelineCursor cursor{1700000000123456, "evt/with\xC3\xA9|odd chars"};
  absl::StatusOr<TimelineCursor> back =
      DecodePageToken(EncodePageToken(cursor, fingerprint), fingerprint);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->occurred_at_micros, cursor.occurred_at_micros);
  EXPECT_EQ(back->event_id, cursor.event_id);
}

TEST(PageTokenTest, IsUrlSafe) {
  const std::string token =
      EncodePageToken({1, std::string(40, '\xFF')}, ~uint64_t{0});
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos) << token;
}

TEST(PageTokenTest, FingerprintIgnoresOrderAndPaging) {
  v1::GetTimelineRequest reordered = Request();
  reordered.clear_channels();
  reordered.add_channels(v1::CHANNEL_WEB);
  reordered.add_channels(v1::CHANNEL_PHONE);
  reordered.set_page_size(7);
  reordered.set_page_token("whatever");
  EXPECT_EQ(TimelineFilterFingerprint(reordered),
            TimelineFilterFingerprint(Request()));
}

TEST(PageTokenTest, FingerprintChangesWithEveryFilter) {
  const uint64_t base = TimelineFilterFingerprint(Request());
  v1::GetTimelineRequest other = Request();
  other.add_kinds(v1::INTERACTION_KIND_PAGE_VIEW);
  EXPECT_NE(TimelineFilterFingerprint(other), base);
  other = Request();
  other.mutable_start_time()->set_seconds(1);
  EXPECT_NE(TimelineFilterFingerprint(other), base);
  other = Request();
  other.mutable_end_time()->set_seconds(1);
  EXPECT_NE(TimelineFilterFingerprint(other), base);
  other = Request();
  other.mutable_customer()->mutable_identity()->set_value("bob@example.com");
  EXPECT_NE(TimelineFilterFingerprint(other), base);
  other = Request();
  other.mutable_customer()->set_customer_id("c1");
  EXPECT_NE(TimelineFilterFingerprint(other), base);
}

TEST(PageTokenTest, RejectsTokensForOtherFilters) {
  const std::string token = EncodePageToken({5, "e"}, 111);
  absl::StatusOr<TimelineCursor> cursor = DecodePageToken(token, 222);
  EXPECT_EQ(cursor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cursor.status().message().find("page_token"), std::string::npos);
}

TEST(PageTokenTest, RejectsGarbageTruncatedAndOtherVersions) {
  const std::string token = EncodePageToken({5, "event"}, 7);
  for (const std::string& bad :
       {std::string("not base64!"), std::string(""), token.substr(0, 10),
        std::string("AgAAAAAAAAAHAAAAAAAAAAVldmVudA")}) {  // version 2
    EXPECT_EQ(DecodePageToken(bad, 7).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace omnihub::timeline

#include "common/event_validation/ingest_limit_flags.h"

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

class IngestLimitFlagsTest : public ::testing::Test {
 private:
  absl::FlagSaver saver_;  // every test leaves the flags as it found them
};

TEST_F(IngestLimitFlagsTest, FlagsBecomeTheLimits) {
  absl::SetFlag(&FLAGS_max_event_bytes, 1500);
  absl::SetFlag(&FLAGS_max_identities, 3);
  absl::SetFlag(&FLAGS_max_attributes, 0);
  absl::SetFlag(&FLAGS_max_future_skew, absl::Seconds(30));
  absl::StatusOr<IngestLimits> limits = IngestLimitsFromFlags();
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ(limits->max_event_bytes, 1500u);
  EXPECT_EQ(limits->max_identities_per_event, 3u);
  EXPECT_EQ(limits->max_attributes, 0u);
  EXPECT_EQ(limits->max_future_skew, absl::Seconds(30));
  // The limits without flags keep the validator's defaults.
  EXPECT_EQ(limits->max_event_id_bytes, IngestLimits().max_event_id_bytes);
}

TEST_F(IngestLimitFlagsTest, NonsenseIsRefusedNamingTheFlag) {
  absl::SetFlag(&FLAGS_max_event_bytes, -1);
  EXPECT_THAT(std::string(IngestLimitsFromFlags().status().message()),
              ::testing::StartsWith("--max_event_bytes: -1 is not allowed"));
  absl::SetFlag(&FLAGS_max_event_bytes, 16384);
  absl::SetFlag(&FLAGS_max_identities, 0);
  EXPECT_THAT(std::string(IngestLimitsFromFlags().status().message()),
              ::testing::StartsWith("--max_identities: 0"));
  absl::SetFlag(&FLAGS_max_identities, 16);
  absl::SetFlag(&FLAGS_max_attributes, -5);
  EXPECT_THAT(std::string(IngestLimitsFromFlags().status().message()),
              ::testing::StartsWith("--max_attributes: -5"));
  absl::SetFlag(&FLAGS_max_attributes, 32);
  absl::SetFlag(&FLAGS_max_future_skew, absl::Seconds(-1));
  EXPECT_THAT(std::string(IngestLimitsFromFlags().status().message()),
              ::testing::StartsWith("--max_future_skew: -1s"));
  absl::SetFlag(&FLAGS_max_future_skew, absl::InfiniteDuration());
  EXPECT_EQ(IngestLimitsFromFlags().status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace omnihub::timeline

#include "common/csv/export_time.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omnihub::csv {
namespace {

using ::testing::HasSubstr;

class ExportTimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(absl::LoadTimeZone("Europe/Madrid", &madrid_));
  }
  static absl::Time Utc(int y, int m, int d, int hh, int mm, int ss = 0) {
    return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss),
                           absl::UTCTimeZone());
  }
  absl::TimeZone madrid_;
};

TEST_F(ExportTimeTest, OffsetTimesNeedNoZone) {
  EXPECT_EQ(*ParseExportTime("2026-11-20T10:00:00+01:00", std::nullopt, "-z"),
            Utc(2026, 11, 20, 9, 0));
  EXPECT_EQ(*ParseExportTime("2026-11-20 10:00:00Z", madrid_, "-z"),
            Utc(2026, 11, 20, 10, 0));
  EXPECT_EQ(*ParseExportTime(" 2026-11-20T10:00-05:00 ", madrid_, "-z"),
            Utc(2026, 11, 20, 15, 0));
}

TEST_F(ExportTimeTest, LocalTimesAreReadInTheZone) {
  // Winter: Madrid is UTC+1; summer: UTC+2.
  EXPECT_EQ(*ParseExportTime("2026-11-20 10:00", madrid_, "-z"),
            Utc(2026, 11, 20, 9, 0));
  EXPECT_EQ(*ParseExportTime("2026-07-01T10:00:30", madrid_, "-z"),
            Utc(2026, 7, 1, 8, 0, 30));
  EXPECT_EQ(*ParseExportTime("2026-07-01 10:00:30.250", madrid_, "-z"),
            Utc(2026, 7, 1, 8, 0, 30) + absl::Milliseconds(250));
}

TEST_F(ExportTimeTest, LocalTimeWithoutZoneNamesTheSetting) {
  absl::StatusOr<absl::Time> time =
      ParseExportTime("2026-11-20 10:00", std::nullopt, "--visit_time_zone");
  ASSERT_FALSE(time.ok());
  EXPECT_EQ(time.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(time.status().message(), HasSubstr("set --visit_time_zone"));
}

TEST_F(ExportTimeTest, AmbiguousAndImpossibleLocalTimesAreRefused) {
  // 2026-10-25 03:00 CEST became 02:00 CET: 02:30 happened twice.
  absl::StatusOr<absl::Time> twice =
      ParseExportTime("2026-10-25 02:30", madrid_, "-z");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("happened twice"));
  EXPECT_THAT(twice.status().message(), HasSubstr("2026-10-25T02:30:00+02:00"));
  // 2026-03-29 02:00 CET became 03:00 CEST: 02:30 never happened.
  absl::StatusOr<absl::Time> never =
      ParseExportTime("2026-03-29 02:30:00", madrid_, "-z");
  ASSERT_FALSE(never.ok());
  EXPECT_THAT(never.status().message(), HasSubstr("never happened"));
  // Just outside the changes, all is well.
  EXPECT_TRUE(ParseExportTime("2026-10-25 03:00", madrid_, "-z").ok());
  EXPECT_TRUE(ParseExportTime("2026-03-29 03:00", madrid_, "-z").ok());
}

TEST_F(ExportTimeTest, OtherShapesAreRefused) {
  EXPECT_THAT(
      ParseExportTime("20/11/2026 10:00", madrid_, "-z").status().message(),
      HasSubstr("day/month"));
  for (const char* bad : {"", "2026-11-20", "10:00", "tomorrow",
                          "2026-13-01 10:00", "2026-11-20 25:00"}) {
    EXPECT_FALSE(ParseExportTime(bad, madrid_, "-z").ok()) << bad;
  }
}

}  // namespace
}  // namespace omnihub::csv

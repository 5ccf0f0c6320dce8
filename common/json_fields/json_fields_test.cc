#include "common/json_fields/json_fields.h"

#include "gtest/gtest.h"

namespace omnihub::json_fields {
namespace {

using nlohmann::json;

std::string MessageOf(const absl::Status& status) {
  return std::string(status.message());
}

TEST(JsonFieldsTest, StringsAreCheckedForPresenceTypeAndSize) {
  const json object = {
      {"id", "a-1"}, {"n", 3}, {"empty", ""}, {"none", nullptr}};
  JsonFields in(object, "calls[2]");
  std::string out = "unchanged";
  EXPECT_TRUE(in.String("id", &out, true).ok());
  EXPECT_EQ(out, "a-1");
  EXPECT_EQ(MessageOf(in.String("n", &out, false)),
            "calls[2].n: must be a string");
  EXPECT_EQ(MessageOf(in.String("missing", &out, true)),
            "calls[2].missing: must be set");
  EXPECT_EQ(MessageOf(in.String("empty", &out, true)),
            "calls[2].empty: must be set");
  out = "unchanged";
  EXPECT_TRUE(in.String("none", &out, false).ok());
  EXPECT_EQ(out, "unchanged");
  EXPECT_EQ(MessageOf(in.String("id", &out, true, 2)),
            "calls[2].id: is longer than 2 bytes");
}

TEST(JsonFieldsTest, TimesMustBeRfc3339) {
  const json object = {{"at", "2026-11-20T09:30:00.5+01:00"},
                       {"bad", "20/11/2026"},
                       {"number", 1700000000}};
  JsonFields in(object, "visit");
  std::optional<absl::Time> at;
  ASSERT_TRUE(in.Time("at", &at, true).ok());
  EXPECT_EQ(absl::ToUnixMillis(*at), 1795163400500);
  EXPECT_NE(MessageOf(in.Time("bad", &at, true))
                .find("visit.bad: must be an RFC 3339"),
            std::string::npos);
  EXPECT_FALSE(in.Time("number", &at, true).ok());
  EXPECT_FALSE(in.Time("missing", &at, true).ok());
  EXPECT_TRUE(in.Time("missing", &at, false).ok());
}

TEST(JsonFieldsTest, IntegersStayInTheirRange) {
  const json object = {{"ok", 42},           {"negative", -1},
                       {"fraction", 1.5},    {"text", "42"},
                       {"huge", UINT64_MAX}, {"big", 9000000000}};
  JsonFields in(object, "r");
  int64_t out = 0;
  EXPECT_TRUE(in.Integer("ok", 0, 100, &out).ok());
  EXPECT_EQ(out, 42);
  EXPECT_EQ(MessageOf(in.Integer("negative", 0, 100, &out)),
            "r.negative: must be a whole number from 0 to 100");
  EXPECT_FALSE(in.Integer("fraction", 0, 100, &out).ok());
  EXPECT_FALSE(in.Integer("text", 0, 100, &out).ok());
  EXPECT_FALSE(in.Integer("huge", 0, INT64_MAX, &out).ok());
  EXPECT_FALSE(in.Integer("big", 0, 100, &out).ok());
  EXPECT_TRUE(in.Integer("big", 0, INT64_MAX, &out).ok());
  EXPECT_EQ(out, 9000000000);
  EXPECT_FALSE(in.Integer("ok", 50, 100, &out).ok());
}

TEST(JsonFieldsTest, SatisfactionIsScaledToTen) {
  std::optional<double> score;
  ASSERT_TRUE(
      JsonFields(json{{"satisfaction", 4}, {"satisfaction_scale", 5}}, "v")
          .Satisfaction(&score)
          .ok());
  EXPECT_DOUBLE_EQ(*score, 8.0);
  EXPECT_EQ(
      MessageOf(
          JsonFields(json{{"satisfaction", 11}}, "v").Satisfaction(&score)),
      "v.satisfaction: must be a number from 0 to 10");
  EXPECT_FALSE(
      JsonFields(json{{"satisfaction", 3}, {"satisfaction_scale", 0}}, "v")
          .Satisfaction(&score)
          .ok());
  EXPECT_FALSE(
      JsonFields(json{{"satisfaction", "9"}}, "v").Satisfaction(&score).ok());
}

TEST(JsonFieldsTest, ANonObjectHasNoFields) {
  const json array = json::array({1, 2});
  JsonFields in(array, "x");
  std::string out;
  EXPECT_FALSE(in.String("id", &out, true).ok());
  EXPECT_TRUE(in.String("id", &out, false).ok());
}

}  // namespace
}  // namespace omnihub::json_fields

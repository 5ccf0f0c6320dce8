#include "common/json_fields/json_body.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace omnihub::json_fields {
namespace {

using nlohmann::json;

std::string Nested(int depth, const std::string& inner = "1") {
  return absl::StrCat(std::string(depth, '['), inner, std::string(depth, ']'));
}

std::string MessageOf(const absl::StatusOr<json>& parsed) {
  return std::string(parsed.status().message());
}

TEST(JsonBodyTest, ParsesOrdinaryBodies) {
  absl::StatusOr<json> parsed =
      ParseJsonBody(R"({"a": [1, {"b": "x"}], "c": null})", {});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)["a"][1]["b"], "x");
  EXPECT_EQ(MessageOf(ParseJsonBody("{not json", {})),
            "body: is not valid JSON");
  EXPECT_EQ(MessageOf(ParseJsonBody("", {})), "body: is not valid JSON");
}

TEST(JsonBodyTest, TheLimitIsInclusive) {
  // {"p": [[1]]}: the object, then two arrays.
  const std::string three = absl::StrCat(R"({"p":)", Nested(2), "}");
  EXPECT_TRUE(ParseJsonBody(three, {.max_depth = 3}).ok());
  EXPECT_EQ(MessageOf(ParseJsonBody(three, {.max_depth = 2})),
            "p: nests arrays and objects deeper than the limit of 2");
  EXPECT_TRUE(ParseJsonBody("[]", {.max_depth = 1}).ok());
  EXPECT_TRUE(ParseJsonBody("7", {.max_depth = 0}).ok());
}

TEST(JsonBodyTest, NamesTheMemberThatGoesTooDeep) {
  const JsonBodyOptions track = {.max_depth = 4, .root = "track"};
  EXPECT_EQ(
      MessageOf(ParseJsonBody(
          absl::StrCat(R"({"properties":{"p":)", Nested(3), "}}"), track)),
      "track.properties.p: nests arrays and objects deeper than the "
      "limit of 4");
  // Through arrays: the index of the element, and the innermost key.
  EXPECT_EQ(MessageOf(ParseJsonBody(
                absl::StrCat(R"({"batch":[{"a":1},{"b":2,"c":[{"d":)",
                             Nested(5), "}]}]})"),
                {.max_depth = 6})),
            "batch[1].c[0].d: nests arrays and objects deeper than the limit "
            "of 6");
  // A document that is an array is named as one.
  const JsonBodyOptions calls = {
      .max_depth = 3, .root = "call", .root_array = "calls"};
  EXPECT_EQ(
      MessageOf(ParseJsonBody(
          absl::StrCat(R"([{"x":1},{"x":1},{"x":)", Nested(2), "}])"), calls)),
      "calls[2].x: nests arrays and objects deeper than the limit of 3");
  EXPECT_EQ(
      MessageOf(ParseJsonBody(absl::StrCat(R"({"x":)", Nested(3), "}"), calls)),
      "call.x: nests arrays and objects deeper than the limit of 3");
  // Nothing but arrays: no member to name, so the document.
  EXPECT_EQ(MessageOf(ParseJsonBody(Nested(4), calls)),
            "calls: nests arrays and objects deeper than the limit of 3");
  EXPECT_EQ(MessageOf(ParseJsonBody(Nested(4), {.max_depth = 3})),
            "body: nests arrays and objects deeper than the limit of 3");
  EXPECT_EQ(MessageOf(ParseJsonBody(absl::StrCat(R"([{"x":)", Nested(3), "}])"),
                                    {.max_depth = 3})),
            "body[0].x: nests arrays and objects deeper than the limit of 3");
}

TEST(JsonBodyTest, BracketsInStringsDoNotCount) {
  EXPECT_TRUE(
      ParseJsonBody(R"({"a":"[[[[{{{{","b":"\"[[[[["})", {.max_depth = 1})
          .ok());
  // A string ending in an escaped backslash ends at the next quote: what
  // follows is counted again.
  EXPECT_EQ(MessageOf(ParseJsonBody(
                absl::StrCat(R"({"a":"x\\","b":)", Nested(3), "}"),
                {.max_depth = 3})),
            "b: nests arrays and objects deeper than the limit of 3");
}

TEST(JsonBodyTest, LongKeysAreShortenedBetweenCharacters) {
  std::string key;
  for (int i = 0; i < 30; ++i) key += "\xE2\x82\xAC";  // the euro sign
  std::string shown;
  for (int i = 0; i < 21; ++i) shown += "\xE2\x82\xAC";  // 63 bytes
  EXPECT_EQ(MessageOf(ParseJsonBody(
                absl::StrCat(R"({")", key, R"(":)", Nested(2), "}"),
                {.max_depth = 2})),
            absl::StrCat(shown,
                         "...: nests arrays and objects deeper than "
                         "the limit of 2"));
}

TEST(JsonBodyTest, SyntaxErrorsBeforeTheLimitAreSyntaxErrors) {
  EXPECT_EQ(MessageOf(ParseJsonBody(absl::StrCat(R"({"a": tru )", Nested(9)),
                                    {.max_depth = 3})),
            "body: is not valid JSON");
  // Past the limit, the depth is what is reported.
  EXPECT_EQ(MessageOf(ParseJsonBody(
                absl::StrCat(R"({"a":)", std::string(5, '['), "oops"),
                {.max_depth = 3})),
            "a: nests arrays and objects deeper than the limit of 3");
}

TEST(JsonBodyTest, AHugelyNestedBodyIsRefusedWithoutRecursing) {
  // 200,000 levels: anything recursive over it would run out of stack.
  const std::string body =
      absl::StrCat(R"({"properties":{"p":)", Nested(200'000), "}}");
  absl::StatusOr<json> parsed = ParseJsonBody(body, {.root = "track"});
  EXPECT_EQ(MessageOf(parsed),
            "track.properties.p: nests arrays and objects deeper than the "
            "limit of 32");
  // Unbalanced, as an attacker need not close anything.
  parsed = ParseJsonBody(std::string(400'000, '['), {});
  EXPECT_EQ(MessageOf(parsed),
            "body: nests arrays and objects deeper than the limit of 32");
}

}  // namespace
}  // namespace omnihub::json_fields

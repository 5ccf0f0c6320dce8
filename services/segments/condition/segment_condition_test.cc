#include "services/segments/condition/segment_condition.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace omnihub::segments {
namespace {

v1::SegmentCondition Parse(const std::string& text) {
  v1::SegmentCondition condition;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &condition))
      << text;
  return condition;
}

std::string ErrorOf(const v1::SegmentCondition& condition,
                    ConditionLimits limits = {}) {
  absl::Status status = ValidateCondition(condition, limits, "condition");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  return std::string(status.message());
}

TEST(ValidateConditionTest, AcceptsAWellFormedTree) {
  EXPECT_TRUE(
      ValidateCondition(
          Parse(R"pb(
            all {
              conditions { lifecycle_stage { stages: LIFECYCLE_STAGE_ACTIVE } }
              conditions {
                negated {
                  last_interaction { channel: CHANNEL_WEB within_days: 30 }
                }
              }
              conditions {
                total_value { at_least { amount_micros: 1 currency: "EUR" } }
              }
            })pb"),
          {}, "condition")
          .ok());
}

TEST(ValidateConditionTest, NamesTheFieldAtFault) {
  EXPECT_EQ(
      ErrorOf(Parse(R"pb(
        all {
          conditions { identity_kind { kind: IDENTITY_KIND_EMAIL } }
          conditions { total_value { at_least { amount_micros: 5000000 } } }
        })pb")),
      "condition.all.conditions[1].total_value.at_least.currency: an "
      "amount needs its currency (ISO 4217, e.g. \"EUR\")");
  EXPECT_EQ(ErrorOf(Parse("any { conditions {} }")),
            "condition.any.conditions[0]: sets none of the conditions");
  EXPECT_EQ(ErrorOf(Parse("last_interaction { channel: CHANNEL_WEB }")),
            "condition.last_interaction: sets neither within_days nor "
            "not_within_days");
  EXPECT_EQ(
      ErrorOf(Parse("last_interaction { within_days: 0 }")),
      "condition.last_interaction.within_days: must be 1 to 3650 days, not 0");
  v1::SegmentCondition wrong_enum;
  wrong_enum.mutable_channel_count()->set_channel(static_cast<v1::Channel>(42));
  EXPECT_EQ(ErrorOf(wrong_enum),
            "condition.channel_count.channel: 42 is not a known channel");
  EXPECT_EQ(ErrorOf(Parse(R"pb(total_value {
                                 at_least { amount_micros: 1 currency: "EUR" }
                                 below { amount_micros: 9 currency: "USD" }
                               })pb")),
            "condition.total_value.below.currency: must be at_least's "
            "currency (one currency per condition)");
}

TEST(ValidateConditionTest, RefusesFieldsItDoesNotKnow) {
  v1::SegmentCondition condition = Parse(
      "all { conditions { identity_kind { kind: IDENTITY_KIND_PHONE } } }");
  // A field number this server has never defined, as a newer client would
  // send it.
  condition.mutable_all()
      ->mutable_conditions(0)
      ->mutable_identity_kind()
      ->GetReflection()
      ->MutableUnknownFields(condition.mutable_all()
                                 ->mutable_conditions(0)
                                 ->mutable_identity_kind())
      ->AddVarint(77, 1);
  EXPECT_EQ(ErrorOf(condition),
            "condition.all.conditions[0].identity_kind: has a field this "
            "server does not know (number 77)");
}

TEST(ValidateConditionTest, LimitsDepthAndSize) {
  v1::SegmentCondition deep =
      Parse("identity_kind { kind: IDENTITY_KIND_PHONE }");
  for (int i = 0; i < 3; ++i) {
    v1::SegmentCondition wrapped;
    *wrapped.mutable_negated() = deep;
    deep = wrapped;
  }
  EXPECT_EQ(ErrorOf(deep, {.max_depth = 3}),
            "condition.negated.negated.negated: the condition is nested "
            "deeper than 3 levels");
  v1::SegmentCondition wide;
  for (int i = 0; i < 5; ++i) {
    wide.mutable_any()->add_conditions()->mutable_identity_kind()->set_kind(
        v1::IDENTITY_KIND_PHONE);
  }
  EXPECT_EQ(ErrorOf(wide, {.max_nodes = 4}),
            "condition.any.conditions[3]: the condition has more than 4 nodes");
}

TEST(EvaluateTest, LastInteractionFlipsAtItsDeadline) {
  const absl::Time visit = absl::FromUnixSeconds(1700000000);
  CustomerFacts facts;
  facts.channel_last[v1::CHANNEL_WEB] = visit;
  facts.last_interaction = visit;
  const v1::SegmentCondition quiet =
      Parse("last_interaction { channel: CHANNEL_WEB not_within_days: 30 }");
  Verdict before = Evaluate(quiet, facts, visit + absl::Hours(24 * 29));
  EXPECT_FALSE(before.member);
  ASSERT_TRUE(before.next_change.has_value());
  EXPECT_EQ(*before.next_change, visit + absl::Hours(24 * 30));
  Verdict after = Evaluate(quiet, facts, *before.next_change);
  EXPECT_TRUE(after.member);
  EXPECT_FALSE(after.next_change.has_value());
  // Never visited: never within, always not within, and no deadline.
  Verdict never = Evaluate(
      Parse("last_interaction { channel: CHANNEL_PHONE within_days: 30 }"),
      facts, visit);
  EXPECT_FALSE(never.member);
  EXPECT_FALSE(never.next_change.has_value());
}

TEST(EvaluateTest, CombinesNodesAndKeepsEveryDeadline) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  CustomerFacts facts;
  facts.channel_counts[v1::CHANNEL_PHONE] = 3;
  facts.total_interactions = 3;
  facts.channel_last[v1::CHANNEL_PHONE] = now - absl::Hours(24);
  facts.last_interaction = now - absl::Hours(24);
  facts.value_micros["EUR"] = 5000000;
  facts.identity_kinds.insert(v1::IDENTITY_KIND_EMAIL);
  facts.lifecycle_stage = v1::LIFECYCLE_STAGE_NEW_CUSTOMER;
  facts.lifecycle_next_change = now + absl::Hours(24 * 60);
  const v1::SegmentCondition condition = Parse(R"pb(
    all {
      conditions {
        channel_count { channel: CHANNEL_PHONE at_least: 2 at_most: 3 }
      }
      conditions { identity_kind { kind: IDENTITY_KIND_EMAIL } }
      conditions {
        total_value {
          at_least { amount_micros: 5000000 currency: "EUR" }
          below { amount_micros: 6000000 currency: "EUR" }
        }
      }
      conditions {
        any {
          conditions { lifecycle_stage { stages: LIFECYCLE_STAGE_LAPSED } }
          conditions { last_interaction { within_days: 7 } }
        }
      }
    })pb");
  Verdict verdict = Evaluate(condition, facts, now);
  EXPECT_TRUE(verdict.member);
  EXPECT_EQ(verdict.next_change, now + absl::Hours(24 * 6));
  facts.value_micros["EUR"] = 6000000;
  EXPECT_FALSE(Evaluate(condition, facts, now).member);
  facts.value_micros["EUR"] = 5000000;
  facts.identity_kinds.clear();
  EXPECT_FALSE(Evaluate(condition, facts, now).member);
}

}  // namespace
}  // namespace omnihub::segments

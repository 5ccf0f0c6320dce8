#include "services/segments/condition/segment_condition.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/insights/purchase_model/bg_nbd.h"

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

TEST(ValidateConditionTest, NamesTheFieldOfTheInsightsAndKindConditions) {
  EXPECT_EQ(ErrorOf(Parse("probability_active { at_least: 1.5 }")),
            "condition.probability_active.at_least: must be 0 to 1 (a "
            "probability), not 1.5");
  EXPECT_EQ(ErrorOf(Parse("probability_active { below: -0.1 }")),
            "condition.probability_active.below: must be 0 to 1 (a "
            "probability), not -0.1");
  EXPECT_EQ(ErrorOf(Parse("probability_active { at_least: 0.5 below: 0.5 }")),
            "condition.probability_active.below: must be greater than "
            "at_least");
  EXPECT_EQ(ErrorOf(Parse("probability_active {}")),
            "condition.probability_active: sets neither at_least nor below");
  EXPECT_EQ(ErrorOf(Parse(
                R"pb(any {
                       conditions {
                         predicted_value { below { amount_micros: 5000000 } }
                       }
                     })pb")),
            "condition.any.conditions[0].predicted_value.below.currency: an "
            "amount needs its currency (ISO 4217, e.g. \"EUR\")");
  EXPECT_EQ(ErrorOf(Parse("predicted_value {}")),
            "condition.predicted_value: sets neither at_least nor below");
  EXPECT_EQ(ErrorOf(Parse("rfm_segment {}")),
            "condition.rfm_segment.segments: names no RFM segment");
  EXPECT_EQ(ErrorOf(Parse("rfm_segment { segments: RFM_SEGMENT_LOYAL "
                          "segments: RFM_SEGMENT_UNSPECIFIED }")),
            "condition.rfm_segment.segments[1]: 0 is not an RFM segment");
  v1::SegmentCondition unknown_segment;
  unknown_segment.mutable_rfm_segment()->add_segments(
      static_cast<v1::RfmSegment>(42));
  EXPECT_EQ(ErrorOf(unknown_segment),
            "condition.rfm_segment.segments[0]: 42 is not an RFM segment");
  EXPECT_EQ(ErrorOf(Parse("event_kind { at_least: 1 }")),
            "condition.event_kind.kind: 0 is not an interaction kind");
  EXPECT_EQ(ErrorOf(Parse("event_kind { kind: INTERACTION_KIND_PURCHASE "
                          "at_least: 2 at_most: 1 }")),
            "condition.event_kind.at_most: must not be less than at_least");
  EXPECT_TRUE(
      ValidateCondition(
          Parse(R"pb(
            all {
              conditions { rfm_segment { segments: RFM_SEGMENT_CHAMPIONS } }
              conditions { probability_active { below: 0.3 } }
              conditions {
                predicted_value {
                  at_least { amount_micros: 1 currency: "EUR" }
                }
              }
              conditions {
                event_kind { kind: INTERACTION_KIND_PURCHASE at_most: 0 }
              }
            })pb"),
          {}, "condition")
          .ok());
}

TEST(EvaluateTest, EventKindCountsTheKind) {
  CustomerFacts facts;
  facts.kind_counts[v1::INTERACTION_KIND_PURCHASE] = 2;
  const v1::SegmentCondition twice =
      Parse("event_kind { kind: INTERACTION_KIND_PURCHASE at_least: 2 }");
  const v1::SegmentCondition never_called =
      Parse("event_kind { kind: INTERACTION_KIND_INBOUND_CALL at_most: 0 }");
  const absl::Time now = absl::FromUnixSeconds(1767268800);
  EXPECT_TRUE(Evaluate(twice, facts, now).member);
  EXPECT_TRUE(Evaluate(never_called, facts, now).member);
  facts.kind_counts[v1::INTERACTION_KIND_PURCHASE] = 1;
  facts.kind_counts[v1::INTERACTION_KIND_INBOUND_CALL] = 1;
  EXPECT_FALSE(Evaluate(twice, facts, now).member);
  EXPECT_FALSE(Evaluate(never_called, facts, now).member);
  EXPECT_FALSE(Evaluate(twice, facts, now).next_change.has_value());
}

// A customer with a purchase of `micros` EUR on each of `days`.
std::shared_ptr<const insights::CustomerRecord> Buyer(
    const std::vector<int64_t>& days, int64_t micros) {
  insights::CustomerFields fields;
  for (int64_t day : days) {
    fields.purchase_days.emplace_back(absl::StrCat(day),
                                      absl::StrCat("1;EUR=", micros));
  }
  absl::StatusOr<insights::CustomerRecord> record =
      insights::CustomerRecord::FromFields(std::move(fields));
  EXPECT_TRUE(record.ok()) << record.status();
  return std::make_shared<const insights::CustomerRecord>(*record);
}

// The verdict on every day from `today` on, found by brute force: the first
// day it differs from today's, and that it agrees with `expected` on each.
std::optional<int64_t> FirstChangeByBruteForce(
    const v1::SegmentCondition& condition, const CustomerFacts& facts,
    int64_t today, int64_t days) {
  const bool member =
      Evaluate(condition, facts, insights::StartOfDay(today) + absl::Hours(9))
          .member;
  for (int64_t day = today + 1; day <= today + days; ++day) {
    if (Evaluate(condition, facts, insights::StartOfDay(day)).member !=
        member) {
      return day;
    }
  }
  return std::nullopt;
}

TEST(EvaluateTest, RfmSegmentIsTheInsightsScoreAndNamesTheDayItChanges) {
  auto boundaries = std::make_shared<insights::RfmBoundaries>();
  boundaries->customers = 100;
  boundaries->recency_days = {10, 20, 30, 40};
  boundaries->occasions = {1, 2, 3, 4};
  CustomerFacts facts;
  facts.record = Buyer({990, 992, 994, 996, 1000}, 1000000);
  const v1::SegmentCondition champions =
      Parse("rfm_segment { segments: RFM_SEGMENT_CHAMPIONS }");
  const v1::SegmentCondition sleeping = Parse(
      "rfm_segment { segments: RFM_SEGMENT_CANT_LOSE segments: "
      "RFM_SEGMENT_AT_RISK }");
  const absl::Time now = insights::StartOfDay(1005) + absl::Hours(9);
  // No boundaries yet: in no RFM segment.
  EXPECT_FALSE(Evaluate(champions, facts, now).member);
  facts.rfm = boundaries;
  Verdict verdict = Evaluate(champions, facts, now);
  EXPECT_EQ(verdict.member,
            insights::ScoreRfm(*boundaries, *facts.record, 1005)->segment ==
                insights::RfmSegment::kChampions);
  EXPECT_TRUE(verdict.member);
  // Recency 11 days: a recency score of 4, Loyal.
  EXPECT_EQ(verdict.next_change, insights::StartOfDay(1011));
  EXPECT_EQ(FirstChangeByBruteForce(champions, facts, 1005, 400), 1011);
  // Can't lose from 1031 (recency 2), with no change in between.
  verdict = Evaluate(sleeping, facts, now);
  EXPECT_FALSE(verdict.member);
  EXPECT_EQ(verdict.next_change, insights::StartOfDay(1031));
  EXPECT_EQ(FirstChangeByBruteForce(sleeping, facts, 1005, 400), 1031);
  verdict = Evaluate(sleeping, facts, insights::StartOfDay(1031));
  EXPECT_TRUE(verdict.member);
  EXPECT_FALSE(verdict.next_change.has_value());
  // A purchase dated ahead is a change on its day.
  facts.record = Buyer({990, 992, 994, 996, 1000, 1008}, 1000000);
  EXPECT_EQ(Evaluate(champions, facts, now).next_change,
            insights::StartOfDay(1008));
}

CustomerFacts ModelledFacts() {
  CustomerFacts facts;
  auto model = std::make_shared<insights::FittedModel>();
  // CDNOW's published parameters (Fader, Hardie and Lee 2005).
  model->purchases = {.r = 0.243, .alpha = 4.414, .a = 0.793, .b = 2.426};
  model->spend["EUR"] = {.p = 6.25, .q = 3.74, .gamma = 15.44};
  facts.model = model;
  facts.record = Buyer({1000, 1010, 1030}, 40000000);
  return facts;
}

TEST(EvaluateTest, ProbabilityActiveIsTheModelsAndNamesTheDayItIsCrossed) {
  CustomerFacts facts = ModelledFacts();
  const int64_t today = 1040;
  const absl::Time now = insights::StartOfDay(today) + absl::Hours(9);
  const double alive = insights::ProbabilityAlive(
      facts.model->purchases, facts.record->SummaryOn(today));
  ASSERT_GT(alive, 0.3);
  const v1::SegmentCondition fading =
      Parse("probability_active { below: 0.3 }");
  Verdict verdict = Evaluate(fading, facts, now);
  EXPECT_FALSE(verdict.member);
  const std::optional<int64_t> crossed =
      FirstChangeByBruteForce(fading, facts, today, 366);
  ASSERT_TRUE(crossed.has_value());
  EXPECT_EQ(verdict.next_change, insights::StartOfDay(*crossed));
  EXPECT_TRUE(Evaluate(fading, facts, insights::StartOfDay(*crossed)).member);
  EXPECT_LT(insights::ProbabilityAlive(facts.model->purchases,
                                       facts.record->SummaryOn(*crossed)),
            0.3);
  // A band: in it from one day, out of it from a later one.
  const v1::SegmentCondition band =
      Parse("probability_active { at_least: 0.2 below: 0.3 }");
  EXPECT_EQ(Evaluate(band, facts, now).next_change,
            insights::StartOfDay(*crossed));
  const std::optional<int64_t> left =
      FirstChangeByBruteForce(band, facts, *crossed, 366);
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(Evaluate(band, facts, insights::StartOfDay(*crossed)).next_change,
            insights::StartOfDay(*left));
  // No model, or a prospect: no probability, neither bound holds.
  CustomerFacts without = facts;
  without.model = nullptr;
  EXPECT_FALSE(
      Evaluate(Parse("probability_active { at_least: 0 }"), without, now)
          .member);
  EXPECT_TRUE(
      Evaluate(Parse("probability_active { at_least: 0 }"), facts, now).member);
}

TEST(EvaluateTest, PredictedValueIsTheInsightsAndNamesTheDayItIsCrossed) {
  CustomerFacts facts = ModelledFacts();
  const int64_t today = 1040;
  const absl::Time now = insights::StartOfDay(today) + absl::Hours(9);
  const std::vector<insights::CurrencyValue> values =
      insights::Predict(*facts.model, *facts.record, today, {}, facts.value)
          .value;
  ASSERT_EQ(values.size(), 1u);
  const int64_t micros = std::llround(values[0].lifetime_value * 1e6);
  // On the amount: at least it.
  v1::SegmentCondition worth =
      Parse(R"pb(predicted_value { at_least { currency: "EUR" } })pb");
  worth.mutable_predicted_value()->mutable_at_least()->set_amount_micros(
      micros);
  Verdict verdict = Evaluate(worth, facts, now);
  EXPECT_TRUE(verdict.member);
  // The value falls with time: out of it the next day.
  EXPECT_EQ(verdict.next_change, insights::StartOfDay(today + 1));
  worth.mutable_predicted_value()->mutable_at_least()->set_amount_micros(
      micros / 2);
  verdict = Evaluate(worth, facts, now);
  EXPECT_TRUE(verdict.member);
  const std::optional<int64_t> crossed =
      FirstChangeByBruteForce(worth, facts, today, 366);
  ASSERT_TRUE(crossed.has_value());
  EXPECT_EQ(verdict.next_change, insights::StartOfDay(*crossed));
  // Never bought in USD: a predicted value of zero there.
  EXPECT_TRUE(Evaluate(Parse(R"pb(predicted_value {
                                    below { amount_micros: 1 currency: "USD" }
                                  })pb"),
                       facts, now)
                  .member);
  // Bought in a currency the model has no spend model for: no value.
  auto no_spend_model = std::make_shared<insights::FittedModel>();
  no_spend_model->purchases = facts.model->purchases;
  facts.model = no_spend_model;
  EXPECT_FALSE(Evaluate(Parse(R"pb(predicted_value {
                                     below { amount_micros: 1 currency: "EUR" }
                                   })pb"),
                        facts, now)
                   .member);
}

}  // namespace
}  // namespace omnihub::segments

#include "services/insights/lifecycle/lifecycle.h"

#include <vector>

#include "absl/random/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omnihub::insights {
namespace {

using ::testing::ElementsAre;

// The BG/NBD parameters published for CDNOW (per week).
const BgNbdParams kCdnow{
    .r = 0.2425945, .alpha = 4.4136019, .a = 0.7929199, .b = 2.4258881};

TEST(LifecycleTest, InactivityRuleWithoutModel) {
  const LifecycleRules rules;  // at risk after 90 days, lapsed after 180
  const std::vector<int64_t> days = {10000, 10020};
  EXPECT_THAT(
      LifecycleHistory(days, 9990, 10400, rules),
      ElementsAre(Transition{10000, Stage::kProspect, Stage::kNewCustomer,
                             Reason::kFirstPurchase},
                  Transition{10020, Stage::kNewCustomer, Stage::kActive,
                             Reason::kRepeatPurchase},
                  Transition{10110, Stage::kActive, Stage::kAtRisk,
                             Reason::kInactivity},
                  Transition{10200, Stage::kAtRisk, Stage::kLapsed,
                             Reason::kInactivity}));
  EXPECT_EQ(StageOn(days, 9995, rules).stage, Stage::kProspect);
  EXPECT_EQ(StageOn(days, 10109, rules).stage, Stage::kActive);
  EXPECT_EQ(StageOn(days, 10110, rules).stage, Stage::kAtRisk);
  EXPECT_EQ(NextChangeByTime(days, 10050, rules), 10110);
  EXPECT_EQ(NextChangeByTime(days, 10110, rules), 10200);
  EXPECT_EQ(NextChangeByTime(days, 10200, rules), std::nullopt);
  EXPECT_EQ(NextChangeByTime({}, 10200, rules), std::nullopt);
}

TEST(LifecycleTest, HistoryStopsAtToday) {
  const LifecycleRules rules;
  EXPECT_THAT(
      LifecycleHistory({10000, 10020}, 9990, 10019, rules),
      ElementsAre(Transition{10000, Stage::kProspect, Stage::kNewCustomer,
                             Reason::kFirstPurchase}));
  EXPECT_THAT(LifecycleHistory({10000}, 9990, 9995, rules),
              ::testing::IsEmpty());
}

TEST(LifecycleTest, FirstInteractionIsAPurchase) {
  const LifecycleRules rules;
  EXPECT_THAT(
      LifecycleHistory({10000}, 10000, 10001, rules),
      ElementsAre(Transition{10000, Stage::kProspect, Stage::kNewCustomer,
                             Reason::kFirstPurchase}));
}

TEST(LifecycleTest, LapsedCustomerWhoBuysAgainIsReactivated) {
  const LifecycleRules rules;
  const std::vector<int64_t> days = {10000, 10300};
  EXPECT_THAT(
      LifecycleHistory(days, 10000, 10300, rules),
      ElementsAre(Transition{10000, Stage::kProspect, Stage::kNewCustomer,
                             Reason::kFirstPurchase},
                  Transition{10090, Stage::kNewCustomer, Stage::kAtRisk,
                             Reason::kInactivity},
                  Transition{10180, Stage::kAtRisk, Stage::kLapsed,
                             Reason::kInactivity},
                  Transition{10300, Stage::kLapsed, Stage::kActive,
                             Reason::kReactivated}));
}

TEST(LifecycleTest, ModelDecidesForRepeatBuyersOnly) {
  LifecycleRules rules;
  rules.model = kCdnow;
  // One purchase: P(alive) is 1 for ever under BG/NBD, so inactivity rules.
  EXPECT_EQ(StageOn({10000}, 10090, rules).stage, Stage::kAtRisk);
  EXPECT_EQ(StageOn({10000}, 10090, rules).why, Reason::kInactivity);

  const std::vector<int64_t> days = {10000, 10014, 10028};
  const std::optional<int64_t> at_risk = NextChangeByTime(days, 10028, rules);
  ASSERT_TRUE(at_risk.has_value());
  // The day found is the first whose probability is under the threshold.
  auto alive_on = [&](int64_t day) {
    return ProbabilityAlive(
        kCdnow, {.x = 2, .t_x = 28.0 / 7, .T = (day - 10000.0) / 7});
  };
  EXPECT_LT(alive_on(*at_risk), 0.5);
  EXPECT_GE(alive_on(*at_risk - 1), 0.5);
  EXPECT_EQ(StageOn(days, *at_risk - 1, rules).stage, Stage::kActive);
  const StageOnDay then = StageOn(days, *at_risk, rules);
  EXPECT_EQ(then.stage, Stage::kAtRisk);
  EXPECT_EQ(then.why, Reason::kModel);
  const std::optional<int64_t> lapsed = NextChangeByTime(days, *at_risk, rules);
  ASSERT_TRUE(lapsed.has_value());
  EXPECT_LT(alive_on(*lapsed), 0.2);
  EXPECT_GE(alive_on(*lapsed - 1), 0.2);
}

// The property the store relies on: the history says, for every day, what
// StageOn says for that day, and it changes only on purchase days or on the
// days NextChangeByTime announces.
TEST(LifecycleTest, HistoryAgreesWithStageOnEveryDay) {
  absl::BitGen random;
  for (bool with_model : {false, true}) {
    LifecycleRules rules;
    rules.at_risk_inactive_days = 30;
    rules.lapsed_inactive_days = 75;
    if (with_model) rules.model = kCdnow;
    for (int trial = 0; trial < 200; ++trial) {
      const int64_t first_seen = 20000 + absl::Uniform(random, 0, 50);
      std::vector<int64_t> days;
      int64_t day = first_seen + absl::Uniform(random, 0, 40);
      const int purchases = absl::Uniform(random, 0, 8);
      for (int i = 0; i < purchases; ++i) {
        days.push_back(day);
        day += 1 + absl::Uniform(random, 0, 150);
      }
      const int64_t today = first_seen + 700;
      const std::vector<Transition> history =
          LifecycleHistory(days, first_seen, today, rules);
      for (int64_t d = first_seen; d <= today; ++d) {
        ASSERT_EQ(StageFromHistory(history, first_seen, d),
                  StageOn(days, d, rules).stage)
            << "trial " << trial << " day " << d;
      }
      EXPECT_EQ(StageFromHistory(history, first_seen, first_seen - 1),
                std::nullopt);
    }
  }
}

TEST(LifecycleTest, HistoryEncodesAndDecodes) {
  const std::vector<Transition> history = {
      {10000, Stage::kProspect, Stage::kNewCustomer, Reason::kFirstPurchase},
      {10300, Stage::kLapsed, Stage::kActive, Reason::kReactivated}};
  const std::string text = EncodeHistory(history);
  EXPECT_EQ(text, "10000:1:2:1;10300:5:3:3;");
  absl::StatusOr<std::vector<Transition>> decoded = DecodeHistory(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, history);
  EXPECT_TRUE(DecodeHistory("").ok());
  EXPECT_FALSE(DecodeHistory("10000:1:9:1;").ok());
  EXPECT_FALSE(DecodeHistory("x:1:2:1;").ok());
}

TEST(LifecycleTest, RulesAreValidated) {
  LifecycleRules rules;
  EXPECT_TRUE(rules.Validate().ok());
  rules.lapsed_inactive_days = rules.at_risk_inactive_days;
  EXPECT_THAT(rules.Validate().message(),
              ::testing::HasSubstr("lapsed_inactive_days"));
  rules = {};
  rules.lapsed_probability = 0.6;
  EXPECT_THAT(rules.Validate().message(),
              ::testing::HasSubstr("lapsed_probability"));
  rules = {};
  EXPECT_EQ(rules.Fingerprint(), LifecycleRules{}.Fingerprint());
  rules.model = kCdnow;
  EXPECT_NE(rules.Fingerprint(), LifecycleRules{}.Fingerprint());
}

}  // namespace
}  // namespace omnihub::insights

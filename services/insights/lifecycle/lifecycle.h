// A customer's lifecycle as a function of what it bought: its stage on any
// day, the next day its stage changes by the passage of time alone, and
// every change from the day it was first seen to today.
//
// Time is counted in whole UTC days (days since 1970-01-01), as purchase
// occasions are. On day d the customer has bought on its purchase days up to
// and including d:
//   no purchase                       PROSPECT
//   LAPSED rule met                   LAPSED
//   AT_RISK rule met                  AT_RISK
//   otherwise, one purchase day       NEW_CUSTOMER
//   otherwise                         ACTIVE
// With a model, customers with a repeat purchase are at risk or lapsed when
// the BG/NBD probability that they are still active, with the age T measured
// to day d, falls below a threshold; without one, and for customers with one
// purchase day (BG/NBD puts their probability at 1 for ever), when the days
// since their last purchase reach a threshold.
//
//   LifecycleRules rules;  // inactivity rules only
//   std::vector<Transition> history =
//       LifecycleHistory({10000, 10020}, /*first_seen_day=*/9990,
//                        /*today=*/10400, rules);
//   // PROSPECT->NEW_CUSTOMER on 10000, ->ACTIVE on 10020, ->AT_RISK on
//   // 10110, ->LAPSED on 10200.
#ifndef OMNIHUB_SERVICES_INSIGHTS_LIFECYCLE_LIFECYCLE_H_
#define OMNIHUB_SERVICES_INSIGHTS_LIFECYCLE_LIFECYCLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/insights/purchase_model/bg_nbd.h"

namespace omnihub::insights {

// The numbers are those of omnihub.v1.LifecycleStage and
// LifecycleTransition.Reason.
enum class Stage {
  kProspect = 1,
  kNewCustomer = 2,
  kActive = 3,
  kAtRisk = 4,
  kLapsed = 5,
};

enum class Reason {
  kFirstPurchase = 1,
  kRepeatPurchase = 2,
  kReactivated = 3,
  kInactivity = 4,
  kModel = 5,
};

struct Transition {
  int64_t day = 0;
  Stage from = Stage::kProspect;
  Stage to = Stage::kProspect;
  Reason reason = Reason::kFirstPurchase;

  friend bool operator==(const Transition&, const Transition&) = default;
};

struct LifecycleRules {
  // Days since the last purchase after which a customer is at risk, and
  // lapsed.
  int at_risk_inactive_days = 90;
  int lapsed_inactive_days = 180;
  // With a model: probability of being active under which a customer with a
  // repeat purchase is at risk, and lapsed.
  double at_risk_probability = 0.5;
  double lapsed_probability = 0.2;
  // The BG/NBD model, per model time unit of kDaysPerModelUnit days; unset:
  // the inactivity rule for everyone.
  std::optional<BgNbdParams> model;

  // INVALID_ARGUMENT naming the rule when the thresholds are out of range or
  // in the wrong order.
  absl::Status Validate() const;
  // A short text that differs whenever the rules give other answers: to
  // tell when every customer must be evaluated again.
  std::string Fingerprint() const;
};

// The model's parameters are per week, as published.
inline constexpr double kDaysPerModelUnit = 7;

// `purchase_days` below: the customer's purchase days, ascending, distinct.

// What a customer is on `day`, counting purchases up to and including it;
// `why` is the rule that made it AT_RISK or LAPSED.
struct StageOnDay {
  Stage stage = Stage::kProspect;
  Reason why = Reason::kInactivity;
};
StageOnDay StageOn(absl::Span<const int64_t> purchase_days, int64_t day,
                   const LifecycleRules& rules);

// The first day after `day` on which the stage changes if the customer buys
// nothing more; nullopt when it never does (a prospect, a lapsed customer).
std::optional<int64_t> NextChangeByTime(absl::Span<const int64_t> purchase_days,
                                        int64_t day,
                                        const LifecycleRules& rules);

// Every change of stage from `first_seen_day` (the customer's first
// interaction; a prospect from then until its first purchase) up to and
// including `today`, oldest first. Purchases after today are not counted.
std::vector<Transition> LifecycleHistory(
    absl::Span<const int64_t> purchase_days, int64_t first_seen_day,
    int64_t today, const LifecycleRules& rules);

// The stage on `day` by a history: PROSPECT from `first_seen_day`, then each
// transition from its day on. nullopt before `first_seen_day` (the customer
// was not known yet). A history cut short (its oldest transitions dropped)
// starts from its first transition's `from`.
std::optional<Stage> StageFromHistory(absl::Span<const Transition> history,
                                      int64_t first_seen_day, int64_t day);

// Customers who have bought and not lapsed.
inline bool IsActive(Stage stage) {
  return stage == Stage::kNewCustomer || stage == Stage::kActive ||
         stage == Stage::kAtRisk;
}

absl::string_view StageName(Stage stage);
absl::string_view ReasonName(Reason reason);

// A history as stored: "day:from:to:reason;..." (numbers), and back.
std::string EncodeHistory(absl::Span<const Transition> history);
absl::StatusOr<std::vector<Transition>> DecodeHistory(absl::string_view text);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_LIFECYCLE_LIFECYCLE_H_

#include "services/insights/lifecycle/lifecycle.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace omnihub::insights {
namespace {

// How far a stage is from buying: a later stage by time alone is worse.
int Rank(Stage stage) {
  switch (stage) {
    case Stage::kProspect:
      return 0;
    case Stage::kNewCustomer:
    case Stage::kActive:
      return 1;
    case Stage::kAtRisk:
      return 2;
    case Stage::kLapsed:
      return 3;
  }
  return 0;
}

// The purchase days up to and including `day`.
absl::Span<const int64_t> DaysUpTo(absl::Span<const int64_t> purchase_days,
                                   int64_t day) {
  const auto end =
      std::upper_bound(purchase_days.begin(), purchase_days.end(), day);
  return purchase_days.first(end - purchase_days.begin());
}

double ProbabilityAliveOn(const BgNbdParams& model,
                          absl::Span<const int64_t> bought, int64_t day) {
  const double first = static_cast<double>(bought.front());
  return ProbabilityAlive(
      model, PurchaseSummary{
                 .x = static_cast<double>(bought.size() - 1),
                 .t_x = (static_cast<double>(bought.back()) - first) /
                        kDaysPerModelUnit,
                 .T = (static_cast<double>(day) - first) / kDaysPerModelUnit});
}

bool UsesModel(const LifecycleRules& rules, size_t purchase_days) {
  return rules.model.has_value() && purchase_days >= 2;
}

// The first day on which the probability of being active of a customer who
// bought on `bought` (and nothing after) is below `threshold`; nullopt when
// it never is.
std::optional<int64_t> FirstDayBelow(const BgNbdParams& model,
                                     absl::Span<const int64_t> bought,
                                     double threshold) {
  const double x = static_cast<double>(bought.size() - 1);
  const double t_x =
      static_cast<double>(bought.back() - bought.front()) / kDaysPerModelUnit;
  std::optional<double> age =
      AgeWhenProbabilityAliveFallsBelow(model, x, t_x, threshold);
  if (!age.has_value() || !std::isfinite(*age)) return std::nullopt;
  // The closed form is continuous; the answer is a whole day, checked with
  // the probability itself so rounding cannot put it a day off.
  const double days =
      std::max(*age * kDaysPerModelUnit,
               static_cast<double>(bought.back() - bought.front()));
  if (days > 1e7) return std::nullopt;  // tens of thousands of years
  int64_t day = bought.front() + static_cast<int64_t>(std::ceil(days - 1e-9));
  day = std::max(day, bought.back());
  while (day > bought.back() &&
         ProbabilityAliveOn(model, bought, day - 1) < threshold) {
    --day;
  }
  for (int guard = 0;
       guard < 4 && ProbabilityAliveOn(model, bought, day) >= threshold;
       ++guard) {
    ++day;
  }
  return day;
}

Reason ReasonFor(Stage from, Stage to, bool bought_that_day, Reason why) {
  if (Rank(to) > Rank(from) && Rank(to) >= 2) return why;
  if (!bought_that_day) return why;
  if (from == Stage::kProspect) return Reason::kFirstPurchase;
  if (from == Stage::kLapsed) return Reason::kReactivated;
  return Reason::kRepeatPurchase;
}

}  // namespace

absl::Status LifecycleRules::Validate() const {
  if (at_risk_inactive_days < 1) {
    return absl::InvalidArgumentError(
        "at_risk_inactive_days: must be at least 1");
  }
  if (lapsed_inactive_days <= at_risk_inactive_days) {
    return absl::InvalidArgumentError(
        "lapsed_inactive_days: must be more than at_risk_inactive_days");
  }
  if (!(at_risk_probability > 0 && at_risk_probability < 1)) {
    return absl::InvalidArgumentError(
        "at_risk_probability: must be between 0 and 1");
  }
  if (!(lapsed_probability > 0 && lapsed_probability < at_risk_probability)) {
    return absl::InvalidArgumentError(
        "lapsed_probability: must be between 0 and at_risk_probability");
  }
  return absl::OkStatus();
}

std::string LifecycleRules::Fingerprint() const {
  std::string text = absl::StrFormat("days=%d/%d", at_risk_inactive_days,
                                     lapsed_inactive_days);
  if (model.has_value()) {
    absl::StrAppendFormat(&text, " p=%.17g/%.17g model=%.17g,%.17g,%.17g,%.17g",
                          at_risk_probability, lapsed_probability, model->r,
                          model->alpha, model->a, model->b);
  }
  return text;
}

StageOnDay StageOn(absl::Span<const int64_t> purchase_days, int64_t day,
                   const LifecycleRules& rules) {
  const absl::Span<const int64_t> bought = DaysUpTo(purchase_days, day);
  if (bought.empty()) return {.stage = Stage::kProspect};
  if (UsesModel(rules, bought.size())) {
    const double alive = ProbabilityAliveOn(*rules.model, bought, day);
    if (alive < rules.lapsed_probability) {
      return {.stage = Stage::kLapsed, .why = Reason::kModel};
    }
    if (alive < rules.at_risk_probability) {
      return {.stage = Stage::kAtRisk, .why = Reason::kModel};
    }
  } else {
    const int64_t idle = day - bought.back();
    if (idle >= rules.lapsed_inactive_days) return {.stage = Stage::kLapsed};
    if (idle >= rules.at_risk_inactive_days) return {.stage = Stage::kAtRisk};
  }
  return {.stage = bought.size() == 1 ? Stage::kNewCustomer : Stage::kActive};
}

std::optional<int64_t> NextChangeByTime(absl::Span<const int64_t> purchase_days,
                                        int64_t day,
                                        const LifecycleRules& rules) {
  const absl::Span<const int64_t> bought = DaysUpTo(purchase_days, day);
  if (bought.empty()) return std::nullopt;
  std::vector<int64_t> changes;
  if (UsesModel(rules, bought.size())) {
    for (double threshold :
         {rules.at_risk_probability, rules.lapsed_probability}) {
      if (std::optional<int64_t> below =
              FirstDayBelow(*rules.model, bought, threshold)) {
        changes.push_back(*below);
      }
    }
  } else {
    changes = {bought.back() + rules.at_risk_inactive_days,
               bought.back() + rules.lapsed_inactive_days};
  }
  std::optional<int64_t> next;
  for (int64_t change : changes) {
    if (change > day && (!next.has_value() || change < *next)) next = change;
  }
  return next;
}

std::vector<Transition> LifecycleHistory(
    absl::Span<const int64_t> purchase_days, int64_t first_seen_day,
    int64_t today, const LifecycleRules& rules) {
  std::vector<Transition> history;
  if (!purchase_days.empty()) {
    first_seen_day = std::min(first_seen_day, purchase_days.front());
  }
  Stage stage = Stage::kProspect;
  auto move_to = [&](int64_t day) {
    const StageOnDay now = StageOn(purchase_days, day, rules);
    if (now.stage == stage) return;
    const bool bought =
        std::binary_search(purchase_days.begin(), purchase_days.end(), day);
    history.push_back({.day = day,
                       .from = stage,
                       .to = now.stage,
                       .reason = ReasonFor(stage, now.stage, bought, now.why)});
    stage = now.stage;
  };
  int64_t day = first_seen_day;
  if (day > today) return history;
  move_to(day);
  while (true) {
    std::optional<int64_t> next = NextChangeByTime(purchase_days, day, rules);
    const auto later =
        std::upper_bound(purchase_days.begin(), purchase_days.end(), day);
    if (later != purchase_days.end() && (!next.has_value() || *later < *next)) {
      next = *later;
    }
    if (!next.has_value() || *next > today) break;
    day = *next;
    move_to(day);
  }
  return history;
}

std::optional<Stage> StageFromHistory(absl::Span<const Transition> history,
                                      int64_t first_seen_day, int64_t day) {
  if (day < first_seen_day && (history.empty() || day < history.front().day)) {
    return std::nullopt;
  }
  Stage stage = history.empty() ? Stage::kProspect : history.front().from;
  for (const Transition& transition : history) {
    if (transition.day > day) break;
    stage = transition.to;
  }
  return stage;
}

absl::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kProspect:
      return "prospect";
    case Stage::kNewCustomer:
      return "new_customer";
    case Stage::kActive:
      return "active";
    case Stage::kAtRisk:
      return "at_risk";
    case Stage::kLapsed:
      return "lapsed";
  }
  return "unknown";
}

absl::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kFirstPurchase:
      return "first_purchase";
    case Reason::kRepeatPurchase:
      return "repeat_purchase";
    case Reason::kReactivated:
      return "reactivated";
    case Reason::kInactivity:
      return "inactivity";
    case Reason::kModel:
      return "model";
  }
  return "unknown";
}

std::string EncodeHistory(absl::Span<const Transition> history) {
  std::string text;
  for (const Transition& transition : history) {
    absl::StrAppend(&text, transition.day, ":",
                    static_cast<int>(transition.from), ":",
                    static_cast<int>(transition.to), ":",
                    static_cast<int>(transition.reason), ";");
  }
  return text;
}

absl::StatusOr<std::vector<Transition>> DecodeHistory(absl::string_view text) {
  std::vector<Transition> history;
  for (absl::string_view entry : absl::StrSplit(text, ';', absl::SkipEmpty())) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry, ':');
    int from = 0, to = 0, reason = 0;
    Transition transition;
    if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &transition.day) ||
        !absl::SimpleAtoi(parts[1], &from) ||
        !absl::SimpleAtoi(parts[2], &to) ||
        !absl::SimpleAtoi(parts[3], &reason) || from < 1 || from > 5 ||
        to < 1 || to > 5 || reason < 1 || reason > 5) {
      return absl::DataLossError(
          absl::StrCat("unreadable lifecycle history entry \"", entry, "\""));
    }
    transition.from = static_cast<Stage>(from);
    transition.to = static_cast<Stage>(to);
    transition.reason = static_cast<Reason>(reason);
    history.push_back(transition);
  }
  return history;
}

}  // namespace omnihub::insights

#include "services/segments/condition/segment_condition.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/unknown_field_set.h"
#include "omnihub/v1/event.pb.h"
#include "omnihub/v1/insights.pb.h"
#include "services/insights/purchase_model/bg_nbd.h"

namespace omnihub::segments {
namespace {

absl::Status Invalid(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", why));
}

// Fields a newer client sent that this server does not know: refused rather
// than ignored, since a condition silently narrowed is a wrong segment.
absl::Status NoUnknownFields(const google::protobuf::Message& message,
                             absl::string_view path) {
  const google::protobuf::UnknownFieldSet& unknown =
      message.GetReflection()->GetUnknownFields(message);
  if (unknown.empty()) return absl::OkStatus();
  return Invalid(path, absl::StrCat("has a field this server does not know "
                                    "(number ",
                                    unknown.field(0).number(), ")"));
}

absl::Status CheckChannel(int channel, absl::string_view path) {
  if (!v1::Channel_IsValid(channel)) {
    return Invalid(path, absl::StrCat(channel, " is not a known channel"));
  }
  return absl::OkStatus();
}

absl::Status CheckDays(int days, const ConditionLimits& limits,
                       absl::string_view path) {
  if (days < 1 || days > limits.max_days) {
    return Invalid(path, absl::StrCat("must be 1 to ", limits.max_days,
                                      " days, not ", days));
  }
  return absl::OkStatus();
}

absl::Status CheckMoney(const v1::Money& money, absl::string_view path) {
  if (absl::Status unknown = NoUnknownFields(money, path); !unknown.ok()) {
    return unknown;
  }
  if (money.currency().empty()) {
    return Invalid(absl::StrCat(path, ".currency"),
                   "an amount needs its currency (ISO 4217, e.g. \"EUR\")");
  }
  if (!money::IsCurrencyCode(money.currency())) {
    return Invalid(absl::StrCat(path, ".currency"),
                   absl::StrCat("\"", money.currency(),
                                "\" is not an ISO 4217 code (three upper-case "
                                "letters)"));
  }
  return absl::OkStatus();
}

// A list of enum values (`values`, field `field` under `path`): not empty
// (else `empty`), and each a known value other than the UNSPECIFIED zero
// every omnihub enum starts with (else "<value> is not <what>").
template <typename Values>
absl::Status CheckEnumList(const Values& values, bool (*is_valid)(int),
                           absl::string_view path, absl::string_view field,
                           absl::string_view empty, absl::string_view what) {
  if (values.empty()) return Invalid(absl::StrCat(path, ".", field), empty);
  for (int i = 0; i < values.size(); ++i) {
    const int value = values.Get(i);
    if (!is_valid(value) || value == 0) {
      return Invalid(absl::StrCat(path, ".", field, "[", i, "]"),
                     absl::StrCat(value, " is not ", what));
    }
  }
  return absl::OkStatus();
}

// A ChannelCountCondition or an EventKindCondition: at_least, at_most.
template <typename CountCondition>
absl::Status CheckCountRange(const CountCondition& leaf,
                             absl::string_view path) {
  if (leaf.at_least() < 0) {
    return Invalid(absl::StrCat(path, ".at_least"), "must not be negative");
  }
  if (leaf.has_at_most() && leaf.at_most() < leaf.at_least()) {
    return Invalid(absl::StrCat(path, ".at_most"),
                   "must not be less than at_least");
  }
  return absl::OkStatus();
}

class Validator {
 public:
  explicit Validator(const ConditionLimits& limits) : limits_(limits) {}

  absl::Status Check(const v1::SegmentCondition& node, std::string path,
                     int depth) {
    if (depth > limits_.max_depth) {
      return Invalid(path, absl::StrCat("the condition is nested deeper than ",
                                        limits_.max_depth, " levels"));
    }
    if (++nodes_ > limits_.max_nodes) {
      return Invalid(path, absl::StrCat("the condition has more than ",
                                        limits_.max_nodes, " nodes"));
    }
    if (absl::Status unknown = NoUnknownFields(node, path); !unknown.ok()) {
      return unknown;
    }
    switch (node.condition_case()) {
      case v1::SegmentCondition::CONDITION_NOT_SET:
        return Invalid(path, "sets none of the conditions");
      case v1::SegmentCondition::kAll:
        return CheckList(node.all(), absl::StrCat(path, ".all"), depth);
      case v1::SegmentCondition::kAny:
        return CheckList(node.any(), absl::StrCat(path, ".any"), depth);
      case v1::SegmentCondition::kNegated:
        return Check(node.negated(), absl::StrCat(path, ".negated"), depth + 1);
      case v1::SegmentCondition::kLifecycleStage:
        return CheckStage(node.lifecycle_stage(),
                          absl::StrCat(path, ".lifecycle_stage"));
      case v1::SegmentCondition::kChannelCount:
        return CheckCount(node.channel_count(),
                          absl::StrCat(path, ".channel_count"));
      case v1::SegmentCondition::kLastInteraction:
        return CheckLast(node.last_interaction(),
                         absl::StrCat(path, ".last_interaction"));
      case v1::SegmentCondition::kTotalValue:
        return CheckValue(node.total_value(),
                          absl::StrCat(path, ".total_value"));
      case v1::SegmentCondition::kIdentityKind:
        return CheckIdentity(node.identity_kind(),
                             absl::StrCat(path, ".identity_kind"));
      case v1::SegmentCondition::kRfmSegment:
        return CheckRfm(node.rfm_segment(), absl::StrCat(path, ".rfm_segment"));
      case v1::SegmentCondition::kPredictedValue:
        return CheckValue(node.predicted_value(),
                          absl::StrCat(path, ".predicted_value"));
      case v1::SegmentCondition::kProbabilityActive:
        return CheckProbability(node.probability_active(),
                                absl::StrCat(path, ".probability_active"));
      case v1::SegmentCondition::kEventKind:
        return CheckKind(node.event_kind(), absl::StrCat(path, ".event_kind"));
    }
    return Invalid(path, "sets a condition this server does not know");
  }

 private:
  absl::Status CheckList(const v1::SegmentConditionList& list,
                         const std::string& path, int depth) {
    if (absl::Status unknown = NoUnknownFields(list, path); !unknown.ok()) {
      return unknown;
    }
    for (int i = 0; i < list.conditions_size(); ++i) {
      if (absl::Status status =
              Check(list.conditions(i),
                    absl::StrCat(path, ".conditions[", i, "]"), depth + 1);
          !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  }

  static absl::Status CheckStage(const v1::LifecycleStageCondition& leaf,
                                 const std::string& path) {
    if (absl::Status unknown = NoUnknownFields(leaf, path); !unknown.ok()) {
      return unknown;
    }
    return CheckEnumList(leaf.stages(), v1::LifecycleStage_IsValid, path,
                         "stages", "names no stage", "a lifecycle stage");
  }

  static absl::Status CheckCount(const v1::ChannelCountCondition& leaf,
                                 const std::string& path) {
    if (absl::Status unknown = NoUnknownFields(leaf, path); !unknown.ok()) {
      return unknown;
    }
    if (absl::Status channel =
            CheckChannel(leaf.channel(), absl::StrCat(path, ".channel"));
        !channel.ok()) {
      return channel;
    }
    return CheckCountRange(leaf, path);
  }

  absl::Status CheckLast(const v1::LastInteractionCondition& leaf,
                         const std::string& path) const {
    if (absl::Status unknown = NoUnknownFields(leaf, path); !unknown.ok()) {
      return unknown;
    }
    if (absl::Status channel =
            CheckChannel(leaf.channel(), absl::StrCat(path, ".channel"));
        !channel.ok()) {
      return channel;
    }
    switch (leaf.window_case()) {
      case v1::LastInteractionCondition::kWithinDays:
        return CheckDays(leaf.within_days(), limits_,
                         absl::StrCat(path, ".within_days"));
      case v1::LastInteractionCondition::kNotWithinDays:
        return CheckDays(leaf.not_within_days(), limits_,
                         absl::StrCat(path, ".not_within_days"));
      case v1::LastInteractionCondition::WINDOW_NOT_SET:
        break;
    }
    return Invalid(path, "sets neither within_days nor not_within_days");
  }

  // A TotalValueCondition or a PredictedValueCondition.
  template <typename ValueCondition>
  static absl::Status CheckValue(const ValueCondition& leaf,
                                 const std::string& path) {
    if (absl::Status unknown = NoUnknownFields(leaf, path); !unknown.ok()) {
      return unknown;
    }
    if (!leaf.has_at_least() && !leaf.has_below()) {
      return Invalid(path, "sets neither at_least nor below");
    }
    if (leaf.has_at_least()) {
      if (absl::Status money =
              CheckMoney(leaf.at_least(), absl::StrCat(path, ".at_least"));
          !money.ok()) {
        return money;
      }
    }
    if (leaf.has_below()) {
      if (absl::Status money =
              CheckMoney(leaf.below(), absl::StrCat(path, ".below"));
          !money.ok()) {
        return money;
      }
      if (leaf.has_at_least() &&
          leaf.below().currency() != leaf.at_least().currency()) {
        return Invalid(absl::StrCat(path, ".below.currency"),
                       "must be at_least's currency (one currency per "
                       "condition)");
      }
    }
    return absl::OkStatus();
  }

  static absl::Status CheckIdentity(const v1::IdentityKindCondition& leaf,
                                    const std::string& path) {
    if (absl::Status unknown = NoUnknownFields(leaf, path); !unknown.ok()) {
      return unknown;
    }
    if (!v1::IdentityKind_IsValid(leaf.kind()) ||
        leaf.kind() == v1::IDENTITY_KIND_UNSPECIFIED) {
      return Invalid(absl::StrCat(path, ".kind"),
                     absl::StrCat(leaf.kind(), " is not an identity kind"));
    }
    return absl::OkStatus();
  }

  static absl::Status CheckRfm(const v1::RfmSegmentCondition& leaf,
                               const std::string& path) {
    if (absl::Status unknown = NoUnknownFields(leaf, path); !unknown.ok()) {
      return unknown;
    }
    return CheckEnumList(leaf.segments(), v1::RfmSegment_IsValid, path,
                         "segments", "names no RFM segment", "an RFM segment");
  }

  static absl::Status CheckProbability(
      const v1::ProbabilityActiveCondition& leaf, const std::string& path) {
    if (absl::Status unknown = NoUnknownFields(leaf, path); !unknown.ok()) {
      return unknown;
    }
    if (!leaf.has_at_least() && !leaf.has_below()) {
      return Invalid(path, "sets neither at_least nor below");
    }
    // Written so that NaN fails too.
    if (leaf.has_at_least() &&
        !(leaf.at_least() >= 0 && leaf.at_least() <= 1)) {
      return Invalid(absl::StrCat(path, ".at_least"),
                     absl::StrCat("must be 0 to 1 (a probability), not ",
                                  leaf.at_least()));
    }
    if (leaf.has_below() && !(leaf.below() >= 0 && leaf.below() <= 1)) {
      return Invalid(
          absl::StrCat(path, ".below"),
          absl::StrCat("must be 0 to 1 (a probability), not ", leaf.below()));
    }
    if (leaf.has_at_least() && leaf.has_below() &&
        leaf.below() <= leaf.at_least()) {
      return Invalid(absl::StrCat(path, ".below"),
                     "must be greater than at_least");
    }
    return absl::OkStatus();
  }

  static absl::Status CheckKind(const v1::EventKindCondition& leaf,
                                const std::string& path) {
    if (absl::Status unknown = NoUnknownFields(leaf, path); !unknown.ok()) {
      return unknown;
    }
    if (!v1::InteractionKind_IsValid(leaf.kind()) ||
        leaf.kind() == v1::INTERACTION_KIND_UNSPECIFIED) {
      return Invalid(absl::StrCat(path, ".kind"),
                     absl::StrCat(leaf.kind(), " is not an interaction kind"));
    }
    return CheckCountRange(leaf, path);
  }

  const ConditionLimits& limits_;
  int nodes_ = 0;
};

void Earliest(std::optional<absl::Time>& next, absl::Time candidate,
              absl::Time now) {
  if (candidate <= now) return;
  if (!next.has_value() || candidate < *next) next = candidate;
}

// The first purchase day after `today` (a purchase dated ahead counts from
// its day on).
std::optional<int64_t> NextPurchaseDay(const insights::CustomerRecord& record,
                                       int64_t today) {
  auto after =
      std::upper_bound(record.days().begin(), record.days().end(), today);
  if (after == record.days().end()) return std::nullopt;
  return *after;
}

// A figure of the insights on one day (nullopt: none for this customer).
using DailyFigure = absl::FunctionRef<std::optional<double>(int64_t day)>;

// Whether `figure` meets the bounds on `day`: at least `at_least`, below
// `below` (each when set).
bool WithinBounds(std::optional<double> figure, std::optional<double> at_least,
                  std::optional<double> below) {
  if (!figure.has_value()) return false;
  if (at_least.has_value() && !(*figure >= *at_least)) return false;
  return !below.has_value() || *figure < *below;
}

// The first day after `today` on which the verdict of a figure that falls
// (or stays) day by day until the next purchase may change: for each bound
// the day it is crossed, found by bisection up to the next purchase day or
// kInsightsSearchDays ahead. Neither crossed by then, the customer is looked
// at again on that day (unless the figure stays the same).
std::optional<int64_t> NextCrossing(const insights::CustomerRecord& record,
                                    int64_t today, DailyFigure figure,
                                    std::optional<double> at_least,
                                    std::optional<double> below) {
  const std::optional<int64_t> purchase = NextPurchaseDay(record, today);
  const int64_t last =
      purchase.has_value()
          ? std::min(*purchase - 1, today + kInsightsSearchDays)
          : today + kInsightsSearchDays;
  const std::optional<double> now = figure(today);
  std::optional<int64_t> earliest = purchase;
  if (!now.has_value() || last <= today) return earliest;
  const std::optional<double> then = figure(last);
  for (const std::optional<double>& bound : {at_least, below}) {
    if (!bound.has_value()) continue;
    auto holds = [&](std::optional<double> value) {
      return value.has_value() && *value >= *bound;
    };
    const bool held = holds(now);
    if (holds(then) == held) continue;
    int64_t same = today;  // holds() as today
    int64_t other = last;  // not
    while (other - same > 1) {
      const int64_t middle = same + (other - same) / 2;
      if (holds(figure(middle)) == held) {
        same = middle;
      } else {
        other = middle;
      }
    }
    if (!earliest.has_value() || other < *earliest) earliest = other;
  }
  if (!earliest.has_value() && then != now) earliest = last;
  return earliest;
}

std::optional<double> BoundOf(bool set, double value) {
  return set ? std::optional<double>(value) : std::nullopt;
}

bool EvaluateRfm(const v1::RfmSegmentCondition& leaf,
                 const CustomerFacts& facts, absl::Time now,
                 std::optional<absl::Time>& next) {
  if (facts.record == nullptr || facts.rfm == nullptr) return false;
  const insights::CustomerRecord& record = *facts.record;
  const int64_t today = insights::DayOf(now);
  auto listed = [&](int64_t day) {
    const std::optional<insights::RfmScore> score =
        insights::ScoreRfm(*facts.rfm, record, day);
    return score.has_value() &&
           std::find(leaf.segments().begin(), leaf.segments().end(),
                     static_cast<int>(score->segment)) != leaf.segments().end();
  };
  const bool member = listed(today);
  // Until the next purchase only the recency score moves: one down on the
  // day the days since the last purchase pass a boundary.
  const std::optional<int64_t> purchase = NextPurchaseDay(record, today);
  std::optional<int64_t> change = purchase;
  if (const int64_t occasions = record.OccasionsOn(today); occasions > 0) {
    const int64_t last_purchase = record.days()[occasions - 1];
    std::array<int64_t, 4> cuts = facts.rfm->recency_days;
    std::sort(cuts.begin(), cuts.end());
    for (int64_t cut : cuts) {
      const int64_t day = last_purchase + cut + 1;
      if (day <= today) continue;
      if (purchase.has_value() && day >= *purchase) break;
      if (listed(day) != member) {
        change = day;
        break;
      }
    }
  }
  if (change.has_value()) Earliest(next, insights::StartOfDay(*change), now);
  return member;
}

bool EvaluateProbability(const v1::ProbabilityActiveCondition& leaf,
                         const CustomerFacts& facts, absl::Time now,
                         std::optional<absl::Time>& next) {
  if (facts.record == nullptr || facts.model == nullptr) return false;
  const insights::CustomerRecord& record = *facts.record;
  const int64_t today = insights::DayOf(now);
  auto probability = [&](int64_t day) -> std::optional<double> {
    if (record.OccasionsOn(day) == 0) return std::nullopt;
    return insights::ProbabilityAlive(facts.model->purchases,
                                      record.SummaryOn(day));
  };
  const std::optional<double> at_least =
      BoundOf(leaf.has_at_least(), leaf.at_least());
  const std::optional<double> below = BoundOf(leaf.has_below(), leaf.below());
  if (std::optional<int64_t> day =
          NextCrossing(record, today, probability, at_least, below)) {
    Earliest(next, insights::StartOfDay(*day), now);
  }
  return WithinBounds(probability(today), at_least, below);
}

bool EvaluatePredictedValue(const v1::PredictedValueCondition& leaf,
                            const CustomerFacts& facts, absl::Time now,
                            std::optional<absl::Time>& next) {
  if (facts.record == nullptr || facts.model == nullptr) return false;
  const insights::CustomerRecord& record = *facts.record;
  const int64_t today = insights::DayOf(now);
  const std::string& currency = leaf.has_at_least() ? leaf.at_least().currency()
                                                    : leaf.below().currency();
  insights::LifetimeValueCache cache;
  // In micros, rounded as the insights answer rounds it.
  auto value = [&](int64_t day) -> std::optional<double> {
    if (record.OccasionsOn(day) == 0) return std::nullopt;
    for (const insights::CurrencyValue& predicted :
         insights::Predict(*facts.model, record, day, {}, facts.value, &cache)
             .value) {
      if (predicted.currency != currency) continue;
      if (!std::isfinite(predicted.lifetime_value)) return std::nullopt;
      return std::round(predicted.lifetime_value * 1e6);
    }
    // Bought in the currency, but not predicted there: no spend model.
    for (const insights::CurrencySpend& spend : record.SpendOn(day)) {
      if (spend.currency == currency) return std::nullopt;
    }
    return 0.0;
  };
  const std::optional<double> at_least =
      BoundOf(leaf.has_at_least(),
              static_cast<double>(leaf.at_least().amount_micros()));
  const std::optional<double> below = BoundOf(
      leaf.has_below(), static_cast<double>(leaf.below().amount_micros()));
  if (std::optional<int64_t> day =
          NextCrossing(record, today, value, at_least, below)) {
    Earliest(next, insights::StartOfDay(*day), now);
  }
  return WithinBounds(value(today), at_least, below);
}

bool EvaluateInto(const v1::SegmentCondition& node, const CustomerFacts& facts,
                  absl::Time now, std::optional<absl::Time>& next) {
  switch (node.condition_case()) {
    case v1::SegmentCondition::kAll: {
      // Every node is evaluated, not only up to the first false one: a
      // later node's time-relative part may be what changes the verdict.
      bool all = true;
      for (const v1::SegmentCondition& child : node.all().conditions()) {
        all = EvaluateInto(child, facts, now, next) && all;
      }
      return all;
    }
    case v1::SegmentCondition::kAny: {
      bool any = false;
      for (const v1::SegmentCondition& child : node.any().conditions()) {
        any = EvaluateInto(child, facts, now, next) || any;
      }
      return any;
    }
    case v1::SegmentCondition::kNegated:
      return !EvaluateInto(node.negated(), facts, now, next);
    case v1::SegmentCondition::kLifecycleStage: {
      if (facts.lifecycle_next_change.has_value()) {
        Earliest(next, *facts.lifecycle_next_change, now);
      }
      const auto& stages = node.lifecycle_stage().stages();
      return std::find(stages.begin(), stages.end(), facts.lifecycle_stage) !=
             stages.end();
    }
    case v1::SegmentCondition::kChannelCount: {
      const v1::ChannelCountCondition& leaf = node.channel_count();
      int64_t count = facts.total_interactions;
      if (leaf.channel() != v1::CHANNEL_UNSPECIFIED) {
        auto found = facts.channel_counts.find(leaf.channel());
        count = found == facts.channel_counts.end() ? 0 : found->second;
      }
      return count >= leaf.at_least() &&
             (!leaf.has_at_most() || count <= leaf.at_most());
    }
    case v1::SegmentCondition::kLastInteraction: {
      const v1::LastInteractionCondition& leaf = node.last_interaction();
      std::optional<absl::Time> last = facts.last_interaction;
      if (leaf.channel() != v1::CHANNEL_UNSPECIFIED) {
        auto found = facts.channel_last.find(leaf.channel());
        last = found == facts.channel_last.end()
                   ? std::nullopt
                   : std::optional<absl::Time>(found->second);
      }
      const bool within_asked =
          leaf.window_case() == v1::LastInteractionCondition::kWithinDays;
      const int days =
          within_asked ? leaf.within_days() : leaf.not_within_days();
      if (!last.has_value()) return !within_asked;
      // Within the window while now < last + days; from then on, not.
      const absl::Time ends = *last + absl::Hours(24) * days;
      Earliest(next, ends, now);
      const bool within = now < ends;
      return within == within_asked;
    }
    case v1::SegmentCondition::kTotalValue: {
      const v1::TotalValueCondition& leaf = node.total_value();
      const std::string& currency = leaf.has_at_least()
                                        ? leaf.at_least().currency()
                                        : leaf.below().currency();
      auto found = facts.value_micros.find(currency);
      const int64_t total =
          found == facts.value_micros.end() ? 0 : found->second;
      if (leaf.has_at_least() && total < leaf.at_least().amount_micros()) {
        return false;
      }
      return !leaf.has_below() || total < leaf.below().amount_micros();
    }
    case v1::SegmentCondition::kIdentityKind:
      return facts.identity_kinds.contains(node.identity_kind().kind());
    case v1::SegmentCondition::kEventKind: {
      const v1::EventKindCondition& leaf = node.event_kind();
      auto found = facts.kind_counts.find(leaf.kind());
      const int64_t count = found == facts.kind_counts.end()
                                ? 0
                                : std::max<int64_t>(found->second, 0);
      return count >= leaf.at_least() &&
             (!leaf.has_at_most() || count <= leaf.at_most());
    }
    case v1::SegmentCondition::kRfmSegment:
      return EvaluateRfm(node.rfm_segment(), facts, now, next);
    case v1::SegmentCondition::kPredictedValue:
      return EvaluatePredictedValue(node.predicted_value(), facts, now, next);
    case v1::SegmentCondition::kProbabilityActive:
      return EvaluateProbability(node.probability_active(), facts, now, next);
    case v1::SegmentCondition::CONDITION_NOT_SET:
      break;
  }
  return false;
}

void CollectInputs(const v1::SegmentCondition& node, ConditionInputs& inputs) {
  switch (node.condition_case()) {
    case v1::SegmentCondition::kAll:
      for (const v1::SegmentCondition& child : node.all().conditions()) {
        CollectInputs(child, inputs);
      }
      return;
    case v1::SegmentCondition::kAny:
      for (const v1::SegmentCondition& child : node.any().conditions()) {
        CollectInputs(child, inputs);
      }
      return;
    case v1::SegmentCondition::kNegated:
      return CollectInputs(node.negated(), inputs);
    case v1::SegmentCondition::kRfmSegment:
      inputs.rfm = true;
      return;
    case v1::SegmentCondition::kLifecycleStage:
    case v1::SegmentCondition::kPredictedValue:
    case v1::SegmentCondition::kProbabilityActive:
      inputs.model = true;
      return;
    default:
      return;
  }
}

}  // namespace

ConditionInputs InputsOf(const v1::SegmentCondition& condition) {
  ConditionInputs inputs;
  CollectInputs(condition, inputs);
  return inputs;
}

absl::Status ValidateCondition(const v1::SegmentCondition& condition,
                               const ConditionLimits& limits,
                               absl::string_view path) {
  Validator validator(limits);
  return validator.Check(condition, std::string(path), 1);
}

Verdict Evaluate(const v1::SegmentCondition& condition,
                 const CustomerFacts& facts, absl::Time now) {
  Verdict verdict;
  verdict.member = EvaluateInto(condition, facts, now, verdict.next_change);
  return verdict;
}

}  // namespace omnihub::segments

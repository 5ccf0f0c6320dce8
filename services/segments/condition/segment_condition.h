// A segment's condition tree (omnihub.v1.SegmentCondition): checked when a
// segment is defined, and evaluated over one customer's facts at a moment,
// with the next moment its verdict may change by time alone (so the
// deadline index can wake the customer then). Pure: no Redis, no gRPC.
//
//   absl::Status valid = ValidateCondition(condition, {}, "segment.condition");
//   Verdict verdict = Evaluate(condition, facts, now);
//   if (verdict.next_change) { ... schedule a look at *verdict.next_change }
#ifndef OMNIHUB_SERVICES_SEGMENTS_CONDITION_SEGMENT_CONDITION_H_
#define OMNIHUB_SERVICES_SEGMENTS_CONDITION_SEGMENT_CONDITION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "omnihub/v1/segments.pb.h"
#include "services/insights/analysis/customer_record.h"
#include "services/insights/analysis/customer_value.h"
#include "services/insights/analysis/rfm.h"

namespace omnihub::segments {

struct ConditionLimits {
  int max_depth = 8;   // nodes from the root to a leaf, both counted
  int max_nodes = 64;  // nodes in the whole tree
  int max_days = 3650;
};

// INVALID_ARGUMENT naming the field (under `path`) at fault: a node with
// nothing set, a field the server does not know (sent by a newer client), an
// enum value out of range, a count or day out of range, an amount without a
// currency or with two, a tree deeper or larger than `limits`.
absl::Status ValidateCondition(const v1::SegmentCondition& condition,
                               const ConditionLimits& limits,
                               absl::string_view path);

// What the conditions look at, of one customer, read from its view.
struct CustomerFacts {
  int lifecycle_stage = 0;  // omnihub.v1.LifecycleStage
  // When the stage next changes if nothing else happens.
  std::optional<absl::Time> lifecycle_next_change;
  // Interactions per channel (omnihub.v1.Channel), and the last one's time.
  std::map<int, int64_t> channel_counts;
  std::map<int, absl::Time> channel_last;
  int64_t total_interactions = 0;
  std::optional<absl::Time> last_interaction;
  // Total value per currency, in micros.
  std::map<std::string, int64_t> value_micros;
  std::set<int> identity_kinds;  // omnihub.v1.IdentityKind
  // Events per omnihub.v1.InteractionKind.
  std::map<int, int64_t> kind_counts;
  // What the RFM segment, the predicted value and the probability of being
  // active are computed from, exactly as GetCustomerInsights computes them
  // on the day of `now`: the customer's purchases, the RFM boundaries and
  // the purchase model in use (null: none yet), and the lifetime value
  // settings.
  std::shared_ptr<const insights::CustomerRecord> record;
  std::shared_ptr<const insights::RfmBoundaries> rfm;
  std::shared_ptr<const insights::FittedModel> model;
  insights::ValueSettings value;
};

// The days searched ahead for the moment a predicted value or probability
// crosses a bound by time alone; not found by then, the customer is looked
// at again on that day.
inline constexpr int64_t kInsightsSearchDays = 366;

// Which inputs beside the customer's own a condition reads: a change of
// them (new RFM boundaries, a new model) calls for its segment's members to
// be evaluated again.
struct ConditionInputs {
  bool rfm = false;    // rfm_segment
  bool model = false;  // predicted_value, probability_active, lifecycle_stage
};
ConditionInputs InputsOf(const v1::SegmentCondition& condition);

struct Verdict {
  bool member = false;
  // The earliest moment after now at which some time-relative part of the
  // condition changes (the verdict may, or may not, change then).
  std::optional<absl::Time> next_change;
};

Verdict Evaluate(const v1::SegmentCondition& condition,
                 const CustomerFacts& facts, absl::Time now);

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_CONDITION_SEGMENT_CONDITION_H_

// The user-defined segments as the insights answers need them: a customer's
// memberships (in its insights answer) and which customers of a ranking page
// are members (the top customers within a segment). Implemented by
// segments::SegmentEngine, which builds on the insights; the insights see it
// only through this, so neither library needs the other's insides.
//
//   lookup.MembersAmong("vip", ids,
//                       [](absl::StatusOr<std::vector<bool>> in) { ... });
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_SEGMENT_LOOKUP_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_SEGMENT_LOOKUP_H_

#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "omnihub/v1/insights.pb.h"

namespace omnihub::insights {

class SegmentLookup {
 public:
  virtual ~SegmentLookup() = default;

  // Blocking: the segments the customer is in now and since when, as
  // SegmentService.GetCustomerSegments answers.
  virtual absl::StatusOr<std::vector<v1::CustomerSegmentMembership>>
  MembershipsOf(const std::string& customer_id) = 0;

  // For each of `customer_ids`, whether it is listed among the members of
  // the segment's current version (as ListSegmentMembers lists them).
  // NOT_FOUND when there is no such segment. Without blocking: `done` runs
  // once, on a Redis reply's thread (or at once, for a bad name).
  virtual void MembersAmong(
      const std::string& segment, std::vector<std::string> customer_ids,
      absl::AnyInvocable<void(absl::StatusOr<std::vector<bool>>) &&> done) = 0;
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_SEGMENT_LOOKUP_H_

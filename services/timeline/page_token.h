// Opaque GetTimeline page tokens. A token records where the last page ended
// (occurred_at, then event id: the timeline's order) and a fingerprint of the
// request's filters, so the next page continues exactly there even while new
// events arrive, and a token is refused with other filters.
//
//   std::string token = EncodePageToken(cursor,
//   TimelineFilterFingerprint(req)); absl::StatusOr<TimelineCursor> next =
//       DecodePageToken(req.page_token(), TimelineFilterFingerprint(req));
#ifndef OMNIHUB_SERVICES_TIMELINE_PAGE_TOKEN_H_
#define OMNIHUB_SERVICES_TIMELINE_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "omnihub/v1/timeline.pb.h"

namespace omnihub::timeline {

struct TimelineCursor {
  int64_t occurred_at_micros = 0;
  std::string event_id;
};

// Stable across processes and replicas (not absl::Hash, which is salted per
// process); the order of channels and kinds does not matter. The page size
// and token are not part of it.
uint64_t TimelineFilterFingerprint(const v1::GetTimelineRequest& request);

std::string EncodePageToken(const TimelineCursor& cursor, uint64_t fingerprint);

// INVALID_ARGUMENT "page_token: ..." for a token that is not ours, damaged, or
// from a request with other filters.
absl::StatusOr<TimelineCursor> DecodePageToken(absl::string_view token,
                                               uint64_t expected_fingerprint);

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_PAGE_TOKEN_H_

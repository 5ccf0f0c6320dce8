// One page of a segment's members, read without blocking a thread: the
// definition (its version) and the evaluation's state in the same round
// trip as every shard's first ids, then only the shards the merge asks for
// (sharded_page), each round trip's last reply going on with the next.
//
//   ReadMemberPage(redis, keys,
//                  {.name = "vip", .loaded_version = 3, .page_size = 100},
//                  [](absl::StatusOr<MembersPage> page) { ... });
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBER_PAGE_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBER_PAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/redis/redis_client.h"
#include "services/segments/store/segment_keys.h"
#include "services/timeline/store_context.h"

namespace omnihub::segments {

struct MembersPage {
  std::vector<std::string> customer_ids;
  std::string next_page_token;
  int64_t version = 0;
  bool complete = false;
};

struct MemberPageQuery {
  std::string name;
  // The version this replica loaded last (0: none). The shards are read
  // under it; only when the stored one differs (changed on another replica
  // within the last tick) are they read again, under the stored one.
  int64_t loaded_version = 0;
  // Checked by the caller: 1 or more.
  int page_size = 100;
  // The last id of the page before ("": the first page).
  std::string after;
};

// `done` runs once, on the thread of the last reply (or at once, on a
// failure to send). NOT_FOUND for a segment that is not defined, ABORTED
// for one whose version keeps changing under the read.
void ReadMemberPage(redis::RedisClient& redis, const SegmentKeys& keys,
                    MemberPageQuery query, timeline::Done<MembersPage> done);

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_MEMBER_PAGE_H_

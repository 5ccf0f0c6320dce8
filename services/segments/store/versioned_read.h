// Reads of a segment's keys under its current version without blocking, in
// one round trip most of the time: the commands go out under the version
// this replica loaded last, beside the stored definition; only when the
// stored version differs (changed on another replica within the last tick)
// are they sent again, under the stored one.
//
//   ReadUnderStoredVersion(
//       redis, keys, "vip", loaded_version,
//       [&](int64_t version) { return Commands{{"ZCARD", ...}}; },
//       [](absl::StatusOr<VersionedReplies> read) { ... });
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_VERSIONED_READ_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_VERSIONED_READ_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/redis/redis_client.h"
#include "common/redis/reply_gatherer.h"
#include "services/segments/store/segment_keys.h"
#include "services/timeline/store_context.h"

namespace omnihub::segments {

struct VersionedReplies {
  int64_t version = 0;
  // The replies to commands(version), in order.
  redis::Replies replies;
};

using VersionedCommands =
    std::function<std::vector<std::vector<std::string>>(int64_t version)>;

// `loaded_version` 0: none loaded (the commands then go out once the stored
// version is known). `done` runs once, on a Redis reply's thread (or at
// once, on a failure to send): NOT_FOUND for a segment that is not defined,
// ABORTED for one whose version keeps changing under the read.
void ReadUnderStoredVersion(redis::RedisClient& redis, const SegmentKeys& keys,
                            std::string name, int64_t loaded_version,
                            VersionedCommands commands,
                            timeline::Done<VersionedReplies> done);

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_VERSIONED_READ_H_

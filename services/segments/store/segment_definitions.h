// The segments defined, as this replica knows them: loaded from Redis on
// every tick of the segment engine and after this replica changes one, so a
// change made on another replica is in use here within a tick. Evaluations
// take a snapshot (Get) and evaluate every segment of it.
//
//   SegmentDefinitions definitions(&redis, &keys);
//   absl::Status loaded = definitions.Load();
//   for (const v1::Segment& segment : definitions.Get()->segments) { ... }
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_DEFINITIONS_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_DEFINITIONS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_script.h"
#include "omnihub/v1/segments.pb.h"
#include "services/segments/store/segment_keys.h"

namespace omnihub::segments {

struct DefinitionSet {
  std::vector<v1::Segment> segments;  // by name
  // "name:version,..." of them all: what a full evaluation is for.
  std::string fingerprint;

  const v1::Segment* Find(absl::string_view name) const;
};

struct SegmentScripts {
  SegmentScripts();
  redis::RedisScript put_segment;
  redis::RedisScript write_memberships;
};

// The definition an `HGET` of the definitions hash answered for `name`:
// nullopt when there is none, DATA_LOSS when it cannot be read.
absl::StatusOr<std::optional<v1::Segment>> DefinitionFromReply(
    const std::string& name, absl::StatusOr<redis::Reply> reply);

class SegmentDefinitions {
 public:
  SegmentDefinitions(redis::RedisClient* redis, const SegmentKeys* keys,
                     const SegmentScripts* scripts);

  std::shared_ptr<const DefinitionSet> Get() const;

  // Blocking: reads every definition from Redis and makes them the ones in
  // use.
  absl::Status Load();

  // Blocking. Stores `segment` (nullopt: deletes it) if the stored
  // definition is still `expected` (nullopt: absent); false when it is not.
  // The segment's evaluation under its new version starts over.
  absl::StatusOr<bool> Put(const std::string& name,
                           const std::optional<v1::Segment>& expected,
                           const std::optional<v1::Segment>& segment);
  // Blocking: the last version a segment of this name had (0: none).
  absl::StatusOr<int64_t> LastVersion(const std::string& name);
  // Blocking: the stored definition of one segment.
  absl::StatusOr<std::optional<v1::Segment>> Read(const std::string& name);

 private:
  redis::RedisClient* redis_;
  const SegmentKeys* keys_;
  const SegmentScripts* scripts_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const DefinitionSet> current_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_DEFINITIONS_H_

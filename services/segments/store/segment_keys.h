// Names of the Redis keys the segments keep:
//   omnihub:{segments}:defs          name -> the definition (a serialised
//                                    omnihub.v1.Segment), written only when
//                                    a segment is created, changed, deleted
//   omnihub:{segments}:pass          the background evaluation of every
//                                    customer: for which definitions, where
//   omnihub:{segments}:pass_lease    the replica running it
//   omnihub:{segments}:done          name -> "version|customers|micros": the
//                                    last version fully evaluated
//   omnihub:{segments}:versions      name -> its last version, kept after
//                                    a delete
//   omnihub:{segments}:sizes:<name>  day -> size as last counted that day
//   omnihub:sg:{2a}:m:<name>:<ver>   members (64 shards by customer id),
//                                    a sorted set of ids, all of score 0, so
//                                    pages go by id (ZRANGEBYLEX)
//   omnihub:sgdl:{2a}                deadline index (64 shards): customer
//                                    -> micros when a time-relative part of
//                                    some segment's condition next changes
//   omnihub:c:{c0123...}:sg          the customer's segments: name ->
//                                    "version|since micros"
//   omnihub:c:{c0123...}:sglog       its recent entries and exits
// No key is written by every event: a customer's own keys carry its hash
// tag, and the indexes are sharded.
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_KEYS_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_KEYS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace omnihub::segments {

inline constexpr int kSegmentShards = 64;

class SegmentKeys {
 public:
  explicit SegmentKeys(std::string prefix = "omnihub:");

  static int ShardOf(absl::string_view customer_id);

  std::string Definitions() const { return prefix_ + "{segments}:defs"; }
  std::string Pass() const { return prefix_ + "{segments}:pass"; }
  std::string PassLease() const { return prefix_ + "{segments}:pass_lease"; }
  std::string Done() const { return prefix_ + "{segments}:done"; }
  std::string Versions() const { return prefix_ + "{segments}:versions"; }
  std::string Sizes(absl::string_view name) const;
  std::string Members(int shard, absl::string_view name, int64_t version) const;
  std::string MembersOf(absl::string_view customer_id, absl::string_view name,
                        int64_t version) const {
    return Members(ShardOf(customer_id), name, version);
  }
  std::string Deadlines(int shard) const;
  std::string DeadlinesOf(absl::string_view customer_id) const {
    return Deadlines(ShardOf(customer_id));
  }
  std::string CustomerSegments(absl::string_view customer_id) const;
  std::string CustomerLog(absl::string_view customer_id) const;

 private:
  std::string prefix_;
};

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_KEYS_H_

#include "services/segments/store/segment_keys.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/timeline/key_schema.h"

namespace omnihub::segments {

SegmentKeys::SegmentKeys(std::string prefix) : prefix_(std::move(prefix)) {}

int SegmentKeys::ShardOf(absl::string_view customer_id) {
  return static_cast<int>(timeline::StableHash(customer_id) % kSegmentShards);
}

std::string SegmentKeys::Sizes(absl::string_view name) const {
  return absl::StrCat(prefix_, "{segments}:sizes:", name);
}

std::string SegmentKeys::Members(int shard, absl::string_view name,
                                 int64_t version) const {
  return absl::StrFormat("%ssg:{%02x}:m:%s:%d", prefix_, shard, name, version);
}

std::string SegmentKeys::Deadlines(int shard) const {
  return absl::StrFormat("%ssgdl:{%02x}", prefix_, shard);
}

std::string SegmentKeys::CustomerSegments(absl::string_view customer_id) const {
  return absl::StrCat(prefix_, "c:{", customer_id, "}:sg");
}

std::string SegmentKeys::CustomerLog(absl::string_view customer_id) const {
  return absl::StrCat(prefix_, "c:{", customer_id, "}:sglog");
}

}  // namespace omnihub::segments

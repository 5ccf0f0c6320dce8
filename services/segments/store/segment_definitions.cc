#include "services/segments/store/segment_definitions.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"
#include "segment_scripts.h"
#include "services/timeline/store_context.h"

namespace omnihub::segments {

using redis::Reply;

const v1::Segment* DefinitionSet::Find(absl::string_view name) const {
  for (const v1::Segment& segment : segments) {
    if (segment.name() == name) return &segment;
  }
  return nullptr;
}

SegmentScripts::SegmentScripts()
    : put_segment(std::string(kPutSegmentLua)),
      write_memberships(std::string(kWriteMembershipsLua)) {}

SegmentDefinitions::SegmentDefinitions(redis::RedisClient* redis,
                                       const SegmentKeys* keys,
                                       const SegmentScripts* scripts)
    : redis_(redis),
      keys_(keys),
      scripts_(scripts),
      current_(std::make_shared<DefinitionSet>()) {}

std::shared_ptr<const DefinitionSet> SegmentDefinitions::Get() const {
  absl::MutexLock lock(&mutex_);
  return current_;
}

absl::Status SegmentDefinitions::Load() {
  absl::StatusOr<Reply> reply = timeline::Expect(
      redis::CallAndWait(*redis_, {"HGETALL", keys_->Definitions()}),
      Reply::Type::kArray, "the segment definitions");
  if (!reply.ok()) return reply.status();
  auto loaded = std::make_shared<DefinitionSet>();
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    v1::Segment segment;
    if (!segment.ParseFromString(reply->elements[i + 1].str)) {
      return absl::DataLossError(absl::StrCat(
          "segment definition ", reply->elements[i].str, " is not readable"));
    }
    loaded->segments.push_back(std::move(segment));
  }
  std::sort(loaded->segments.begin(), loaded->segments.end(),
            [](const v1::Segment& a, const v1::Segment& b) {
              return a.name() < b.name();
            });
  for (const v1::Segment& segment : loaded->segments) {
    absl::StrAppend(&loaded->fingerprint, segment.name(), ":",
                    segment.version(), ",");
  }
  absl::MutexLock lock(&mutex_);
  current_ = std::move(loaded);
  return absl::OkStatus();
}

absl::StatusOr<bool> SegmentDefinitions::Put(
    const std::string& name, const std::optional<v1::Segment>& expected,
    const std::optional<v1::Segment>& segment) {
  // Deterministic, so the bytes read compare equal to the bytes stored.
  auto bytes = [](const std::optional<v1::Segment>& value) {
    std::string text;
    if (value.has_value()) value->SerializeToString(&text);
    return text;
  };
  absl::StatusOr<Reply> reply = timeline::Expect(
      redis::RunAndWait(
          *redis_, scripts_->put_segment,
          {keys_->Definitions(), keys_->Done(), keys_->Versions()},
          {name, bytes(expected), bytes(segment),
           absl::StrCat(segment.has_value() ? segment->version() : 0)}),
      Reply::Type::kInteger, "storing a segment definition");
  if (!reply.ok()) return reply.status();
  if (reply->integer == 0) return false;
  if (absl::Status loaded = Load(); !loaded.ok()) return loaded;
  return true;
}

absl::StatusOr<int64_t> SegmentDefinitions::LastVersion(
    const std::string& name) {
  absl::StatusOr<Reply> reply = redis::ErrorReplyAsStatus(
      redis::CallAndWait(*redis_, {"HGET", keys_->Versions(), name}),
      "a segment's versions");
  if (!reply.ok()) return reply.status();
  return timeline::IntegerOrZero(
      reply->type == Reply::Type::kString ? reply->str : std::string());
}

absl::StatusOr<std::optional<v1::Segment>> DefinitionFromReply(
    const std::string& name, absl::StatusOr<Reply> reply) {
  reply = redis::ErrorReplyAsStatus(std::move(reply), "a segment definition");
  if (!reply.ok()) return reply.status();
  if (reply->type != Reply::Type::kString) return std::nullopt;
  v1::Segment segment;
  if (!segment.ParseFromString(reply->str)) {
    return absl::DataLossError(
        absl::StrCat("segment definition ", name, " is not readable"));
  }
  return segment;
}

absl::StatusOr<std::optional<v1::Segment>> SegmentDefinitions::Read(
    const std::string& name) {
  return DefinitionFromReply(
      name, redis::CallAndWait(*redis_, {"HGET", keys_->Definitions(), name}));
}

}  // namespace omnihub::segments

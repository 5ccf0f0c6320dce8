#include "services/segments/store/versioned_read.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/segments/store/segment_definitions.h"

namespace omnihub::segments {
namespace {

// Reads of a version that another replica changed meanwhile, before giving
// up with ABORTED.
constexpr int kVersionReads = 4;

struct Read {
  redis::RedisClient& redis;
  const SegmentKeys& keys;
  const std::string name;
  const VersionedCommands commands;
  timeline::Done<VersionedReplies> done;
  int reads = 0;
};

void Send(std::shared_ptr<Read> read, int64_t version) {
  std::vector<std::vector<std::string>> commands = {
      {"HGET", read->keys.Definitions(), read->name}};
  if (version > 0) {
    for (std::vector<std::string>& command : read->commands(version)) {
      commands.push_back(std::move(command));
    }
  }
  redis::RedisClient& redis = read->redis;
  redis::ExecuteGathered(
      redis, std::move(commands),
      [read = std::move(read), version](redis::Replies replies) mutable {
        absl::StatusOr<std::optional<v1::Segment>> definition =
            DefinitionFromReply(read->name, std::move(replies[0]));
        if (!definition.ok()) return std::move(read->done)(definition.status());
        if (!definition->has_value()) {
          return std::move(read->done)(absl::NotFoundError(
              absl::StrCat("no segment named \"", read->name, "\"")));
        }
        const v1::Segment& stored = **definition;
        if (stored.version() <= 0) {
          return std::move(read->done)(absl::DataLossError(absl::StrCat(
              "segment definition ", read->name, " has no version")));
        }
        if (stored.version() != version) {
          if (++read->reads >= kVersionReads) {
            return std::move(read->done)(absl::AbortedError(absl::StrCat(
                "segment \"", read->name, "\" keeps changing; try again")));
          }
          return Send(std::move(read), stored.version());
        }
        replies.erase(replies.begin());
        std::move(read->done)(VersionedReplies{.version = version,
                                               .replies = std::move(replies)});
      });
}

}  // namespace

void ReadUnderStoredVersion(redis::RedisClient& redis, const SegmentKeys& keys,
                            std::string name, int64_t loaded_version,
                            VersionedCommands commands,
                            timeline::Done<VersionedReplies> done) {
  Send(std::make_shared<Read>(Read{.redis = redis,
                                   .keys = keys,
                                   .name = std::move(name),
                                   .commands = std::move(commands),
                                   .done = std::move(done)}),
       loaded_version);
}

}  // namespace omnihub::segments

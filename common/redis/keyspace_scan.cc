#include "common/redis/keyspace_scan.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/blocking_calls.h"

namespace omnihub::redis {
namespace {

// FNV-1a over the node names: the same in every process, so a cursor kept
// in Redis can be continued by another replica of the hub.
std::string NodesFingerprint(const std::vector<KeyspaceNode>& nodes) {
  uint64_t hash = 14695981039346656037ull;
  for (const KeyspaceNode& node : nodes) {
    for (const char c : node.name) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    hash = (hash ^ 0xff) * 1099511628211ull;  // separates the names
  }
  return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
}

struct Position {
  size_t node = 0;
  std::string cursor = "0";
};

// The position `cursor` names among `nodes`, if it is one of theirs.
bool ParseCursor(absl::string_view cursor, const std::string& fingerprint,
                 size_t node_count, Position* position) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(cursor, absl::MaxSplits('-', 2));
  if (parts.size() != 3 || parts[0] != fingerprint) return false;
  uint64_t unused;
  if (!absl::SimpleAtoi(parts[1], &position->node) ||
      position->node >= node_count || !absl::SimpleAtoi(parts[2], &unused)) {
    return false;
  }
  position->cursor = std::string(parts[2]);
  return true;
}

}  // namespace

absl::StatusOr<KeyspaceScanStep> ScanKeyspace(
    RedisClient& client, absl::string_view cursor,
    const std::vector<std::string>& scan_options) {
  const std::vector<KeyspaceNode> nodes = client.KeyspaceNodes();
  if (nodes.empty()) {
    return absl::UnavailableError(
        "scanning the keys: the Redis nodes are not known (some slot of "
        "the cluster has no master, or a master cannot be reached)");
  }
  const std::string fingerprint = NodesFingerprint(nodes);
  KeyspaceScanStep step;
  Position position;
  if (cursor != "0" &&
      !ParseCursor(cursor, fingerprint, nodes.size(), &position)) {
    step.restarted = true;
    position = Position();
  }
  std::vector<std::string> command = {"SCAN", position.cursor};
  command.insert(command.end(), scan_options.begin(), scan_options.end());
  const KeyspaceNode& node = nodes[position.node];
  absl::StatusOr<Reply> reply = CallAndWait(*node.client, std::move(command));
  const std::string where =
      node.name.empty() ? "" : absl::StrCat(" on ", node.name);
  if (!reply.ok()) {
    // The node may be gone (a failover): a cluster client reads its map
    // again, and the caller's next step starts over on the new masters.
    if (reply.status().code() == absl::StatusCode::kUnavailable) {
      client.NodesMayHaveChanged();
    }
    return absl::Status(reply.status().code(),
                        absl::StrCat("scanning the keys", where, ": ",
                                     reply.status().message()));
  }
  if (reply->is_error()) {
    return absl::InternalError(
        absl::StrCat("scanning the keys", where, ": ", reply->str));
  }
  if (reply->type != Reply::Type::kArray || reply->elements.size() != 2 ||
      reply->elements[1].type != Reply::Type::kArray) {
    return absl::InternalError(
        absl::StrCat("scanning the keys", where, ": unexpected reply"));
  }
  step.keys.reserve(reply->elements[1].elements.size());
  for (Reply& key : reply->elements[1].elements) {
    step.keys.push_back(std::move(key.str));
  }
  const std::string& next = reply->elements[0].str;
  if (next != "0") {
    step.cursor = absl::StrCat(fingerprint, "-", position.node, "-", next);
  } else if (position.node + 1 < nodes.size()) {
    step.cursor = absl::StrCat(fingerprint, "-", position.node + 1, "-0");
  }  // else every node is done: the cursor stays "0"
  return step;
}

}  // namespace omnihub::redis

// SCAN over every node that holds keys: one Redis, or each master of a
// Redis Cluster in turn (RedisClient::KeyspaceNodes), behind one cursor, so
// a caller can scan the whole keyspace a step at a time and keep the cursor
// (even in Redis, for another process to go on with).
//
//   std::string cursor = "0";
//   do {
//     absl::StatusOr<KeyspaceScanStep> step = ScanKeyspace(
//         client, cursor, {"MATCH", "omnihub:*", "COUNT", "1000"});
//     if (!step.ok()) return step.status();
//     ... step->keys ...;
//     cursor = step->cursor;
//   } while (cursor != "0");
//
// The cursor is "<nodes>-<node>-<SCAN cursor>": a fingerprint of the node
// names the scan began with, the index of the node being scanned, and that
// node's own cursor. A node's SCAN cursor means nothing to another node, so
// when the nodes changed since the scan began (a failover promoted a
// replica, a master was added or removed) the cursor is stale and the scan
// starts again from the first node (`restarted`). What SCAN guarantees then
// holds per node: a key present on its node for the whole scan is returned
// at least once, maybe more often. A key whose slot moves to another master
// during the scan (resharding) may be returned twice, or not at all when it
// moves onto a node already scanned.
#ifndef OMNIHUB_COMMON_REDIS_KEYSPACE_SCAN_H_
#define OMNIHUB_COMMON_REDIS_KEYSPACE_SCAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/redis/redis_client.h"

namespace omnihub::redis {

struct KeyspaceScanStep {
  std::vector<std::string> keys;
  // The cursor to continue with; "0" once every node is done.
  std::string cursor = "0";
  // The cursor given was not "0" and could not be continued (the nodes
  // changed, or it is not a cursor of this function): this step is the
  // first of a new scan.
  bool restarted = false;
};

// One SCAN call on one node (blocking, see blocking_calls.h). `cursor` "0"
// begins a scan; `scan_options` follow the cursor in the SCAN command
// (MATCH, COUNT, TYPE). UNAVAILABLE when the nodes are not known (on a
// cluster: while some slot has no master).
absl::StatusOr<KeyspaceScanStep> ScanKeyspace(
    RedisClient& client, absl::string_view cursor,
    const std::vector<std::string>& scan_options);

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_KEYSPACE_SCAN_H_

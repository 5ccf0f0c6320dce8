// Where a command goes on a Redis Cluster: to the master of its first key's
// slot, to any one master, or to every master.
//
//   absl::StatusOr<CommandRoute> route = RouteOf({"EVALSHA", sha, "1", key});
//   // route->kind == CommandRoute::Kind::kSlot, route->slot == KeySlot(key)
#ifndef OMNIHUB_COMMON_REDIS_CLUSTER_COMMAND_ROUTE_H_
#define OMNIHUB_COMMON_REDIS_CLUSTER_COMMAND_ROUTE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace omnihub::redis_cluster {

struct CommandRoute {
  enum class Kind {
    kSlot,        // the master serving `slot`
    kAnyMaster,   // a question any master answers alike (PING, INFO, TIME)
    kAllMasters,  // a change every master must make (SCRIPT LOAD, FLUSHALL)
  };
  Kind kind = Kind::kAnyMaster;
  int slot = -1;
};

// Routes by the first key: argv[1] for most commands, the first key after
// numkeys for EVAL/EVALSHA/FCALL (a script without keys may run on any
// master), the first stream after STREAMS for XREAD. INVALID_ARGUMENT for
// commands a cluster cannot answer through one routed command: SCAN, KEYS,
// RANDOMKEY and DBSIZE need every node (scan node by node instead), MULTI,
// WATCH and SELECT need one connection's state, WAIT must follow the writes
// on their own node's connection.
absl::StatusOr<CommandRoute> RouteOf(const std::vector<std::string>& argv);

}  // namespace omnihub::redis_cluster

#endif  // OMNIHUB_COMMON_REDIS_CLUSTER_COMMAND_ROUTE_H_

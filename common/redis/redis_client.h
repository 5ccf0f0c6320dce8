// The Redis client interface the services use, and the value a reply is.
//
// Commands are sent asynchronously: Execute() queues the command and returns
// at once; `done` runs later with the reply. Implementations pipeline many
// callers' commands over few connections.
//
//   client.Execute({"GET", key}, [](absl::StatusOr<redis::Reply> reply) {
//     if (!reply.ok()) { /* UNAVAILABLE: Redis unreachable, ... */ }
//   });
#ifndef OMNIHUB_COMMON_REDIS_REDIS_CLIENT_H_
#define OMNIHUB_COMMON_REDIS_REDIS_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"

namespace omnihub::redis {

// A reply, copied out of hiredis so it can cross threads and outlive the
// connection.
struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;              // kString, kStatus and kError
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

// A node holding part of the keyspace, for the commands that must run node
// by node (SCAN): `name` is the node's "host:port" ("" for one Redis).
struct KeyspaceNode {
  std::string name;
  class RedisClient* client;
  // A hash slot this node serves, for a key that must live on it (a
  // cluster's node); -1 for one Redis, which holds every key.
  int slot = -1;
};

// Runs exactly once. A failed status means the command was not sent or its
// outcome is unknown: UNAVAILABLE when Redis cannot be reached (the message
// says so and names the address), DEADLINE_EXCEEDED when no reply came in
// time. An error *reply* from Redis (e.g. NOSCRIPT, WRONGTYPE) is an ok status
// holding a Reply of Type::kError.
using ReplyCallback = absl::AnyInvocable<void(absl::StatusOr<Reply>) &&>;

class RedisClient {
 public:
  virtual ~RedisClient() = default;

  // Queues `argv` (command name first). `done` runs on a client thread, or on
  // the caller's thread when the client already knows Redis is down (fail
  // fast), so `done` must not take a lock the caller holds. `done` must not
  // block: it runs on the thread that reads replies.
  virtual void Execute(std::vector<std::string> argv, ReplyCallback done) = 0;

  // As Execute for each command in turn, `done[i]` answering `commands[i]`
  // (the same number of each). A client may hand them to its connection
  // together: one queueing and one wake-up of the thread that writes them,
  // instead of one per command.
  virtual void ExecuteAll(std::vector<std::vector<std::string>> commands,
                          std::vector<ReplyCallback> done);

  // True while at least one connection to Redis is up.
  virtual bool connected() const = 0;

  // The nodes that together hold every key, ordered by name, each with a
  // client that sends commands to that node only. One Redis is one node
  // (itself); a cluster client gives its masters. Empty while none is known.
  virtual std::vector<KeyspaceNode> KeyspaceNodes() { return {{"", this}}; }

  // A command sent to a node KeyspaceNodes gave failed in a way that may
  // mean the nodes changed (a failover, a slot moved): a cluster client
  // reads its slot map again soon. Nothing to do for one Redis.
  virtual void NodesMayHaveChanged() {}
};

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_REDIS_CLIENT_H_

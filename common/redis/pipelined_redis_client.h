// The production Redis client: a few connections shared by every caller,
// each pipelining all the commands queued on it.
//
// Each connection has one thread. It takes every command queued since its
// last round trip, writes them all, then reads the replies in order, so many
// concurrent callers cost one round trip per batch, not one per command. A
// lost connection is re-made in the background with backoff; while none is
// up, Execute fails at once with UNAVAILABLE.
//
// A command queued under a redis::ScopedCall carries the call's deadline:
// still waiting to be sent when it passes, it fails with DEADLINE_EXCEEDED
// and is not sent; queued after it (or once the call was cancelled), it fails
// at once.
//
// Callbacks run on a connection's thread (or inline on the caller's thread
// when the command fails fast), never under a lock of the client. A callback
// may call Execute again, but must not block, call Shutdown() or destroy the
// client: that thread would then wait for itself.
//
//   auto client = PipelinedRedisClient::Create({.host = "127.0.0.1"}, nullptr);
//   (*client)->Execute({"PING"}, [](absl::StatusOr<Reply> reply) { ... });
#ifndef OMNIHUB_COMMON_REDIS_PIPELINED_REDIS_CLIENT_H_
#define OMNIHUB_COMMON_REDIS_PIPELINED_REDIS_CLIENT_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_metrics.h"

namespace omnihub::redis {

struct RedisClientOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // AUTH on every connect when a password is set: "AUTH user password"
  // (a Redis 6 ACL user) or, without a user, "AUTH password".
  std::string user;
  std::string password;
  int db = 0;  // SELECT on every connect when not 0
  int connections = 2;
  absl::Duration connect_timeout = absl::Seconds(1);
  // A reply slower than this fails the command (DEADLINE_EXCEEDED) and the
  // connection is re-made.
  absl::Duration command_timeout = absl::Seconds(2);
  absl::Duration reconnect_backoff_min = absl::Milliseconds(50);
  absl::Duration reconnect_backoff_max = absl::Seconds(2);
  // An idle connection is checked with PING this often, so a dead server is
  // noticed (and reported by connected()) before the next command needs it.
  absl::Duration idle_ping_interval = absl::Seconds(1);
  size_t max_pipeline = 1024;  // commands written in one batch
  // Per connection; a command finding every live connection's queue this
  // long, or holding this many bytes of arguments, fails with
  // RESOURCE_EXHAUSTED instead of growing memory. A command larger than
  // max_queued_bytes alone is still taken by an empty queue.
  size_t max_queued = 100000;
  size_t max_queued_bytes = 64 << 20;
};

class PipelinedRedisClient final : public RedisClient {
 public:
  // Never fails because Redis is down: the client starts disconnected and
  // keeps trying. INVALID_ARGUMENT for unusable options.
  static absl::StatusOr<std::unique_ptr<PipelinedRedisClient>> Create(
      RedisClientOptions options, RedisMetrics* metrics);

  // One connection, its handshake (AUTH, SELECT) and a PING, then closed: OK
  // when Redis took it, PERMISSION_DENIED with Redis's answer when it refused
  // (a wrong password or user: worth stopping for at start, as retrying
  // cannot help), UNAVAILABLE when it cannot be reached (which the client
  // rides out in the background).
  static absl::Status CheckHandshake(const RedisClientOptions& options);

  ~PipelinedRedisClient() override;

  // On the connection with the fewest commands queued or in its round trip
  // (ties in turn), so that a connection waiting on a long batch or a slow
  // reply does not hold up a command another could send now.
  void Execute(std::vector<std::string> argv, ReplyCallback done) override;
  // On one connection (chosen as for Execute), in order, queued a
  // pipeline's length (max_pipeline) at a time.
  void ExecuteAll(std::vector<std::vector<std::string>> commands,
                  std::vector<ReplyCallback> done) override;
  bool connected() const override;

  // Queues `commands` back to back on the connection `affinity` picks
  // (affinity modulo the connections; the next live one while it is down):
  // nothing else is sent between them, and commands given the same affinity
  // go out in the order they were queued while that connection stays up.
  // Redis Cluster needs both: ASKING must immediately precede its command,
  // and a slot's commands keep their order. `done[i]` answers `commands[i]`;
  // all of them fail together when none can be queued.
  void ExecuteInOrder(size_t affinity,
                      std::vector<std::vector<std::string>> commands,
                      std::vector<ReplyCallback> done);

  // Sends what is queued (while Redis answers), fails what cannot be sent,
  // and stops the connection threads. Later commands fail with UNAVAILABLE.
  void Shutdown();

  class Connection;

 private:
  explicit PipelinedRedisClient(RedisClientOptions options,
                                RedisMetrics* metrics);
  // The live connection with the fewest commands outstanding; ties (and
  // none up) go round-robin.
  size_t LeastBusy();

  RedisClientOptions options_;
  std::string address_;
  RedisMetrics* metrics_;  // may be null
  std::vector<std::unique_ptr<Connection>> connections_;
  std::atomic<size_t> next_connection_{0};
};

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_PIPELINED_REDIS_CLIENT_H_

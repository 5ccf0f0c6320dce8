// A RedisClient for Redis Cluster: each command goes to the master serving
// its first key's slot, over one PipelinedRedisClient per master, so the rest
// of the hub does not know whether it talks to one Redis or to a cluster.
//
// The slot map comes from CLUSTER SLOTS: read at start, again on every
// redirection, lost connection or CLUSTERDOWN (at most once per
// min_refresh_gap), and every refresh_interval. Replies Redis Cluster gives
// while it moves slots or fails over are handled here, invisibly to callers:
//   MOVED       the slot now lives elsewhere: the map is updated and the
//               command resent there (up to max_redirects times);
//   ASK         the slot is being migrated and this key already moved:
//               ASKING and the command are sent back to back on one
//               connection to the target, for this command only;
//   TRYAGAIN, CLUSTERDOWN, READONLY, MASTERDOWN, LOADING, and a master that
//               cannot be reached (the command was not sent): the map is
//               refreshed and the command resent with backoff until the
//               call's deadline (or retry_window), then UNAVAILABLE.
// A command whose connection broke after it was written fails UNAVAILABLE
// as with one Redis: it may have run, and only the caller knows whether
// sending it again is safe (ingest is idempotent).
//
// A slot's commands use one connection of its master, so one customer's
// commands (one hash tag, one slot) keep their order. Reads go to masters
// only: no stale reads from replicas. NOSCRIPT after a failover needs nothing
// here: RedisScript answers it with EVAL, routed to the same node.
//
//   auto client = ClusterRedisClient::Create({.seeds = {"10.0.0.1:6379"}},
//                                            &metrics);
//   (*client)->Execute({"GET", key}, [](absl::StatusOr<Reply> reply) {...});
#ifndef OMNIHUB_COMMON_REDIS_CLUSTER_CLUSTER_REDIS_CLIENT_H_
#define OMNIHUB_COMMON_REDIS_CLUSTER_CLUSTER_REDIS_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/pipelined_redis_client.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_metrics.h"
#include "common/redis_cluster/command_route.h"
#include "common/redis_cluster/slot_map.h"

namespace omnihub::redis_cluster {

struct ClusterOptions {
  // "host:port" of a few cluster nodes (any role); the rest are learnt.
  std::vector<std::string> seeds;
  // Each master's client is made from these; host and port are ignored.
  redis::RedisClientOptions node;
  absl::Duration refresh_interval = absl::Seconds(10);
  absl::Duration min_refresh_gap = absl::Milliseconds(100);
  // How long a command is resent while the cluster fails over or moves its
  // slot, when the call has no earlier deadline.
  absl::Duration retry_window = absl::Seconds(5);
  absl::Duration retry_backoff = absl::Milliseconds(10);
  int max_redirects = 16;
};

class ClusterRedisClient final : public redis::RedisClient {
 public:
  // Reads the slot map from the first seed that answers. Never fails because
  // the cluster is down: it keeps trying in the background, and commands
  // fail with UNAVAILABLE meanwhile. INVALID_ARGUMENT for unusable options.
  static absl::StatusOr<std::unique_ptr<ClusterRedisClient>> Create(
      ClusterOptions options, redis::RedisMetrics* metrics);
  ~ClusterRedisClient() override;

  // INVALID_ARGUMENT (inline) for commands that cannot be routed
  // (command_route.h). Commands for every master (SCRIPT LOAD, FLUSHALL,
  // CONFIG SET) answer the first error, else the first master's reply.
  void Execute(std::vector<std::string> argv,
               redis::ReplyCallback done) override;
  // True while every slot has a master and every master is connected.
  bool connected() const override;

  // The masters as the map has them now, each a client of its own, for the
  // commands that must run node by node (SCAN). Valid until the client is
  // destroyed.
  std::vector<redis::RedisClient*> Masters();
  // The same masters, named "host:port" and ordered by name, each with the
  // first slot it serves; empty while some slot has no master, or when a
  // master cannot be connected to.
  std::vector<redis::KeyspaceNode> KeyspaceNodes() override;
  // Reads the slot map again (soon, in the background).
  void NodesMayHaveChanged() override { RequestRefresh(); }

  // Blocking: reads the slot map now. A master new to the map is connected
  // to before the map is used (up to node.connect_timeout), so a node that
  // KeyspaceNodes() gives can be sent to at once.
  absl::Status RefreshSlotMap();

  // Fails what waits for a retry, then stops every master's client.
  void Shutdown();

  struct Attempt;

 private:
  ClusterRedisClient(ClusterOptions options, redis::RedisMetrics* metrics);

  void Send(std::unique_ptr<Attempt> attempt);
  void SendToSlot(std::unique_ptr<Attempt> attempt);
  void SendToAnyMaster(std::unique_ptr<Attempt> attempt);
  void SendToAllMasters(std::unique_ptr<Attempt> attempt);
  void SendAsking(std::unique_ptr<Attempt> attempt, const std::string& target);
  redis::ReplyCallback HandleReplyOf(std::unique_ptr<Attempt> attempt);
  void OnReply(std::unique_ptr<Attempt> attempt,
               absl::StatusOr<redis::Reply> reply);
  // Resends after a backoff, or answers `last` once the retry window ends.
  void RetryLater(std::unique_ptr<Attempt> attempt,
                  absl::StatusOr<redis::Reply> last);

  redis::PipelinedRedisClient* NodeLocked(const std::string& address)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  redis::PipelinedRedisClient* Node(const std::string& address);
  void RebuildSlotOwnersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void RequestRefresh();
  void RunRefresher();
  void RunTimers();

  const ClusterOptions options_;
  redis::RedisMetrics* const metrics_;

  mutable absl::Mutex mutex_;
  SlotMap map_ ABSL_GUARDED_BY(mutex_);
  std::vector<redis::PipelinedRedisClient*> slot_owner_ ABSL_GUARDED_BY(mutex_);
  // Never removed before the client goes: callbacks in flight use them.
  absl::flat_hash_map<std::string, std::unique_ptr<redis::PipelinedRedisClient>>
      nodes_ ABSL_GUARDED_BY(mutex_);
  size_t next_any_master_ ABSL_GUARDED_BY(mutex_) = 0;

  absl::Mutex refresh_mutex_;
  bool refresh_requested_ ABSL_GUARDED_BY(refresh_mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(refresh_mutex_) = false;
  std::multimap<absl::Time, std::unique_ptr<Attempt>> timers_
      ABSL_GUARDED_BY(refresh_mutex_);

  std::thread refresher_;
  std::thread timer_thread_;
};

}  // namespace omnihub::redis_cluster

#endif  // OMNIHUB_COMMON_REDIS_CLUSTER_CLUSTER_REDIS_CLIENT_H_

// How sure the hub is that what it acknowledged survives Redis failing
// (--durability), and the checks and waits that make it so.
//
//   none     Redis's own persistence, whatever it is configured to (the
//            shipped appendfsync everysec loses up to about a second of
//            acknowledged writes when Redis crashes).
//   fsync    Redis writes each write to its append-only file and fsyncs it
//            before answering (appendonly yes, appendfsync always). The hub
//            checks that at start and refuses to start otherwise.
//   replica  after a batch's writes the hub waits (WAIT) until `replicas`
//            replicas have them, and answers the batch UNAVAILABLE (send
//            again; ingest is idempotent) when they do not within `timeout`:
//            a replica promoted after the master dies has every acknowledged
//            event. On a Redis Cluster a batch's customers live on several
//            masters: the wait is on every master, each after a write of
//            its own (a marker key whose hash tag puts it on that master).
//
//   ReplicaBarrier barrier(own_client.get(), {.replicas = 1, ...});
//   barrier.Wait([](absl::Status replicated) { ... });
#ifndef OMNIHUB_SERVICES_TIMELINE_DURABILITY_H_
#define OMNIHUB_SERVICES_TIMELINE_DURABILITY_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/redis_client.h"

namespace omnihub::timeline {

enum class Durability { kNone, kFsync, kReplica };

// "none", "fsync" or "replica"; INVALID_ARGUMENT naming the flag otherwise.
absl::StatusOr<Durability> ParseDurability(absl::string_view text);

// Blocking: whether Redis is configured for `durability` (for kFsync,
// appendonly yes and appendfsync always; nothing to check otherwise).
// FAILED_PRECONDITION saying what to change when it is not; UNAVAILABLE when
// it cannot be asked (unreachable, or CONFIG refused).
absl::Status CheckRedisDurability(redis::RedisClient& client,
                                  Durability durability);

struct ReplicaBarrierOptions {
  int replicas = 1;
  absl::Duration timeout = absl::Seconds(1);
  // The marker, written (INCR) before each WAIT so that the WAIT covers
  // every write Redis answered before it, on whichever connection, is
  // key_prefix + "{durability}:wait" on one Redis, and on a cluster's
  // master key_prefix + "{durability-N}:wait" with N chosen so the key
  // lives on that master.
  std::string key_prefix = "omnihub:";
};

// Waits until enough replicas have every write answered so far. Rounds are
// shared: callers arriving while one WAIT is out share the next.
class ReplicaBarrier {
 public:
  // `client` is the barrier's own (one connection per node): WAIT holds its
  // connection until the replicas answer, and must follow the marker on it.
  // Its KeyspaceNodes() are the nodes waited on: one Redis, or every master
  // of a cluster. Shut `client` down before destroying the barrier: its
  // callbacks use the barrier, even after they have answered the waiters.
  ReplicaBarrier(redis::RedisClient* client, ReplicaBarrierOptions options);

  // `done` gets OK, or UNAVAILABLE when fewer replicas than asked answered
  // in time on some node (or it could not be asked). Runs on a Redis client
  // thread, or inline when Redis is known to be down.
  void Wait(absl::AnyInvocable<void(absl::Status) &&> done);

 private:
  using Waiter = absl::AnyInvocable<void(absl::Status) &&>;
  void SendRound(std::vector<Waiter> round);
  void FinishRound(std::vector<Waiter> round, const absl::Status& status);
  std::string MarkerKey(const redis::KeyspaceNode& node);

  redis::RedisClient* client_;
  const ReplicaBarrierOptions options_;
  absl::Mutex mutex_;
  std::vector<Waiter> waiting_ ABSL_GUARDED_BY(mutex_);
  bool in_flight_ ABSL_GUARDED_BY(mutex_) = false;
  // Per slot, the marker key living in it.
  absl::flat_hash_map<int, std::string> markers_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_DURABILITY_H_

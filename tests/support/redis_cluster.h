// A real Redis Cluster for one test: 3 masters and 3 replicas, each a
// redis-server (tests/support/redis_server.h) on a free loopback port, joined
// by `redis-cli --cluster create`; stopped and removed when the object goes.
//
//   auto cluster = RedisCluster::Start();
//   ASSERT_TRUE(cluster.ok()) << cluster.status();
//   auto client = (*cluster)->ConnectClient();              // as the hub's
//   int master = (*cluster)->MasterOfSlot(KeySlot(key));   // node index
//   (*cluster)->MoveSlot(slot, master, other);              // MOVED
//   (*cluster)->Kill(master);                              // kill -9
//   (*cluster)->Promote((*cluster)->ReplicaOf(master));     // failover
#ifndef OMNIHUB_TESTS_SUPPORT_REDIS_CLUSTER_H_
#define OMNIHUB_TESTS_SUPPORT_REDIS_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_cluster/cluster_redis_client.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {

class RedisCluster {
 public:
  // Waits until every node says cluster_state:ok and knows its peers.
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Start(
      int masters = 3, int replicas_per_master = 1);
  ~RedisCluster();

  int size() const { return static_cast<int>(nodes_.size()); }
  RedisServer& node(int index) { return *nodes_[index]; }
  // "host:port" of every node.
  std::vector<std::string> Seeds() const;

  // A cluster client made as the hub makes one: seeded with one node only,
  // so it must learn the others from the cluster; a command with no reply
  // in 2 s fails rather than the test hanging on a dead node.
  absl::StatusOr<std::unique_ptr<redis_cluster::ClusterRedisClient>>
  ConnectClient(int connections_per_master = 2) const;

  // Node indices, as the live nodes see it now (CLUSTER NODES).
  absl::StatusOr<int> MasterOfSlot(int slot);
  absl::StatusOr<int> ReplicaOf(int master);
  absl::StatusOr<std::string> NodeId(int index);

  // CLUSTER SETSLOT <slot> NODE <to>, on every live node, after moving the
  // slot's keys: the old master answers MOVED from now on.
  absl::Status MoveSlot(int slot, int from, int to);
  // The first half of a migration: `to` IMPORTING, `from` MIGRATING, and
  // `keys` (of that slot) MIGRATEd; `from` answers ASK for them now.
  absl::Status StartMigration(int slot, int from, int to,
                              const std::vector<std::string>& keys);

  // Waits until the replica has everything its master has written.
  absl::Status WaitForReplica(int replica);

  // SIGKILL; the node is left out of the checks below from now on.
  absl::Status Kill(int index);
  // Starts a killed node again on its port, with its nodes.conf: it rejoins
  // the cluster (as a replica, when its slots were failed over meanwhile).
  absl::Status Restart(int index);

  // CLUSTER FAILOVER TAKEOVER on a replica, then waits until it is master
  // and every live node agrees on cluster_state:ok.
  absl::Status Promote(int replica);
  absl::Status WaitUntilOk(absl::Duration timeout);

 private:
  RedisCluster() = default;
  absl::StatusOr<int> IndexOfAddress(const std::string& address) const;
  // The CLUSTER NODES lines of some live node, split into words.
  absl::StatusOr<std::vector<std::vector<std::string>>> ClusterNodes();

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<bool> alive_;
};

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_SUPPORT_REDIS_CLUSTER_H_

// ReplicaBarrier on a real 3-master, 3-replica Redis Cluster: a batch's
// writes land on several masters, so the barrier must wait on each of them.
#include "services/timeline/durability.h"

#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/redis/blocking_calls.h"
#include "common/redis_cluster/cluster_redis_client.h"
#include "common/redis_cluster/key_slot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_cluster.h"

namespace omnihub::timeline {
namespace {

using redis_cluster::ClusterRedisClient;
using redis_cluster::KeySlot;
using redis_cluster::kSlotCount;
using ::testing::HasSubstr;

class ClusterReplicaBarrierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::RedisCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto writer = cluster_->ConnectClient();
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = *std::move(writer);
    // As the hub makes it: a client of its own, one connection per master.
    auto barrier_client = cluster_->ConnectClient(/*connections_per_master=*/1);
    ASSERT_TRUE(barrier_client.ok()) << barrier_client.status();
    barrier_client_ = *std::move(barrier_client);
    barrier_ = std::make_unique<ReplicaBarrier>(
        barrier_client_.get(),
        ReplicaBarrierOptions{.replicas = 1,
                              .timeout = absl::Milliseconds(300)});
  }

  void TearDown() override {
    // The client first, as the hub does: its callbacks use the barrier, and
    // one may still be finishing its round after it answered the last
    // waiter.
    if (barrier_client_) barrier_client_->Shutdown();
    barrier_.reset();
    if (writer_) writer_->Shutdown();
  }

  absl::Status WaitForReplicas() {
    absl::Notification done;
    absl::Status result;
    barrier_->Wait([&](absl::Status status) {
      result = std::move(status);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  // A key served by master `master` (a node index).
  std::string KeyOn(int master) {
    for (int n = 0; n < 100000; ++n) {
      std::string key = absl::StrCat("k", n);
      absl::StatusOr<int> owner = cluster_->MasterOfSlot(KeySlot(key));
      if (owner.ok() && *owner == master) return key;
    }
    return "";
  }

  // Writes one key on every master, as a batch of customers does.
  void WriteEverywhere(const std::vector<int>& masters) {
    for (int master : masters) {
      absl::StatusOr<redis::Reply> set =
          redis::CallAndWait(*writer_, {"SET", KeyOn(master), "v"});
      ASSERT_TRUE(set.ok() && !set->is_error());
    }
  }

  std::vector<int> Masters() {
    std::vector<int> masters;
    for (int slot = 0; slot < kSlotCount; slot += 128) {
      absl::StatusOr<int> master = cluster_->MasterOfSlot(slot);
      if (master.ok() &&
          std::find(masters.begin(), masters.end(), *master) == masters.end()) {
        masters.push_back(*master);
      }
    }
    return masters;
  }

  std::unique_ptr<testing::RedisCluster> cluster_;
  std::unique_ptr<ClusterRedisClient> writer_;
  std::unique_ptr<ClusterRedisClient> barrier_client_;
  std::unique_ptr<ReplicaBarrier> barrier_;
};

// Every master is waited on: a master whose replica stops confirming makes
// the barrier answer UNAVAILABLE naming it, whichever master it is (not only
// the one a single marker key would live on); once the replica is back, or
// the master is failed over and the old one rejoins as a replica, the
// barrier confirms again, with no new barrier or client.
TEST_F(ClusterReplicaBarrierTest, WaitsOnEveryMasterAndFollowsAFailover) {
  const std::vector<int> masters = Masters();
  ASSERT_EQ(masters.size(), 3u);
  for (int master : masters) {  // the replicas' first sync
    absl::StatusOr<int> replica = cluster_->ReplicaOf(master);
    ASSERT_TRUE(replica.ok()) << replica.status();
    ASSERT_TRUE(cluster_->WaitForReplica(*replica).ok());
  }
  WriteEverywhere(masters);
  absl::Status first = WaitForReplicas();
  ASSERT_TRUE(first.ok()) << first;

  for (int master : masters) {
    SCOPED_TRACE(absl::StrCat("master ", cluster_->node(master).address()));
    absl::StatusOr<int> replica = cluster_->ReplicaOf(master);
    ASSERT_TRUE(replica.ok()) << replica.status();
    ASSERT_TRUE(cluster_->node(*replica).Signal(SIGSTOP).ok());
    WriteEverywhere(masters);
    absl::Status stalled = WaitForReplicas();
    ASSERT_TRUE(cluster_->node(*replica).Signal(SIGCONT).ok());
    EXPECT_TRUE(absl::IsUnavailable(stalled)) << stalled;
    EXPECT_THAT(stalled.message(), HasSubstr(cluster_->node(master).address()));
    ASSERT_TRUE(cluster_->WaitForReplica(*replica).ok());
    EXPECT_TRUE(WaitForReplicas().ok());
  }

  // A failover: the promoted replica has no replica of its own until the
  // killed master comes back as one.
  const int killed = masters[0];
  absl::StatusOr<int> promoted = cluster_->ReplicaOf(killed);
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  ASSERT_TRUE(cluster_->Kill(killed).ok());
  ASSERT_TRUE(cluster_->Promote(*promoted).ok());
  EXPECT_FALSE(WaitForReplicas().ok());
  ASSERT_TRUE(cluster_->Restart(killed).ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  absl::Status last;
  while (absl::Now() < give_up) {
    last = WaitForReplicas();
    if (last.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(last.ok()) << last;
  // And the barrier now waits on the promoted master.
  bool waits_on_promoted = false;
  for (const redis::KeyspaceNode& node : barrier_client_->KeyspaceNodes()) {
    waits_on_promoted |= node.name == cluster_->node(*promoted).address();
  }
  EXPECT_TRUE(waits_on_promoted);
}

}  // namespace
}  // namespace omnihub::timeline

// ClusterRedisClient against a real 3-master, 3-replica Redis Cluster.
#include "common/redis_cluster/cluster_redis_client.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/keyspace_scan.h"
#include "common/redis/redis_script.h"
#include "common/redis_cluster/key_slot.h"
#include "gtest/gtest.h"
#include "tests/support/redis_cluster.h"

namespace omnihub::redis_cluster {
namespace {

using redis::CallAndWait;
using redis::Reply;

class ClusterRedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::RedisCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto client = cluster_->ConnectClient();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::string Get(const std::string& key) {
    absl::StatusOr<Reply> reply = CallAndWait(*client_, {"GET", key});
    if (!reply.ok()) return absl::StrCat("failed: ", reply.status().message());
    if (reply->is_error()) return absl::StrCat("error reply: ", reply->str);
    return reply->str;
  }

  // A master other than `master`.
  absl::StatusOr<int> OtherMaster(int master) {
    for (int slot = 0; slot < kSlotCount; slot += 1000) {
      absl::StatusOr<int> other = cluster_->MasterOfSlot(slot);
      if (!other.ok()) return other.status();
      if (*other != master) return *other;
    }
    return absl::NotFoundError("one master only");
  }

  std::unique_ptr<testing::RedisCluster> cluster_;
  std::unique_ptr<ClusterRedisClient> client_;
};

TEST_F(ClusterRedisClientTest, RoutesKeysOfEverySlotToTheirMaster) {
  EXPECT_TRUE(client_->connected());
  // Our slots agree with the server's, hash tags included.
  for (int i = 0; i < 200; ++i) {
    const std::string key =
        i % 2 ? absl::StrCat("omnihub:{c:", i, "}:view") : absl::StrCat("k", i);
    absl::StatusOr<Reply> slot =
        cluster_->node(0).Command({"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(slot.ok()) << slot.status();
    EXPECT_EQ(KeySlot(key), slot->integer) << key;
  }
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 300; ++i) {
    sets.push_back({"SET", absl::StrCat("{c:", i, "}:name"), absl::StrCat(i)});
  }
  for (const auto& reply : redis::CallAllAndWait(*client_, sets)) {
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->str, "OK");
  }
  for (int i = 0; i < 300; i += 7) {
    EXPECT_EQ(Get(absl::StrCat("{c:", i, "}:name")), absl::StrCat(i));
  }
  // Every master holds some of them: the keys were really spread.
  int masters_with_keys = 0;
  for (int i = 0; i < cluster_->size(); ++i) {
    absl::StatusOr<Reply> role = cluster_->node(i).Command({"ROLE"});
    ASSERT_TRUE(role.ok());
    if (role->elements[0].str != "master") continue;
    absl::StatusOr<Reply> size = cluster_->node(i).Command({"DBSIZE"});
    ASSERT_TRUE(size.ok());
    EXPECT_GT(size->integer, 50) << "master " << i;
    ++masters_with_keys;
  }
  EXPECT_EQ(masters_with_keys, 3);

  // A script runs on whichever master holds its key (NOSCRIPT then EVAL
  // loads it there), and SCRIPT LOAD loads it on every master.
  const redis::RedisScript script("return redis.call('GET', KEYS[1])");
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<Reply> reply = redis::RunAndWait(
        *client_, script, {absl::StrCat("{c:", i, "}:name")}, {});
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->str, absl::StrCat(i));
  }
  const redis::RedisScript loaded("return 42");
  absl::StatusOr<Reply> sha =
      CallAndWait(*client_, {"SCRIPT", "LOAD", loaded.source()});
  ASSERT_TRUE(sha.ok()) << sha.status();
  EXPECT_EQ(sha->str, loaded.sha1());
  for (int i = 0; i < cluster_->size(); ++i) {
    absl::StatusOr<Reply> role = cluster_->node(i).Command({"ROLE"});
    if (role->elements[0].str != "master") continue;
    absl::StatusOr<Reply> exists =
        cluster_->node(i).Command({"SCRIPT", "EXISTS", loaded.sha1()});
    ASSERT_TRUE(exists.ok());
    EXPECT_EQ(exists->elements[0].integer, 1) << "master " << i;
  }

  EXPECT_EQ(CallAndWait(*client_, {"PING"})->str, "PONG");
  absl::StatusOr<Reply> scan = CallAndWait(*client_, {"SCAN", "0"});
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Masters().size(), 3u);
}

TEST_F(ClusterRedisClientTest, ScansTheKeysOfEveryMasterBehindOneCursor) {
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 300; ++i) {
    sets.push_back({"SET", absl::StrCat("{c:", i, "}:name"), "x"});
    sets.push_back({"SET", absl::StrCat("{c:", i, "}:other"), "x"});
  }
  for (const auto& reply : redis::CallAllAndWait(*client_, sets)) {
    ASSERT_TRUE(reply.ok()) << reply.status();
  }
  const std::vector<redis::KeyspaceNode> nodes = client_->KeyspaceNodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_LT(nodes[0].name, nodes[1].name);

  const std::vector<std::string> options = {"MATCH", "{c:*}:name", "COUNT",
                                            "20"};
  auto scan_from = [&](std::string cursor, std::set<std::string>* keys) {
    int steps = 0;
    do {
      absl::StatusOr<redis::KeyspaceScanStep> step =
          redis::ScanKeyspace(*client_, cursor, options);
      if (!step.ok()) return step.status();
      EXPECT_FALSE(step->restarted) << cursor;
      keys->insert(step->keys.begin(), step->keys.end());
      cursor = step->cursor;
      ++steps;
    } while (cursor != "0" && steps < 1000);
    return absl::OkStatus();
  };
  std::set<std::string> keys;
  ASSERT_TRUE(scan_from("0", &keys).ok());
  // Each master holds about a third: one node's SCAN would find ~100.
  ASSERT_EQ(keys.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_TRUE(keys.contains(absl::StrCat("{c:", i, "}:name"))) << i;
  }

  // The cursor of a later node, kept and continued (as the lifecycle pass
  // does from Redis), goes on from that node.
  absl::StatusOr<redis::KeyspaceScanStep> first = redis::ScanKeyspace(
      *client_, "0", {"MATCH", "{c:*}:name", "COUNT", "100000"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_NE(first->cursor, "0");
  ASSERT_TRUE(absl::EndsWith(first->cursor, "-1-0")) << first->cursor;
  std::set<std::string> rest;
  ASSERT_TRUE(scan_from(first->cursor, &rest).ok());
  EXPECT_EQ(first->keys.size() + rest.size(), 300u);

  // A cursor made when the masters were others (a failover since) starts
  // the scan again from the first node.
  absl::StatusOr<redis::KeyspaceScanStep> stale =
      redis::ScanKeyspace(*client_, "0123456789abcdef-1-5",
                          {"MATCH", "{c:*}:name", "COUNT", "100000"});
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_TRUE(stale->restarted);
  EXPECT_EQ(stale->keys, first->keys);

  // A real failover between two steps: the master scanned next is gone,
  // its replica serves its slots; the kept cursor starts the scan again and
  // the scan still finds every key.
  absl::StatusOr<int> master = cluster_->MasterOfSlot(0);
  ASSERT_TRUE(master.ok()) << master.status();
  absl::StatusOr<int> replica = cluster_->ReplicaOf(*master);
  ASSERT_TRUE(replica.ok()) << replica.status();
  ASSERT_TRUE(cluster_->WaitForReplica(*replica).ok());
  ASSERT_TRUE(cluster_->Kill(*master).ok());
  ASSERT_TRUE(cluster_->Promote(*replica).ok());
  ASSERT_TRUE(client_->RefreshSlotMap().ok());
  // The promoted replica is a master the client never talked to: once the
  // map names it, it is connected and answers at once, not "not connected
  // yet" (a scan step or barrier round sent to it right after the refresh
  // used to fail so).
  EXPECT_TRUE(client_->connected());
  const std::vector<redis::KeyspaceNode> after = client_->KeyspaceNodes();
  ASSERT_EQ(after.size(), 3u);
  const std::string promoted = cluster_->node(*replica).address();
  auto on_promoted = std::find_if(
      after.begin(), after.end(),
      [&](const redis::KeyspaceNode& node) { return node.name == promoted; });
  ASSERT_NE(on_promoted, after.end()) << promoted;
  absl::StatusOr<Reply> promoted_size =
      CallAndWait(*on_promoted->client, {"DBSIZE"});
  ASSERT_TRUE(promoted_size.ok()) << promoted_size.status();
  EXPECT_GT(promoted_size->integer, 0);
  absl::StatusOr<redis::KeyspaceScanStep> after_failover =
      redis::ScanKeyspace(*client_, first->cursor, options);
  ASSERT_TRUE(after_failover.ok()) << after_failover.status();
  EXPECT_TRUE(after_failover->restarted);
  std::set<std::string> all(after_failover->keys.begin(),
                            after_failover->keys.end());
  ASSERT_TRUE(scan_from(after_failover->cursor, &all).ok());
  EXPECT_EQ(all.size(), 300u);

  // A slot no master serves: its keys cannot be scanned, so no scan is
  // taken rather than one that misses them.
  for (int i = 0; i < cluster_->size(); ++i) {
    if (i == *master) continue;  // killed
    ASSERT_TRUE(cluster_->node(i).Command({"CLUSTER", "DELSLOTS", "0"}).ok());
  }
  ASSERT_TRUE(client_->RefreshSlotMap().ok());
  EXPECT_TRUE(client_->KeyspaceNodes().empty());
  absl::StatusOr<redis::KeyspaceScanStep> uncovered =
      redis::ScanKeyspace(*client_, "0", options);
  EXPECT_EQ(uncovered.status().code(), absl::StatusCode::kUnavailable)
      << uncovered.status();
}

// A scan step whose master is gone (killed, its replica promoted) fails,
// and has the slot map read again at once rather than at the next periodic
// refresh: the scan, continued with the cursor it had, starts over on the
// new masters and finds every key.
TEST_F(ClusterRedisClientTest, AScanThatFindsItsMasterGoneReadsTheMapAgain) {
  ClusterOptions options;
  options.seeds = {cluster_->Seeds()[0]};
  options.refresh_interval = absl::Minutes(10);  // not what helps here
  absl::StatusOr<std::unique_ptr<ClusterRedisClient>> scanner =
      ClusterRedisClient::Create(options, nullptr);
  ASSERT_TRUE(scanner.ok()) << scanner.status();
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 300; ++i) {
    sets.push_back({"SET", absl::StrCat("{c:", i, "}:name"), "x"});
  }
  for (const auto& reply : redis::CallAllAndWait(*client_, sets)) {
    ASSERT_TRUE(reply.ok()) << reply.status();
  }
  absl::StatusOr<int> master = cluster_->MasterOfSlot(0);
  ASSERT_TRUE(master.ok()) << master.status();
  absl::StatusOr<int> replica = cluster_->ReplicaOf(*master);
  ASSERT_TRUE(replica.ok()) << replica.status();
  ASSERT_TRUE(cluster_->WaitForReplica(*replica).ok());
  ASSERT_TRUE(cluster_->Kill(*master).ok());
  ASSERT_TRUE(cluster_->Promote(*replica).ok());

  // The scanner's map still has the killed master: a scan from the start
  // visits it, fails there, and is taken up again with its cursor.
  const absl::Time give_up = absl::Now() + absl::Seconds(3);
  std::string cursor = "0";
  std::set<std::string> keys;
  int failed_steps = 0;
  bool finished = false;
  while (!finished && absl::Now() < give_up) {
    absl::StatusOr<redis::KeyspaceScanStep> step = redis::ScanKeyspace(
        **scanner, cursor, {"MATCH", "{c:*}:name", "COUNT", "100"});
    if (!step.ok()) {
      EXPECT_EQ(step.status().code(), absl::StatusCode::kUnavailable)
          << step.status();
      ++failed_steps;
      absl::SleepFor(absl::Milliseconds(20));
      continue;
    }
    if (step->restarted) keys.clear();
    keys.insert(step->keys.begin(), step->keys.end());
    cursor = step->cursor;
    finished = cursor == "0";
  }
  EXPECT_GE(failed_steps, 1);  // the killed master was visited
  EXPECT_TRUE(finished) << "still failing after " << failed_steps
                        << " failed steps";
  EXPECT_EQ(keys.size(), 300u);
}

TEST_F(ClusterRedisClientTest, FollowsMovedAndAsk) {
  const std::string moved_key = "{hot-customer}:view";
  ASSERT_EQ(CallAndWait(*client_, {"SET", moved_key, "before"})->str, "OK");
  const int slot = KeySlot(moved_key);
  absl::StatusOr<int> from = cluster_->MasterOfSlot(slot);
  ASSERT_TRUE(from.ok()) << from.status();
  absl::StatusOr<int> to = OtherMaster(*from);
  ASSERT_TRUE(to.ok()) << to.status();

  // MOVED: the client's map still says `from`.
  absl::Status moved = cluster_->MoveSlot(slot, *from, *to);
  ASSERT_TRUE(moved.ok()) << moved;
  EXPECT_EQ(Get(moved_key), "before");
  ASSERT_EQ(CallAndWait(*client_, {"SET", moved_key, "after"})->str, "OK");
  absl::StatusOr<Reply> on_target = cluster_->node(*to).Command(
      {"CLUSTER", "COUNTKEYSINSLOT", absl::StrCat(slot)});
  EXPECT_EQ(on_target->integer, 1);

  // ASK: a slot half migrated; the moved key is only on the target, which
  // serves it only after ASKING.
  const std::string migrated = "{asked}:a";
  const std::string staying = "{asked}:b";
  ASSERT_EQ(CallAndWait(*client_, {"SET", migrated, "on target"})->str, "OK");
  ASSERT_EQ(CallAndWait(*client_, {"SET", staying, "on source"})->str, "OK");
  const int asked_slot = KeySlot(migrated);
  absl::StatusOr<int> source = cluster_->MasterOfSlot(asked_slot);
  ASSERT_TRUE(source.ok());
  absl::StatusOr<int> target = OtherMaster(*source);
  ASSERT_TRUE(target.ok());
  ASSERT_TRUE(
      cluster_->StartMigration(asked_slot, *source, *target, {migrated}).ok());
  EXPECT_EQ(Get(migrated), "on target");
  EXPECT_EQ(Get(staying), "on source");
  // A new key of a migrating slot is created on the target.
  ASSERT_EQ(CallAndWait(*client_, {"SET", "{asked}:new", "x"})->str, "OK");
  absl::StatusOr<Reply> created = cluster_->node(*target).Command(
      {"CLUSTER", "COUNTKEYSINSLOT", absl::StrCat(asked_slot)});
  EXPECT_EQ(created->integer, 2);
  // The source still owns the slot: the map was not changed by ASK.
  EXPECT_EQ(*cluster_->MasterOfSlot(asked_slot), *source);

  // TRYAGAIN: a multi-key command whose keys are split between source and
  // target is resent with backoff until the migration ends.
  absl::Status finished;
  std::thread finish([&] {
    absl::SleepFor(absl::Milliseconds(300));
    finished = cluster_->MoveSlot(asked_slot, *source, *target);
  });
  absl::StatusOr<Reply> both =
      CallAndWait(*client_, {"MGET", migrated, staying});
  finish.join();
  ASSERT_TRUE(finished.ok()) << finished;
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->elements.size(), 2u) << both->str;
  EXPECT_EQ(both->elements[0].str, "on target");
  EXPECT_EQ(both->elements[1].str, "on source");
}

TEST_F(ClusterRedisClientTest,
       RecoversWhenAMasterIsKilledAndItsReplicaPromoted) {
  const std::string key = "{failover}:counter";
  const redis::RedisScript script(
      "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  ASSERT_TRUE(redis::RunAndWait(*client_, script, {key}, {"1"}).ok());
  absl::StatusOr<int> master = cluster_->MasterOfSlot(KeySlot(key));
  ASSERT_TRUE(master.ok());
  absl::StatusOr<int> replica = cluster_->ReplicaOf(*master);
  ASSERT_TRUE(replica.ok()) << replica.status();
  // The replica has the write before its master dies (what it would lose
  // otherwise is Redis's asynchronous replication, not the client's doing).
  ASSERT_TRUE(cluster_->WaitForReplica(*replica).ok());

  // Keep the other masters busy meanwhile: they must not notice.
  std::atomic<bool> stop{false};
  std::atomic<int> other_failures{0};
  std::thread load([&] {
    for (int i = 0; !stop; ++i) {
      const std::string other = absl::StrCat("{other:", i % 50, "}:x");
      if (KeySlot(other) == KeySlot(key)) continue;
      absl::StatusOr<Reply> reply = CallAndWait(*client_, {"SET", other, "1"});
      if (!reply.ok() || reply->is_error()) {
        // Keys of the dead master's other slots fail until the failover;
        // counted only for slots of live masters below.
        absl::StatusOr<int> owner = cluster_->MasterOfSlot(KeySlot(other));
        if (owner.ok() && *owner != *master) ++other_failures;
      }
    }
  });

  const absl::Time killed_at = absl::Now();
  absl::Status killed = cluster_->Kill(*master);
  // A command already written when its master dies fails as with one Redis
  // (it may have run); the client notices the loss at its next idle PING.
  const absl::Time noticed_by = absl::Now() + absl::Seconds(5);
  while (client_->connected() && absl::Now() < noticed_by) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const bool noticed = !client_->connected();
  // A command sent while the master is gone waits for the failover (within
  // its retry window) instead of failing.
  absl::StatusOr<Reply> during;
  std::thread waiting(
      [&] { during = redis::RunAndWait(*client_, script, {key}, {"10"}); });
  absl::SleepFor(absl::Milliseconds(300));
  absl::Status promoted = cluster_->Promote(*replica);
  waiting.join();
  const absl::Duration recovery = absl::Now() - killed_at;
  stop = true;
  load.join();
  ASSERT_TRUE(killed.ok()) << killed;
  EXPECT_TRUE(noticed);
  ASSERT_TRUE(promoted.ok()) << promoted;
  ASSERT_TRUE(during.ok()) << during.status();
  ASSERT_FALSE(during->is_error()) << during->str;
  EXPECT_EQ(during->integer, 11);
  EXPECT_EQ(other_failures, 0);

  absl::StatusOr<Reply> after =
      redis::RunAndWait(*client_, script, {key}, {"1"});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->integer, 12);
  const absl::Time reconnect_by = absl::Now() + absl::Seconds(5);
  while (!client_->connected() && absl::Now() < reconnect_by) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(client_->connected());
  std::cout << "recovered " << absl::FormatDuration(recovery)
            << " after the master was killed\n";
}

}  // namespace
}  // namespace omnihub::redis_cluster

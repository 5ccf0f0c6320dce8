#include "tests/support/redis_cluster.h"

#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/support/child_process.h"

namespace omnihub::testing {
namespace {

// The cluster bus listens on port + 10000.
constexpr int kHighestUsablePort = 65535 - 10000;

absl::StatusOr<std::unique_ptr<RedisServer>> StartClusterNode() {
  absl::Status last = absl::UnavailableError("no port tried");
  for (int attempt = 0; attempt < 10; ++attempt) {
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start(
        {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
         "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor",
         "0", "--appendonly", "no"});
    if (!server.ok()) {
      last = server.status();  // e.g. the bus port was taken
      continue;
    }
    if ((*server)->port() > kHighestUsablePort) continue;
    return server;
  }
  return last;
}

std::string FindRedisCli() {
  for (const char* place : {"/usr/bin/redis-cli", "/usr/local/bin/redis-cli"}) {
    if (access(place, X_OK) == 0) return place;
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Start(
    int masters, int replicas_per_master) {
  const std::string cli = FindRedisCli();
  if (cli.empty()) return absl::NotFoundError("redis-cli is not installed");
  std::unique_ptr<RedisCluster> cluster(new RedisCluster());
  const int total = masters * (1 + replicas_per_master);
  for (int i = 0; i < total; ++i) {
    absl::StatusOr<std::unique_ptr<RedisServer>> node = StartClusterNode();
    if (!node.ok()) return node.status();
    cluster->nodes_.push_back(*std::move(node));
    cluster->alive_.push_back(true);
  }
  std::vector<std::string> args = {"--cluster", "create"};
  for (const std::string& seed : cluster->Seeds()) args.push_back(seed);
  args.insert(args.end(), {"--cluster-replicas",
                           absl::StrCat(replicas_per_master), "--cluster-yes"});
  char log[] = "/tmp/omnihub-cluster-create-XXXXXX";
  const int fd = mkstemp(log);
  if (fd >= 0) close(fd);
  absl::StatusOr<std::unique_ptr<ChildProcess>> create =
      ChildProcess::Start(cli, args, {}, log);
  if (!create.ok()) return create.status();
  absl::StatusOr<int> exit = (*create)->Wait(absl::Seconds(30));
  unlink(log);
  if (!exit.ok()) return exit.status();
  if (*exit != 0) {
    return absl::InternalError(
        absl::StrCat("redis-cli --cluster create exited with ", *exit));
  }
  if (absl::Status ok = cluster->WaitUntilOk(absl::Seconds(20)); !ok.ok()) {
    return ok;
  }
  return cluster;
}

RedisCluster::~RedisCluster() {
  // SIGTERM would make each master wait for its replicas (Redis 7's
  // shutdown-timeout): seconds per test for nothing.
  for (int i = 0; i < size(); ++i) {
    if (alive_[i]) nodes_[i]->Kill().IgnoreError();
  }
}

absl::Status RedisCluster::WaitForReplica(int replica) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  auto offset = [this](int index, absl::string_view field) -> int64_t {
    absl::StatusOr<redis::Reply> info =
        nodes_[index]->Command({"INFO", "replication"});
    if (!info.ok()) return -1;
    for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
      if (absl::ConsumePrefix(&line, field) &&
          absl::ConsumePrefix(&line, ":")) {
        int64_t value = -1;
        if (absl::SimpleAtoi(line, &value)) return value;
      }
    }
    return -1;
  };
  while (absl::Now() < give_up) {
    absl::StatusOr<redis::Reply> role = nodes_[replica]->Command({"ROLE"});
    if (!role.ok()) return role.status();
    if (role->elements.size() >= 5 && role->elements[3].str == "connected") {
      const auto master = IndexOfAddress(
          absl::StrCat(role->elements[1].str, ":", role->elements[2].integer));
      if (!master.ok()) return master.status();
      const int64_t wanted = offset(*master, "master_repl_offset");
      if (wanted >= 0 && offset(replica, "slave_repl_offset") >= wanted) {
        return absl::OkStatus();
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("node ", replica, " never caught up with its master"));
}

std::vector<std::string> RedisCluster::Seeds() const {
  std::vector<std::string> seeds;
  for (const auto& node : nodes_) seeds.push_back(node->address());
  return seeds;
}

absl::StatusOr<std::unique_ptr<redis_cluster::ClusterRedisClient>>
RedisCluster::ConnectClient(int connections_per_master) const {
  redis_cluster::ClusterOptions options;
  options.seeds = {nodes_[0]->address()};
  options.node.command_timeout = absl::Seconds(2);
  options.node.connections = connections_per_master;
  return redis_cluster::ClusterRedisClient::Create(std::move(options), nullptr);
}

absl::Status RedisCluster::WaitUntilOk(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  std::string last;
  while (absl::Now() < give_up) {
    bool all_ok = true;
    for (int i = 0; i < size() && all_ok; ++i) {
      if (!alive_[i]) continue;
      absl::StatusOr<redis::Reply> info =
          nodes_[i]->Command({"CLUSTER", "INFO"});
      if (!info.ok() || !absl::StrContains(info->str, "cluster_state:ok") ||
          !absl::StrContains(info->str, "cluster_slots_ok:16384")) {
        all_ok = false;
        last = info.ok() ? info->str : std::string(info.status().message());
        continue;
      }
      // Every live node must also see every slot served by a live master,
      // or clients following its map would be sent to a dead node.
      absl::StatusOr<redis::Reply> slots =
          nodes_[i]->Command({"CLUSTER", "SLOTS"});
      if (!slots.ok()) {
        all_ok = false;
        continue;
      }
      for (const redis::Reply& range : slots->elements) {
        const std::string address =
            absl::StrCat(range.elements[2].elements[0].str, ":",
                         range.elements[2].elements[1].integer);
        absl::StatusOr<int> index = IndexOfAddress(address);
        if (!index.ok() || !alive_[*index]) {
          all_ok = false;
          last = absl::StrCat("node ", i, " still sends slots to ", address);
        }
      }
    }
    if (all_ok) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("the Redis Cluster never became ok: ", last));
}

absl::StatusOr<int> RedisCluster::IndexOfAddress(
    const std::string& address) const {
  std::string plain = address.substr(0, address.find('@'));
  for (int i = 0; i < size(); ++i) {
    if (nodes_[i]->address() == plain) return i;
  }
  return absl::NotFoundError(absl::StrCat("no node at ", address));
}

absl::StatusOr<std::vector<std::vector<std::string>>>
RedisCluster::ClusterNodes() {
  for (int i = 0; i < size(); ++i) {
    if (!alive_[i]) continue;
    absl::StatusOr<redis::Reply> reply =
        nodes_[i]->Command({"CLUSTER", "NODES"});
    if (!reply.ok()) continue;
    std::vector<std::vector<std::string>> lines;
    for (absl::string_view line :
         absl::StrSplit(reply->str, '\n', absl::SkipEmpty())) {
      lines.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
    }
    return lines;
  }
  return absl::UnavailableError("no live node answered CLUSTER NODES");
}

absl::StatusOr<int> RedisCluster::MasterOfSlot(int slot) {
  absl::StatusOr<std::vector<std::vector<std::string>>> lines = ClusterNodes();
  if (!lines.ok()) return lines.status();
  for (const auto& words : *lines) {
    // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <state> <slots>
    if (words.size() < 8 || !absl::StrContains(words[2], "master") ||
        absl::StrContains(words[2], "fail")) {
      continue;
    }
    for (size_t w = 8; w < words.size(); ++w) {
      if (words[w][0] == '[') continue;  // a slot being imported or migrated
      std::vector<std::string> range = absl::StrSplit(words[w], '-');
      const int first = std::stoi(range[0]);
      const int last = range.size() > 1 ? std::stoi(range[1]) : first;
      if (slot >= first && slot <= last) return IndexOfAddress(words[1]);
    }
  }
  return absl::NotFoundError(absl::StrCat("no master serves slot ", slot));
}

absl::StatusOr<std::string> RedisCluster::NodeId(int index) {
  absl::StatusOr<redis::Reply> id = nodes_[index]->Command({"CLUSTER", "MYID"});
  if (!id.ok()) return id.status();
  return id->str;
}

absl::StatusOr<int> RedisCluster::ReplicaOf(int master) {
  // Asked of the replicas themselves: the others learn it by gossip, later.
  for (int i = 0; i < size(); ++i) {
    if (!alive_[i] || i == master) continue;
    absl::StatusOr<redis::Reply> role = nodes_[i]->Command({"ROLE"});
    if (!role.ok() || role->elements.size() < 3 ||
        role->elements[0].str != "slave") {
      continue;
    }
    if (role->elements[2].integer == nodes_[master]->port()) return i;
  }
  return absl::NotFoundError(absl::StrCat("node ", master, " has no replica"));
}

absl::Status RedisCluster::StartMigration(
    int slot, int from, int to, const std::vector<std::string>& keys) {
  absl::StatusOr<std::string> from_id = NodeId(from);
  absl::StatusOr<std::string> to_id = NodeId(to);
  if (!from_id.ok()) return from_id.status();
  if (!to_id.ok()) return to_id.status();
  const std::string s = absl::StrCat(slot);
  auto check = [](absl::StatusOr<redis::Reply> reply,
                  absl::string_view what) -> absl::Status {
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) {
      return absl::InternalError(absl::StrCat(what, ": ", reply->str));
    }
    return absl::OkStatus();
  };
  if (auto st = check(
          nodes_[to]->Command({"CLUSTER", "SETSLOT", s, "IMPORTING", *from_id}),
          "IMPORTING");
      !st.ok()) {
    return st;
  }
  if (auto st = check(
          nodes_[from]->Command({"CLUSTER", "SETSLOT", s, "MIGRATING", *to_id}),
          "MIGRATING");
      !st.ok()) {
    return st;
  }
  for (const std::string& key : keys) {
    if (auto st = check(nodes_[from]->Command({"MIGRATE", nodes_[to]->host(),
                                               absl::StrCat(nodes_[to]->port()),
                                               key, "0", "5000"}),
                        "MIGRATE");
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::MoveSlot(int slot, int from, int to) {
  absl::StatusOr<redis::Reply> keys = nodes_[from]->Command(
      {"CLUSTER", "GETKEYSINSLOT", absl::StrCat(slot), "100000"});
  if (!keys.ok()) return keys.status();
  std::vector<std::string> names;
  for (const redis::Reply& key : keys->elements) names.push_back(key.str);
  if (absl::Status st = StartMigration(slot, from, to, names); !st.ok()) {
    return st;
  }
  absl::StatusOr<std::string> to_id = NodeId(to);
  if (!to_id.ok()) return to_id.status();
  // The new owner first, as the specification recommends, then the rest.
  std::vector<int> order = {to, from};
  for (int i = 0; i < size(); ++i) {
    if (i != to && i != from && alive_[i]) order.push_back(i);
  }
  for (int i : order) {
    absl::StatusOr<redis::Reply> set = nodes_[i]->Command(
        {"CLUSTER", "SETSLOT", absl::StrCat(slot), "NODE", *to_id});
    if (!set.ok()) return set.status();
    // A replica refuses SETSLOT; it learns the change from its master.
    if (set->is_error() && !absl::StrContains(set->str, "only with masters")) {
      return absl::InternalError(absl::StrCat("SETSLOT NODE: ", set->str));
    }
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::Kill(int index) {
  alive_[index] = false;
  return nodes_[index]->Kill();
}

absl::Status RedisCluster::Restart(int index) {
  if (absl::Status started = nodes_[index]->Restart(); !started.ok()) {
    return started;
  }
  alive_[index] = true;
  return absl::OkStatus();
}

absl::Status RedisCluster::Promote(int replica) {
  absl::StatusOr<redis::Reply> takeover =
      nodes_[replica]->Command({"CLUSTER", "FAILOVER", "TAKEOVER"});
  if (!takeover.ok()) return takeover.status();
  if (takeover->is_error()) {
    return absl::InternalError(absl::StrCat("FAILOVER: ", takeover->str));
  }
  return WaitUntilOk(absl::Seconds(15));
}

}  // namespace omnihub::testing

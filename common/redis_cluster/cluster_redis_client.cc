#include "common/redis_cluster/cluster_redis_client.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/redis/call_scope.h"
#include "common/redis_cluster/key_slot.h"

namespace omnihub::redis_cluster {

struct ClusterRedisClient::Attempt {
  std::vector<std::string> argv;
  redis::ReplyCallback done;
  CommandRoute route;
  absl::Time retry_until;
  int redirects = 0;
  int retries = 0;
};

namespace {

// PipelinedRedisClient's fail-fast answer: the command never left the hub,
// so sending it again cannot run it twice.
bool WasNotSent(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         absl::StrContains(status.message(), " is unreachable: ");
}

// "MOVED 3999 127.0.0.1:6381" and "ASK 3999 127.0.0.1:6381".
struct Redirection {
  bool ask = false;
  int slot = -1;
  std::string address;
};

std::optional<Redirection> ParseRedirection(const std::string& error) {
  std::vector<std::string> words = absl::StrSplit(error, ' ');
  if (words.size() != 3 || (words[0] != "MOVED" && words[0] != "ASK")) {
    return std::nullopt;
  }
  Redirection redirection;
  redirection.ask = words[0] == "ASK";
  if (!absl::SimpleAtoi(words[1], &redirection.slot) || redirection.slot < 0 ||
      redirection.slot >= kSlotCount) {
    return std::nullopt;
  }
  redirection.address = std::move(words[2]);
  // Redis 7 may announce ":port" for the node itself when it has no known
  // address for it; such a reply is not usable as is.
  if (absl::StartsWith(redirection.address, ":")) return std::nullopt;
  return redirection;
}

// Error replies meaning "not now, and nothing was done": worth a resend.
bool IsTransient(const std::string& error) {
  return absl::StartsWith(error, "TRYAGAIN") ||
         absl::StartsWith(error, "CLUSTERDOWN") ||
         absl::StartsWith(error, "READONLY") ||
         absl::StartsWith(error, "MASTERDOWN") ||
         absl::StartsWith(error, "LOADING");
}

// Polls: PipelinedRedisClient connects in its own threads and says nothing
// when it is done.
void AwaitConnected(const std::vector<redis::PipelinedRedisClient*>& nodes,
                    absl::Time deadline) {
  for (redis::PipelinedRedisClient* node : nodes) {
    while (!node->connected() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
}

std::pair<std::string, int> SplitAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return {"", 0};
  }
  return {address.substr(0, colon), port};
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClusterRedisClient>> ClusterRedisClient::Create(
    ClusterOptions options, redis::RedisMetrics* metrics) {
  if (options.seeds.empty()) {
    return absl::InvalidArgumentError(
        "a Redis Cluster needs at least one seed node (host:port)");
  }
  for (const std::string& seed : options.seeds) {
    auto [host, port] = SplitAddress(seed);
    if (host.empty() || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Redis Cluster seed must be host:port, got \"", seed, "\""));
    }
  }
  if (options.node.connections < 1 || options.max_redirects < 1) {
    return absl::InvalidArgumentError(
        "Redis Cluster connections and max_redirects must be at least 1");
  }
  std::unique_ptr<ClusterRedisClient> client(
      new ClusterRedisClient(std::move(options), metrics));
  if (absl::Status status = client->RefreshSlotMap(); !status.ok()) {
    log::Warning(
        "Redis Cluster slot map unknown at start (%s); retrying in the "
        "background",
        status.message());
  }
  client->refresher_ = std::thread([c = client.get()] { c->RunRefresher(); });
  client->timer_thread_ = std::thread([c = client.get()] { c->RunTimers(); });
  return client;
}

ClusterRedisClient::ClusterRedisClient(ClusterOptions options,
                                       redis::RedisMetrics* metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      slot_owner_(kSlotCount, nullptr) {}

ClusterRedisClient::~ClusterRedisClient() { Shutdown(); }

void ClusterRedisClient::Shutdown() {
  std::multimap<absl::Time, std::unique_ptr<Attempt>> waiting;
  {
    absl::MutexLock lock(&refresh_mutex_);
    stopping_ = true;
    waiting.swap(timers_);
  }
  if (refresher_.joinable()) refresher_.join();
  if (timer_thread_.joinable()) timer_thread_.join();
  for (auto& [when, attempt] : waiting) {
    std::move(attempt->done)(
        absl::UnavailableError("the Redis Cluster client has been shut down"));
  }
  std::vector<redis::PipelinedRedisClient*> nodes;
  {
    absl::MutexLock lock(&mutex_);
    for (auto& [address, node] : nodes_) nodes.push_back(node.get());
  }
  // Not under mutex_: their callbacks may route again, which takes it.
  for (redis::PipelinedRedisClient* node : nodes) node->Shutdown();
}

bool ClusterRedisClient::connected() const {
  absl::ReaderMutexLock lock(&mutex_);
  if (!map_.complete()) return false;
  for (const std::string& master : map_.masters()) {
    auto it = nodes_.find(master);
    if (it == nodes_.end() || !it->second->connected()) return false;
  }
  return true;
}

std::vector<redis::RedisClient*> ClusterRedisClient::Masters() {
  absl::MutexLock lock(&mutex_);
  std::vector<redis::RedisClient*> masters;
  for (const std::string& master : map_.masters()) {
    masters.push_back(NodeLocked(master));
  }
  return masters;
}

std::vector<redis::KeyspaceNode> ClusterRedisClient::KeyspaceNodes() {
  absl::MutexLock lock(&mutex_);
  std::vector<redis::KeyspaceNode> nodes;
  // Keys of a slot with no master could be anywhere, or nowhere: a scan of
  // the masters known would silently miss them.
  if (!map_.complete()) return nodes;
  const std::vector<int> first_slots = map_.FirstSlots();
  for (size_t i = 0; i < map_.masters().size(); ++i) {
    const std::string& master = map_.masters()[i];
    redis::RedisClient* client = NodeLocked(master);
    if (client == nullptr) return {};
    nodes.push_back({master, client, first_slots[i]});
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const redis::KeyspaceNode& a, const redis::KeyspaceNode& b) {
              return a.name < b.name;
            });
  return nodes;
}

redis::PipelinedRedisClient* ClusterRedisClient::NodeLocked(
    const std::string& address) {
  auto it = nodes_.find(address);
  if (it != nodes_.end()) return it->second.get();
  redis::RedisClientOptions node_options = options_.node;
  auto [host, port] = SplitAddress(address);
  node_options.host = host;
  node_options.port = port;
  absl::StatusOr<std::unique_ptr<redis::PipelinedRedisClient>> node =
      redis::PipelinedRedisClient::Create(node_options, metrics_);
  if (!node.ok()) {
    log::Warning("Redis Cluster node %s is unusable: %s", address,
                 node.status().message());
    return nullptr;
  }
  redis::PipelinedRedisClient* raw = node->get();
  nodes_.emplace(address, *std::move(node));
  return raw;
}

redis::PipelinedRedisClient* ClusterRedisClient::Node(
    const std::string& address) {
  absl::MutexLock lock(&mutex_);
  return NodeLocked(address);
}

void ClusterRedisClient::RebuildSlotOwnersLocked() {
  for (int slot = 0; slot < kSlotCount; ++slot) {
    const std::string& master = map_.master_of(slot);
    slot_owner_[slot] = master.empty() ? nullptr : NodeLocked(master);
  }
}

void ClusterRedisClient::Execute(std::vector<std::string> argv,
                                 redis::ReplyCallback done) {
  absl::StatusOr<CommandRoute> route = RouteOf(argv);
  if (!route.ok()) {
    std::move(done)(route.status());
    return;
  }
  if (absl::Status wanted = redis::CurrentCallStatus(); !wanted.ok()) {
    std::move(done)(std::move(wanted));
    return;
  }
  auto attempt = std::make_unique<Attempt>();
  attempt->argv = std::move(argv);
  attempt->done = std::move(done);
  attempt->route = *route;
  attempt->retry_until = std::min(redis::CurrentCallScope().deadline,
                                  absl::Now() + options_.retry_window);
  Send(std::move(attempt));
}

void ClusterRedisClient::Send(std::unique_ptr<Attempt> attempt) {
  switch (attempt->route.kind) {
    case CommandRoute::Kind::kSlot:
      return SendToSlot(std::move(attempt));
    case CommandRoute::Kind::kAnyMaster:
      return SendToAnyMaster(std::move(attempt));
    case CommandRoute::Kind::kAllMasters:
      return SendToAllMasters(std::move(attempt));
  }
}

void ClusterRedisClient::SendToSlot(std::unique_ptr<Attempt> attempt) {
  const int slot = attempt->route.slot;
  redis::PipelinedRedisClient* node;
  {
    absl::ReaderMutexLock lock(&mutex_);
    node = slot_owner_[slot];
  }
  if (node == nullptr) {
    RequestRefresh();
    return RetryLater(std::move(attempt),
                      absl::UnavailableError(absl::StrCat(
                          "no Redis Cluster master serves slot ", slot)));
  }
  std::vector<std::vector<std::string>> commands = {attempt->argv};
  std::vector<redis::ReplyCallback> done;
  done.push_back(HandleReplyOf(std::move(attempt)));
  node->ExecuteInOrder(static_cast<size_t>(slot), std::move(commands),
                       std::move(done));
}

void ClusterRedisClient::SendToAnyMaster(std::unique_ptr<Attempt> attempt) {
  redis::PipelinedRedisClient* node = nullptr;
  {
    absl::MutexLock lock(&mutex_);
    const std::vector<std::string>& masters = map_.masters();
    if (!masters.empty()) {
      node = NodeLocked(masters[next_any_master_++ % masters.size()]);
    }
  }
  if (node == nullptr) {
    RequestRefresh();
    return RetryLater(std::move(attempt),
                      absl::UnavailableError("no Redis Cluster master known"));
  }
  std::vector<std::string> argv = attempt->argv;
  node->Execute(std::move(argv), HandleReplyOf(std::move(attempt)));
}

void ClusterRedisClient::SendToAllMasters(std::unique_ptr<Attempt> attempt) {
  std::vector<redis::PipelinedRedisClient*> nodes;
  {
    absl::MutexLock lock(&mutex_);
    for (const std::string& master : map_.masters()) {
      if (auto* node = NodeLocked(master)) nodes.push_back(node);
    }
  }
  if (nodes.empty()) {
    RequestRefresh();
    return RetryLater(std::move(attempt),
                      absl::UnavailableError("no Redis Cluster master known"));
  }
  // The first failure, else the first error reply, else the first reply.
  struct Gathered {
    absl::Mutex mutex;
    size_t left;
    std::optional<absl::StatusOr<redis::Reply>> answer;
    int answer_rank = 0;  // 3 failure, 2 error reply, 1 reply
    redis::ReplyCallback done;
  };
  auto gathered = std::make_shared<Gathered>();
  gathered->left = nodes.size();
  gathered->done = std::move(attempt->done);
  for (redis::PipelinedRedisClient* node : nodes) {
    node->Execute(
        attempt->argv, [gathered](absl::StatusOr<redis::Reply> reply) {
          const int rank = !reply.ok() ? 3 : reply->is_error() ? 2 : 1;
          std::optional<absl::StatusOr<redis::Reply>> answer;
          {
            absl::MutexLock lock(&gathered->mutex);
            if (rank > gathered->answer_rank) {
              gathered->answer = std::move(reply);
              gathered->answer_rank = rank;
            }
            if (--gathered->left > 0) return;
            answer = std::move(gathered->answer);
          }
          std::move(gathered->done)(*std::move(answer));
        });
  }
}

void ClusterRedisClient::SendAsking(std::unique_ptr<Attempt> attempt,
                                    const std::string& target) {
  redis::PipelinedRedisClient* node = Node(target);
  if (node == nullptr) {
    std::move(attempt->done)(absl::UnavailableError(
        absl::StrCat("Redis Cluster asked for unusable node ", target)));
    return;
  }
  const size_t affinity = static_cast<size_t>(attempt->route.slot);
  std::vector<std::vector<std::string>> commands = {{"ASKING"}, attempt->argv};
  std::vector<redis::ReplyCallback> done;
  // ASKING's own answer says nothing the command's answer will not.
  done.push_back([](absl::StatusOr<redis::Reply>) {});
  done.push_back(HandleReplyOf(std::move(attempt)));
  node->ExecuteInOrder(affinity, std::move(commands), std::move(done));
}

redis::ReplyCallback ClusterRedisClient::HandleReplyOf(
    std::unique_ptr<Attempt> attempt) {
  return [this, attempt = std::move(attempt)](
             absl::StatusOr<redis::Reply> reply) mutable {
    OnReply(std::move(attempt), std::move(reply));
  };
}

void ClusterRedisClient::OnReply(std::unique_ptr<Attempt> attempt,
                                 absl::StatusOr<redis::Reply> reply) {
  if (!reply.ok()) {
    if (reply.status().code() == absl::StatusCode::kUnavailable) {
      RequestRefresh();
    }
    if (WasNotSent(reply.status())) {
      return RetryLater(std::move(attempt), std::move(reply));
    }
    std::move(attempt->done)(std::move(reply));
    return;
  }
  if (!reply->is_error()) {
    std::move(attempt->done)(std::move(reply));
    return;
  }
  if (std::optional<Redirection> redirection = ParseRedirection(reply->str)) {
    if (++attempt->redirects > options_.max_redirects) {
      std::move(attempt->done)(std::move(reply));
      return;
    }
    if (redirection->ask)
      return SendAsking(std::move(attempt), redirection->address);
    {
      absl::MutexLock lock(&mutex_);
      map_.Assign(redirection->slot, redirection->address);
      slot_owner_[redirection->slot] = NodeLocked(redirection->address);
    }
    RequestRefresh();
    return Send(std::move(attempt));
  }
  if (IsTransient(reply->str)) {
    if (!absl::StartsWith(reply->str, "TRYAGAIN")) RequestRefresh();
    return RetryLater(std::move(attempt), std::move(reply));
  }
  std::move(attempt->done)(std::move(reply));
}

void ClusterRedisClient::RetryLater(std::unique_ptr<Attempt> attempt,
                                    absl::StatusOr<redis::Reply> last) {
  const absl::Duration backoff =
      options_.retry_backoff * (1 << std::min(attempt->retries, 5));
  const absl::Time when = absl::Now() + backoff;
  if (when >= attempt->retry_until) {
    if (last.ok()) {
      // Still refused when the window closed: the cluster cannot serve it.
      last = absl::UnavailableError(
          absl::StrCat("Redis Cluster could not serve ", attempt->argv[0],
                       " in time: ", last->str));
    }
    std::move(attempt->done)(std::move(last));
    return;
  }
  ++attempt->retries;
  {
    absl::MutexLock lock(&refresh_mutex_);
    if (!stopping_) {
      timers_.emplace(when, std::move(attempt));
      return;
    }
  }
  std::move(attempt->done)(
      absl::UnavailableError("the Redis Cluster client has been shut down"));
}

void ClusterRedisClient::RunTimers() {
  while (true) {
    std::vector<std::unique_ptr<Attempt>> due;
    {
      absl::MutexLock lock(&refresh_mutex_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(refresh_mutex_) {
        return stopping_ ||
               (!timers_.empty() && timers_.begin()->first <= absl::Now());
      };
      const absl::Duration wait =
          timers_.empty() ? absl::Milliseconds(100)
                          : std::max(timers_.begin()->first - absl::Now(),
                                     absl::ZeroDuration());
      refresh_mutex_.AwaitWithTimeout(absl::Condition(&ready), wait);
      if (stopping_) return;
      const absl::Time now = absl::Now();
      while (!timers_.empty() && timers_.begin()->first <= now) {
        due.push_back(std::move(timers_.begin()->second));
        timers_.erase(timers_.begin());
      }
    }
    for (auto& attempt : due) Send(std::move(attempt));
  }
}

void ClusterRedisClient::RequestRefresh() {
  absl::MutexLock lock(&refresh_mutex_);
  refresh_requested_ = true;
}

void ClusterRedisClient::RunRefresher() {
  absl::Time last_refresh = absl::Now();
  while (true) {
    {
      absl::MutexLock lock(&refresh_mutex_);
      auto wanted = [this]() ABSL_SHARED_LOCKS_REQUIRED(refresh_mutex_) {
        return stopping_ || refresh_requested_;
      };
      refresh_mutex_.AwaitWithDeadline(
          absl::Condition(&wanted), last_refresh + options_.refresh_interval);
      if (stopping_) return;
      refresh_requested_ = false;
    }
    if (absl::Status status = RefreshSlotMap(); !status.ok()) {
      log::Warning("Redis Cluster slot map not refreshed: %s",
                   status.message());
    }
    last_refresh = absl::Now();
    absl::MutexLock lock(&refresh_mutex_);
    refresh_mutex_.AwaitWithTimeout(absl::Condition(&stopping_),
                                    options_.min_refresh_gap);
    if (stopping_) return;
  }
}

absl::Status ClusterRedisClient::RefreshSlotMap() {
  // Known masters first (they know the newest map), then the seeds.
  std::vector<std::string> candidates;
  {
    absl::ReaderMutexLock lock(&mutex_);
    candidates = map_.masters();
  }
  for (const std::string& seed : options_.seeds) {
    if (std::find(candidates.begin(), candidates.end(), seed) ==
        candidates.end()) {
      candidates.push_back(seed);
    }
  }
  std::string errors;
  for (const std::string& address : candidates) {
    bool known;
    redis::PipelinedRedisClient* node;
    {
      absl::MutexLock lock(&mutex_);
      known = nodes_.contains(address);
      node = NodeLocked(address);
    }
    if (node == nullptr) continue;
    // A client made just now is still connecting; a known one that is down
    // (a master just killed) is not waited for.
    if (!known) {
      AwaitConnected({node}, absl::Now() + options_.node.connect_timeout);
    }
    absl::Notification answered;
    absl::StatusOr<redis::Reply> reply;
    node->Execute({"CLUSTER", "SLOTS"}, [&](absl::StatusOr<redis::Reply> r) {
      reply = std::move(r);
      answered.Notify();
    });
    answered.WaitForNotification();
    absl::StatusOr<SlotMap> map =
        reply.ok()
            ? SlotMap::FromClusterSlots(*reply, SplitAddress(address).first)
            : absl::StatusOr<SlotMap>(reply.status());
    if (!map.ok() || map->masters().empty()) {
      absl::StrAppend(&errors, errors.empty() ? "" : "; ", address, ": ",
                      map.ok() ? "no slots assigned" : map.status().message());
      continue;
    }
    // A master new to the map (a promoted replica) gets a client that is
    // still connecting. The map names it only once that client is up (or
    // connect_timeout has passed: then it is really unreachable), else the
    // callers of KeyspaceNodes (a scan, the replica barrier), which talk to
    // it directly without the retries above, would fail at once although
    // it serves.
    std::vector<redis::PipelinedRedisClient*> new_masters;
    {
      absl::MutexLock lock(&mutex_);
      const std::vector<std::string>& known_masters = map_.masters();
      for (const std::string& master : map->masters()) {
        if (std::find(known_masters.begin(), known_masters.end(), master) !=
            known_masters.end()) {
          continue;
        }
        if (redis::PipelinedRedisClient* client = NodeLocked(master)) {
          new_masters.push_back(client);
        }
      }
    }
    AwaitConnected(new_masters, absl::Now() + options_.node.connect_timeout);
    absl::MutexLock lock(&mutex_);
    map_ = *std::move(map);
    RebuildSlotOwnersLocked();
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("no Redis Cluster node answered CLUSTER SLOTS: ", errors));
}

}  // namespace omnihub::redis_cluster

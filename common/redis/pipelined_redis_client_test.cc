// The pipelined client against a real redis-server.
#include "common/redis/pipelined_redis_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/call_scope.h"
#include "common/redis/keyspace_scan.h"
#include "common/redis/redis_script.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace omnihub::redis {
namespace {

using ::omnihub::testing::RedisServer;

// Generous: a lost callback fails the test instead of hanging it.
constexpr auto kReplyWait = std::chrono::seconds(30);

absl::StatusOr<Reply> Await(std::future<absl::StatusOr<Reply>>& future) {
  if (future.wait_for(kReplyWait) != std::future_status::ready) {
    return absl::DeadlineExceededError("test: the callback never ran");
  }
  return future.get();
}

std::future<absl::StatusOr<Reply>> CallAsync(RedisClient& client,
                                             std::vector<std::string> argv) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<Reply>>>();
  auto future = promise->get_future();
  client.Execute(std::move(argv), [promise](absl::StatusOr<Reply> reply) {
    promise->set_value(std::move(reply));
  });
  return future;
}

absl::StatusOr<Reply> Call(RedisClient& client, std::vector<std::string> argv) {
  auto future = CallAsync(client, std::move(argv));
  return Await(future);
}

// Waits until the server lists a client blocked in `command` (lower case).
bool WaitForBlockedCommand(RedisServer& server, absl::string_view command) {
  const std::string needle = absl::StrCat("cmd=", command, " ");
  for (int i = 0; i < 400; ++i) {
    absl::StatusOr<Reply> clients = server.Command({"CLIENT", "LIST"});
    if (clients.ok() && absl::StrContains(clients->str, needle)) return true;
    absl::SleepFor(absl::Milliseconds(25));
  }
  return false;
}

// Waits until the server lists `count` clients besides the one asking.
bool WaitForClients(RedisServer& server, int count) {
  for (int i = 0; i < 400; ++i) {
    absl::StatusOr<Reply> clients = server.Command({"CLIENT", "LIST"});
    if (clients.ok()) {
      int others = 0;
      for (absl::string_view line : absl::StrSplit(clients->str, '\n')) {
        if (absl::StrContains(line, "addr=") &&
            !absl::StrContains(line, "cmd=client")) {
          ++others;
        }
      }
      if (others >= count) return true;
    }
    absl::SleepFor(absl::Milliseconds(25));
  }
  return false;
}

absl::StatusOr<Reply> RunScript(RedisClient& client, const RedisScript& script,
                                std::vector<std::string> keys,
                                std::vector<std::string> args) {
  std::promise<absl::StatusOr<Reply>> promise;
  auto future = promise.get_future();
  script.Run(client, std::move(keys), std::move(args),
             [&promise](absl::StatusOr<Reply> reply) {
               promise.set_value(std::move(reply));
             });
  return Await(future);
}

bool WaitConnected(const RedisClient& client) {
  for (int i = 0; i < 200 && !client.connected(); ++i) {
    absl::SleepFor(absl::Milliseconds(25));
  }
  return client.connected();
}

class PipelinedRedisClientTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> args = {}) {
    auto server = RedisServer::Start(std::move(args));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    options_.port = server_->port();
  }
  void StartClient() {
    auto client = PipelinedRedisClient::Create(options_, &metrics_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_TRUE(WaitConnected(*client_));
  }

  prometheus::Registry registry_;
  RedisMetrics metrics_{registry_};
  RedisClientOptions options_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<PipelinedRedisClient> client_;
};

TEST_F(PipelinedRedisClientTest, RepliesOfEveryType) {
  StartServer();
  StartClient();
  EXPECT_EQ(Call(*client_, {"SET", "k", "v"})->type, Reply::Type::kStatus);
  absl::StatusOr<Reply> value = Call(*client_, {"GET", "k"});
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->type, Reply::Type::kString);
  EXPECT_EQ(value->str, "v");
  EXPECT_TRUE(Call(*client_, {"GET", "missing"})->is_nil());
  EXPECT_EQ(Call(*client_, {"INCRBY", "n", "41"})->integer, 41);
  Call(*client_, {"RPUSH", "list", "a", "b"}).IgnoreError();
  absl::StatusOr<Reply> list = Call(*client_, {"LRANGE", "list", "0", "-1"});
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_EQ(list->elements[1].str, "b");
  absl::StatusOr<Reply> error = Call(*client_, {"INCR", "k"});
  ASSERT_TRUE(error.ok());
  EXPECT_TRUE(error->is_error());
}

// CallAll hands its commands to one connection together: they run in the
// order given, nothing of another connection between them; an empty one
// fails alone.
TEST_F(PipelinedRedisClientTest, CommandsCalledTogetherRunInOrder) {
  StartServer();
  options_.connections = 4;
  StartClient();
  constexpr int kCommands = 2000;
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < kCommands; ++i) {
    commands.push_back({"INCR", "n"});
    if (i == kCommands / 2) commands.push_back({});
  }
  Replies replies = CallAllAndWait(*client_, commands);
  ASSERT_EQ(replies.size(), commands.size());
  int64_t expected = 1;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (commands[i].empty()) {
      EXPECT_EQ(replies[i].status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    ASSERT_TRUE(replies[i].ok()) << replies[i].status();
    EXPECT_EQ(replies[i]->integer, expected++) << "command " << i;
  }
  // Again without the empty one, on another key, and queued in pieces
  // shorter than the call.
  client_.reset();
  options_.max_pipeline = 64;
  StartClient();
  commands.assign(kCommands, {"INCR", "m"});
  replies = CallAllAndWait(*client_, commands);
  for (int i = 0; i < kCommands; ++i) {
    ASSERT_TRUE(replies[i].ok()) << replies[i].status();
    EXPECT_EQ(replies[i]->integer, i + 1) << "command " << i;
  }
}

// One Redis is one node: the keyspace scan is SCAN there, behind a cursor
// that names the node; a plain SCAN cursor (kept by an older build) starts
// the scan again.
TEST_F(PipelinedRedisClientTest, KeyspaceScanIsScanOnTheOneRedis) {
  StartServer();
  StartClient();
  ASSERT_EQ(client_->KeyspaceNodes().size(), 1u);
  EXPECT_EQ(client_->KeyspaceNodes()[0].client, client_.get());
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 50; ++i)
    sets.push_back({"SET", absl::StrCat("s", i), "x"});
  CallAllAndWait(*client_, sets);
  std::set<std::string> keys;
  std::string cursor = "0";
  int steps = 0;
  do {
    absl::StatusOr<KeyspaceScanStep> step =
        ScanKeyspace(*client_, cursor, {"MATCH", "s*", "COUNT", "5"});
    ASSERT_TRUE(step.ok()) << step.status();
    EXPECT_FALSE(step->restarted);
    keys.insert(step->keys.begin(), step->keys.end());
    cursor = step->cursor;
  } while (cursor != "0" && ++steps < 1000);
  EXPECT_EQ(keys.size(), 50u);

  absl::StatusOr<KeyspaceScanStep> old = ScanKeyspace(*client_, "17", {});
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->restarted);
}

TEST_F(PipelinedRedisClientTest, ManyConcurrentCallersShareFewConnections) {
  StartServer();
  options_.connections = 2;
  StartClient();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::atomic<int> ok{0};
  std::atomic<int> outstanding{kThreads * kPerThread};
  std::promise<void> all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        client_->Execute({"INCR", "counter"}, [&](absl::StatusOr<Reply> reply) {
          if (reply.ok() && reply->type == Reply::Type::kInteger) ++ok;
          if (--outstanding == 0) all_done.set_value();
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(all_done.get_future().wait_for(kReplyWait),
            std::future_status::ready)
      << outstanding.load() << " callbacks never ran";
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(Call(*client_, {"GET", "counter"})->str,
            absl::StrCat(kThreads * kPerThread));
  // Both connections were used, and no more: the server saw our 2 clients.
  absl::StatusOr<Reply> clients = server_->Command({"CLIENT", "LIST"});
  ASSERT_TRUE(clients.ok());
  EXPECT_EQ(std::count(clients->str.begin(), clients->str.end(), '\n'), 3);
}

TEST_F(PipelinedRedisClientTest, RedisDownFailsFastThenRecovers) {
  StartServer();
  StartClient();
  ASSERT_TRUE(server_->Kill().ok());
  // The first command may be the one that finds the connection broken.
  absl::StatusOr<Reply> during = Call(*client_, {"PING"});
  for (int i = 0; i < 100 && client_->connected(); ++i) {
    during = Call(*client_, {"PING"});
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_FALSE(client_->connected());
  const absl::Time before = absl::Now();
  during = Call(*client_, {"PING"});
  // Fails fast: no connect attempt, no timeout, on the caller's thread.
  EXPECT_LT(absl::Now() - before, absl::Seconds(1));
  EXPECT_EQ(during.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(during.status().message().find(server_->address()),
            std::string::npos)
      << during.status();

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(WaitConnected(*client_));
  absl::StatusOr<Reply> after = Call(*client_, {"PING"});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->str, "PONG");
}

TEST_F(PipelinedRedisClientTest, UnreachableAtStartIsUnavailableNotAnError) {
  auto port = ::omnihub::testing::PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  options_.port = *port;
  auto client = PipelinedRedisClient::Create(options_, &metrics_);
  ASSERT_TRUE(client.ok());
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE((*client)->connected());
  EXPECT_EQ(Call(**client, {"PING"}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Call(**client, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PipelinedRedisClientTest, CommandInFlightWhenRedisDiesIsUnavailable) {
  StartServer();
  options_.command_timeout = absl::Seconds(30);
  options_.connections = 1;
  StartClient();
  auto blocked = CallAsync(*client_, {"BLPOP", "never-filled", "0"});
  ASSERT_TRUE(WaitForBlockedCommand(*server_, "blpop"));
  ASSERT_TRUE(server_->Kill().ok());
  absl::StatusOr<Reply> reply = Await(blocked);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable)
      << reply.status();
  EXPECT_NE(reply.status().message().find(server_->address()),
            std::string::npos)
      << reply.status();
}

TEST_F(PipelinedRedisClientTest, FullQueueIsResourceExhausted) {
  StartServer();
  options_.command_timeout = absl::Seconds(30);
  options_.connections = 1;
  options_.max_queued = 1;
  StartClient();
  // The connection's thread waits on BLPOP with an empty queue behind it.
  auto blocked = CallAsync(*client_, {"BLPOP", "q", "0"});
  ASSERT_TRUE(WaitForBlockedCommand(*server_, "blpop"));
  auto queued = CallAsync(*client_, {"PING"});
  absl::StatusOr<Reply> refused = Call(*client_, {"PING"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  ASSERT_TRUE(server_->Command({"RPUSH", "q", "x"}).ok());
  absl::StatusOr<Reply> popped = Await(blocked);
  ASSERT_TRUE(popped.ok()) << popped.status();
  ASSERT_EQ(popped->elements.size(), 2u);
  EXPECT_EQ(popped->elements[1].str, "x");
  absl::StatusOr<Reply> pong = Await(queued);
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->str, "PONG");
}

// A command goes to the connection with the least outstanding: one waiting
// on a slow reply does not hold up commands the other can send at once (in
// turn, every other one would wait behind the BLPOP).
TEST_F(PipelinedRedisClientTest, CommandsGoAroundAConnectionWaitingOnAReply) {
  StartServer();
  options_.command_timeout = absl::Seconds(30);
  options_.connections = 2;
  StartClient();
  // Both connections up first: a command takes the only live one, so one
  // still connecting would leave the BLPOP's in the way (seen under TSan).
  ASSERT_TRUE(WaitForClients(*server_, 2));
  auto blocked = CallAsync(*client_, {"BLPOP", "q", "0"});
  ASSERT_TRUE(WaitForBlockedCommand(*server_, "blpop"));
  for (int i = 0; i < 6; ++i) {
    auto pong = CallAsync(*client_, {"PING"});
    ASSERT_EQ(pong.wait_for(std::chrono::seconds(5)), std::future_status::ready)
        << "PING " << i << " waited behind the BLPOP";
    absl::StatusOr<Reply> reply = pong.get();
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->str, "PONG");
  }
  // So do calls of several commands, in order.
  auto got = std::make_shared<std::promise<absl::StatusOr<Reply>>>();
  auto value = got->get_future();
  std::vector<ReplyCallback> callbacks;
  callbacks.push_back([](absl::StatusOr<Reply>) {});
  callbacks.push_back(
      [got](absl::StatusOr<Reply> reply) { got->set_value(std::move(reply)); });
  client_->ExecuteAll({{"SET", "k", "1"}, {"GET", "k"}}, std::move(callbacks));
  ASSERT_EQ(value.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "ExecuteAll waited behind the BLPOP";
  absl::StatusOr<Reply> read = value.get();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->str, "1");
  ASSERT_TRUE(server_->Command({"RPUSH", "q", "x"}).ok());
  absl::StatusOr<Reply> popped = Await(blocked);
  ASSERT_TRUE(popped.ok()) << popped.status();
  ASSERT_EQ(popped->elements.size(), 2u);
}

// The queue is bounded in bytes too: a few large commands fill it long
// before the command count would.
TEST_F(PipelinedRedisClientTest, QueueFullInBytesIsResourceExhausted) {
  StartServer();
  options_.command_timeout = absl::Seconds(30);
  options_.connections = 1;
  options_.max_queued_bytes = 1 << 20;
  StartClient();
  auto blocked = CallAsync(*client_, {"BLPOP", "q", "0"});
  ASSERT_TRUE(WaitForBlockedCommand(*server_, "blpop"));
  const std::string value(600 << 10, 'x');
  auto first = CallAsync(*client_, {"SET", "a", value});
  absl::StatusOr<Reply> refused = Call(*client_, {"SET", "b", value});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  EXPECT_NE(refused.status().message().find("bytes"), std::string::npos)
      << refused.status();
  // Small commands still fit beside the first.
  auto small = CallAsync(*client_, {"SET", "c", "1"});
  ASSERT_TRUE(server_->Command({"RPUSH", "q", "x"}).ok());
  ASSERT_TRUE(Await(blocked).ok());
  ASSERT_TRUE(Await(first).ok());
  ASSERT_TRUE(Await(small).ok());
  EXPECT_EQ(server_->Command({"EXISTS", "b"})->integer, 0);
  // Once sent, the bytes are free again.
  EXPECT_TRUE(Call(*client_, {"SET", "b", value}).ok());
}

// A command queued for a call whose deadline passes before it is sent is
// dropped, not sent: Redis never runs it.
TEST_F(PipelinedRedisClientTest, CommandPastItsCallsDeadlineIsNotSent) {
  StartServer();
  options_.command_timeout = absl::Seconds(30);
  options_.connections = 1;
  StartClient();
  auto blocked = CallAsync(*client_, {"BLPOP", "q", "0"});
  ASSERT_TRUE(WaitForBlockedCommand(*server_, "blpop"));
  std::future<absl::StatusOr<Reply>> late;
  {
    ScopedCall call({.deadline = absl::Now() + absl::Milliseconds(100)});
    late = CallAsync(*client_, {"SET", "late", "1"});
  }
  auto unbounded = CallAsync(*client_, {"SET", "unbounded", "1"});
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(server_->Command({"RPUSH", "q", "x"}).ok());
  ASSERT_TRUE(Await(blocked).ok());
  absl::StatusOr<Reply> dropped = Await(late);
  EXPECT_EQ(dropped.status().code(), absl::StatusCode::kDeadlineExceeded)
      << dropped.status();
  EXPECT_TRUE(Await(unbounded).ok());
  EXPECT_EQ(server_->Command({"EXISTS", "late"})->integer, 0);
  EXPECT_EQ(server_->Command({"EXISTS", "unbounded"})->integer, 1);
  // Already past, or cancelled: fails at once, nothing sent.
  ScopedCall cancelled({.cancelled = [] { return true; }});
  EXPECT_EQ(Call(*client_, {"SET", "cancelled", "1"}).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(CallAndWait(*client_, {"SET", "cancelled", "1"}).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(server_->Command({"EXISTS", "cancelled"})->integer, 0);
}

// At maxmemory with noeviction Redis refuses writes (OOM): that is a
// moment's refusal (UNAVAILABLE, send again), not an internal error.
TEST_F(PipelinedRedisClientTest, RedisFullIsUnavailable) {
  StartServer({"--maxmemory", "1mb", "--maxmemory-policy", "noeviction"});
  StartClient();
  const std::string value(64 << 10, 'x');
  absl::StatusOr<Reply> refused;
  for (int i = 0; i < 200; ++i) {
    refused = ErrorReplyAsStatus(
        Call(*client_, {"SET", absl::StrCat("k", i), value}), "a test write");
    if (!refused.ok()) break;
  }
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable)
      << refused.status();
  EXPECT_NE(refused.status().message().find("maxmemory"), std::string::npos)
      << refused.status();
}

TEST_F(PipelinedRedisClientTest, ShutdownSendsWhatIsQueuedThenRefuses) {
  StartServer();
  StartClient();
  constexpr int kCommands = 2000;
  std::atomic<int> ok{0};
  std::atomic<int> ran{0};
  for (int i = 0; i < kCommands; ++i) {
    client_->Execute({"INCR", "n"}, [&](absl::StatusOr<Reply> reply) {
      if (reply.ok()) ++ok;
      ++ran;
    });
  }
  client_->Shutdown();
  EXPECT_EQ(ran.load(), kCommands);
  EXPECT_EQ(ok.load(), kCommands);
  EXPECT_EQ(server_->Command({"GET", "n"})->str, absl::StrCat(kCommands));
  EXPECT_FALSE(client_->connected());
  EXPECT_EQ(Call(*client_, {"PING"}).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(PipelinedRedisClientTest, SlowReplyIsDeadlineExceeded) {
  StartServer({"--enable-debug-command", "yes"});
  options_.command_timeout = absl::Milliseconds(200);
  options_.connections = 1;
  StartClient();
  absl::StatusOr<Reply> slow = Call(*client_, {"DEBUG", "SLEEP", "1"});
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded)
      << slow.status();
  ASSERT_TRUE(WaitConnected(*client_));
  // The server may still be sleeping; allow it to finish.
  absl::StatusOr<Reply> after;
  for (int i = 0; i < 50; ++i) {
    after = Call(*client_, {"PING"});
    if (after.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST_F(PipelinedRedisClientTest, AuthAndSelectOnConnect) {
  StartServer({"--requirepass", "s3cret"});
  options_.password = "s3cret";
  options_.db = 3;
  StartClient();
  ASSERT_TRUE(Call(*client_, {"SET", "where", "db3"}).ok());
  EXPECT_EQ(server_->Command({"SELECT", "3"})->type, Reply::Type::kStatus);
  absl::StatusOr<Reply> keys = server_->Command({"INFO", "keyspace"});
  ASSERT_TRUE(keys.ok());
  EXPECT_NE(keys->str.find("db3:keys=1"), std::string::npos) << keys->str;
}

TEST_F(PipelinedRedisClientTest, WrongPasswordIsReported) {
  StartServer({"--requirepass", "s3cret"});
  options_.password = "wrong";
  auto client = PipelinedRedisClient::Create(options_, &metrics_);
  ASSERT_TRUE(client.ok());
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE((*client)->connected());
  absl::StatusOr<Reply> reply = Call(**client, {"PING"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("AUTH"), std::string::npos)
      << reply.status();
}

// A Redis 6 ACL user: AUTH user password on the first connection and on
// every one made again after Redis came back.
TEST_F(PipelinedRedisClientTest, AclUserAuthenticatesOnEveryReconnection) {
  StartServer({"--requirepass", "default-pw", "--user", "omnihub", "on",
               ">omnihub-pw", "~*", "&*", "+@all"});
  options_.user = "omnihub";
  options_.password = "omnihub-pw";
  EXPECT_TRUE(PipelinedRedisClient::CheckHandshake(options_).ok());
  StartClient();
  absl::StatusOr<Reply> who = Call(*client_, {"ACL", "WHOAMI"});
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->str, "omnihub");
  ASSERT_TRUE(server_->Kill().ok());
  ASSERT_TRUE(server_->Restart().ok());
  absl::StatusOr<Reply> again;
  for (int i = 0; i < 100; ++i) {
    again = Call(*client_, {"ACL", "WHOAMI"});
    if (again.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->str, "omnihub");
}

TEST_F(PipelinedRedisClientTest, CheckHandshakeTellsRefusedFromUnreachable) {
  StartServer({"--requirepass", "default-pw", "--user", "omnihub", "on",
               ">omnihub-pw", "~*", "&*", "+@all"});
  options_.user = "omnihub";
  options_.password = "not-it";
  absl::Status refused = PipelinedRedisClient::CheckHandshake(options_);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  EXPECT_NE(refused.message().find("WRONGPASS"), std::string::npos) << refused;
  EXPECT_EQ(refused.message().find("not-it"), std::string::npos)
      << "the password must not be in the message";
  options_.user = "";
  options_.password = "";
  // No AUTH where Redis wants one: NOAUTH at the first command.
  refused = PipelinedRedisClient::CheckHandshake(options_);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  EXPECT_NE(refused.message().find("NOAUTH"), std::string::npos) << refused;
  options_.password = "default-pw";
  EXPECT_TRUE(PipelinedRedisClient::CheckHandshake(options_).ok());
  ASSERT_TRUE(server_->Stop().ok());
  EXPECT_EQ(PipelinedRedisClient::CheckHandshake(options_).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(PipelinedRedisClientTest, ScriptRunsBySha1AndSurvivesScriptFlush) {
  StartServer();
  StartClient();
  const RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_EQ(script.sha1().size(), 40u);
  EXPECT_EQ(RunScript(*client_, script, {"s"}, {"2"})->integer, 2);
  EXPECT_EQ(server_->Command({"SCRIPT", "EXISTS", script.sha1()})
                ->elements[0]
                .integer,
            1);
  ASSERT_TRUE(server_->Command({"SCRIPT", "FLUSH"}).ok());
  EXPECT_EQ(RunScript(*client_, script, {"s"}, {"3"})->integer, 5);
}

// The collected metric of `family` whose labels include `label`=`value`.
const prometheus::ClientMetric* FindMetric(
    const std::vector<prometheus::MetricFamily>& families,
    absl::string_view family_name, absl::string_view label,
    absl::string_view value) {
  for (const auto& family : families) {
    if (family.name != family_name) continue;
    for (const auto& metric : family.metric) {
      if (label.empty()) return &metric;
      for (const auto& pair : metric.label) {
        if (pair.name == label && pair.value == value) return &metric;
      }
    }
  }
  return nullptr;
}

TEST_F(PipelinedRedisClientTest, MetricsRecordCommandsErrorsAndConnections) {
  StartServer();
  options_.connections = 2;
  StartClient();
  ASSERT_TRUE(Call(*client_, {"get", "x"}).ok());
  ASSERT_TRUE(Call(*client_, {"GET", "x"}).ok());
  ASSERT_TRUE(Call(*client_, {"SET", "x", "y"}).ok());
  ASSERT_TRUE(Call(*client_, {"INCR", "x"})->is_error());
  const std::vector<prometheus::MetricFamily> families = registry_.Collect();

  const prometheus::ClientMetric* get = FindMetric(
      families, "omnihub_redis_command_duration_seconds", "command", "GET");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->histogram.sample_count, 2u);  // "get" and "GET" are one
  EXPECT_EQ(FindMetric(families, "omnihub_redis_command_duration_seconds",
                       "command", "get"),
            nullptr);
  const prometheus::ClientMetric* error_replies = FindMetric(
      families, "omnihub_redis_errors_total", "reason", "error_reply");
  ASSERT_NE(error_replies, nullptr);
  EXPECT_EQ(error_replies->counter.value, 1.0);
  // Both connections come up in the background; wait for the second.
  double open_connections = -1;
  for (int i = 0; i < 200 && open_connections != 2.0; ++i) {
    const auto now = registry_.Collect();
    const auto* gauge = FindMetric(now, "omnihub_redis_connections", "", "");
    if (gauge != nullptr) open_connections = gauge->gauge.value;
    if (open_connections != 2.0) absl::SleepFor(absl::Milliseconds(25));
  }
  EXPECT_EQ(open_connections, 2.0);
}

}  // namespace
}  // namespace omnihub::redis

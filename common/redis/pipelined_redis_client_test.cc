// The pipelined client against a real redis-server.
#include "common/redis/pipelined_redis_client.h"

#include <atomic>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/redis_script.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace omnihub::redis {
namespace {

using ::omnihub::testing::RedisServer;

absl::StatusOr<Reply> Call(RedisClient& client, std::vector<std::string> argv) {
  std::promise<absl::StatusOr<Reply>> promise;
  auto future = promise.get_future();
  client.Execute(std::move(argv), [&promise](absl::StatusOr<Reply> reply) {
    promise.set_value(std::move(reply));
  });
  return future.get();
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
  return future.get();
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
  all_done.get_future().wait();
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
  during = Call(*client_, {"PING"});
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

TEST_F(PipelinedRedisClientTest, MetricsRecordCommandsByName) {
  StartServer();
  StartClient();
  ASSERT_TRUE(Call(*client_, {"get", "x"}).ok());
  bool found = false;
  for (const auto& family : registry_.Collect()) {
    if (family.name != "omnihub_redis_command_duration_seconds") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "command" && label.value == "GET") {
          found = metric.histogram.sample_count >= 1;
        }
      }
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace omnihub::redis

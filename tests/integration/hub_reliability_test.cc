// The hub's promises under failure, as a user runs it: the omnihub-timeline
// executable against real redis-servers (a master and its replica, one
// configured without fsync), over real gRPC.
#include <signal.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/file_text.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {
namespace {

using ::testing::HasSubstr;

// A hub process of its own, on a free port, with `flags`.
class Hub {
 public:
  static std::unique_ptr<Hub> Start(const RedisServer& redis,
                                    std::vector<std::string> flags) {
    auto hub = std::unique_ptr<Hub>(new Hub());
    auto port = PickFreeLoopbackPort();
    auto metrics_port = PickFreeLoopbackPort();
    if (!port.ok() || !metrics_port.ok()) return nullptr;
    hub->address_ = absl::StrCat("127.0.0.1:", *port);
    hub->log_ = absl::StrCat(::testing::TempDir(), "/hub-", *port, ".log");
    flags.push_back("--listen=" + hub->address_);
    flags.push_back(absl::StrCat("--metrics_listen=127.0.0.1:", *metrics_port));
    flags.push_back("--redis_address=" + redis.address());
    flags.push_back("--insights=false");
    auto process =
        ChildProcess::Start(OMNIHUB_TIMELINE_BINARY, flags, {}, hub->log_);
    if (!process.ok()) return nullptr;
    hub->process_ = *std::move(process);
    hub->channel_ =
        grpc::CreateChannel(hub->address_, grpc::InsecureChannelCredentials());
    hub->stub_ = v1::TimelineService::NewStub(hub->channel_);
    return hub;
  }

  // Waits until the hub answers an empty Ingest (false after 20 s).
  bool WaitServing() {
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (!channel_->WaitForConnected(std::chrono::system_clock::now() +
                                       std::chrono::milliseconds(100))) {
      if (process_->HasExited() || absl::Now() > give_up) return false;
    }
    for (int i = 0; i < 200; ++i) {
      v1::IngestRequest request;
      v1::IngestResponse response;
      if (Ingest(request, &response).error_code() !=
          grpc::StatusCode::UNAVAILABLE) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  grpc::Status Ingest(
      const v1::IngestRequest& request, v1::IngestResponse* response,
      std::multimap<std::string, std::string>* trailers = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::Status status = stub_->Ingest(&context, request, response);
    if (trailers != nullptr) {
      for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
        trailers->emplace(std::string(key.data(), key.size()),
                          std::string(value.data(), value.size()));
      }
    }
    return status;
  }

  ChildProcess& process() { return *process_; }
  v1::TimelineService::Stub& stub() { return *stub_; }
  std::string Log() const { return FileText(log_); }

 private:
  Hub() = default;
  std::string address_;
  std::string log_;
  std::unique_ptr<ChildProcess> process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TimelineService::Stub> stub_;
};

// A batch of `count` calls, each from a customer of its own.
v1::IngestRequest Batch(const std::string& name, int count) {
  v1::IngestRequest request;
  for (int i = 0; i < count; ++i) {
    v1::InteractionEvent* event = request.add_events();
    event->set_event_id(absl::StrCat(name, "-", i));
    event->set_channel(v1::CHANNEL_PHONE);
    event->set_kind(v1::INTERACTION_KIND_INBOUND_CALL);
    event->mutable_occurred_at()->set_seconds(1795168800);
    event->mutable_call()->set_direction(v1::CallDetail::DIRECTION_INBOUND);
    v1::Identity* identity = event->add_identities();
    identity->set_kind(v1::IDENTITY_KIND_CRM_ID);
    identity->set_value(absl::StrCat("crm-", name, "-", i));
  }
  return request;
}

std::unique_ptr<RedisServer> StartRedis(std::vector<std::string> args = {}) {
  auto redis = RedisServer::Start(std::move(args));
  EXPECT_TRUE(redis.ok()) << redis.status();
  return redis.ok() ? *std::move(redis) : nullptr;
}

// The value of `field` in an INFO section's text.
std::string InfoField(RedisServer& redis, const std::string& section,
                      const std::string& field) {
  absl::StatusOr<redis::Reply> info = redis.Command({"INFO", section});
  if (!info.ok()) return "";
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (parts.first == field) return std::string(parts.second);
  }
  return "";
}

// --durability=fsync against a Redis that does not fsync every write: the
// hub refuses to start, saying what to change; against one that does, it
// serves.
TEST(DurabilityTest, FsyncRefusesToStartOnRedisWithoutIt) {
  std::unique_ptr<RedisServer> everysec =
      StartRedis({"--appendonly", "yes", "--appendfsync", "everysec"});
  ASSERT_NE(everysec, nullptr);
  std::unique_ptr<Hub> refused = Hub::Start(*everysec, {"--durability=fsync"});
  ASSERT_NE(refused, nullptr);
  absl::StatusOr<int> exit_code = refused->process().Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(refused->Log(), HasSubstr("appendfsync always"));

  std::unique_ptr<RedisServer> always =
      StartRedis({"--appendonly", "yes", "--appendfsync", "always"});
  ASSERT_NE(always, nullptr);
  std::unique_ptr<Hub> hub = Hub::Start(*always, {"--durability=fsync"});
  ASSERT_NE(hub, nullptr);
  ASSERT_TRUE(hub->WaitServing()) << hub->Log();
  v1::IngestResponse response;
  EXPECT_TRUE(hub->Ingest(Batch("fsync", 3), &response).ok());
}

// --durability=replica: every batch the hub acknowledged is on the replica
// promoted after the master is killed. While the replica is cut off from
// the master, batches are answered UNAVAILABLE, not acknowledged; sent
// again to the new master they are stored once.
TEST(DurabilityTest, ReplicaPromotedAfterTheMasterDiesHasEveryAckedEvent) {
  std::unique_ptr<RedisServer> master = StartRedis();
  ASSERT_NE(master, nullptr);
  std::unique_ptr<RedisServer> replica =
      StartRedis({"--replicaof", "127.0.0.1", absl::StrCat(master->port())});
  ASSERT_NE(replica, nullptr);
  for (int i = 0; i < 200 && InfoField(*replica, "replication",
                                       "master_link_status") != "up";
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(InfoField(*replica, "replication", "master_link_status"), "up");
  std::unique_ptr<Hub> hub =
      Hub::Start(*master, {"--durability=replica", "--durability_replicas=1",
                           "--durability_timeout=300ms"});
  ASSERT_NE(hub, nullptr);
  ASSERT_TRUE(hub->WaitServing()) << hub->Log();

  // (customer, event id) of every event acknowledged.
  std::vector<std::pair<std::string, std::string>> acknowledged;
  auto send = [&](const v1::IngestRequest& request) {
    v1::IngestResponse response;
    grpc::Status status = hub->Ingest(request, &response);
    if (status.ok()) {
      for (const v1::IngestResult& result : response.results()) {
        acknowledged.emplace_back(result.customer_id(), result.event_id());
      }
    }
    return status;
  };
  for (int b = 0; b < 10; ++b) {
    grpc::Status status = send(Batch(absl::StrCat("before-", b), 20));
    ASSERT_TRUE(status.ok()) << status.error_message() << hub->Log();
  }
  // The replica is cut off from the master (as by a network partition):
  // it follows a master that is not there, keeping what it has.
  absl::StatusOr<int> nowhere = PickFreeLoopbackPort();
  ASSERT_TRUE(nowhere.ok());
  ASSERT_TRUE(
      replica->Command({"REPLICAOF", "127.0.0.1", absl::StrCat(*nowhere)})
          .ok());
  std::vector<v1::IngestRequest> unacknowledged;
  for (int b = 0; b < 3; ++b) {
    v1::IngestRequest request = Batch(absl::StrCat("cut-off-", b), 20);
    grpc::Status status = send(request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << "acknowledged while no replica had it: " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("replicas"));
    if (!status.ok()) unacknowledged.push_back(std::move(request));
  }
  ASSERT_TRUE(master->Kill().ok());
  absl::StatusOr<redis::Reply> promoted =
      replica->Command({"REPLICAOF", "NO", "ONE"});
  ASSERT_TRUE(promoted.ok() && !promoted->is_error())
      << (promoted.ok() ? promoted->str : promoted.status().ToString());

  ASSERT_GE(acknowledged.size(), 200u);
  int missing = 0;
  for (const auto& [customer, event_id] : acknowledged) {
    absl::StatusOr<redis::Reply> stored = replica->Command(
        {"HEXISTS", absl::StrCat("omnihub:c:{", customer, "}:ev"), event_id});
    ASSERT_TRUE(stored.ok()) << stored.status();
    if (stored->integer != 1) ++missing;
  }
  EXPECT_EQ(missing, 0) << "acknowledged events lost with the master";

  // The adapter's resend, to a hub on the new master: nothing refused.
  std::unique_ptr<Hub> after = Hub::Start(*replica, {});
  ASSERT_NE(after, nullptr);
  ASSERT_TRUE(after->WaitServing()) << after->Log();
  for (const v1::IngestRequest& request : unacknowledged) {
    v1::IngestResponse response;
    grpc::Status status = after->Ingest(request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::IngestResult& result : response.results()) {
      EXPECT_THAT(result.status(),
                  ::testing::AnyOf(v1::IngestResult::STATUS_ACCEPTED,
                                   v1::IngestResult::STATUS_DUPLICATE));
    }
  }
}

// A call whose deadline passes while its commands wait for the hub's Redis
// connection is not started on Redis: its client has given up, so the
// event is not stored (it will be sent again). Redis is held up by a write
// pause while one call waits in it and the late call queues behind.
TEST(DeadlineTest, CallWhoseDeadlinePassedIsNotStartedOnRedis) {
  std::unique_ptr<RedisServer> redis = StartRedis();
  ASSERT_NE(redis, nullptr);
  std::unique_ptr<Hub> hub = Hub::Start(*redis, {"--redis_connections=1"});
  ASSERT_NE(hub, nullptr);
  ASSERT_TRUE(hub->WaitServing()) << hub->Log();
  ASSERT_TRUE(redis->Command({"CLIENT", "PAUSE", "1500", "WRITE"}).ok());
  std::thread early([&] {
    v1::IngestResponse response;
    grpc::Status status = hub->Ingest(Batch("early", 1), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  });
  absl::SleepFor(absl::Milliseconds(300));  // the early call holds Redis
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(300));
    v1::IngestResponse response;
    grpc::Status status =
        hub->stub().Ingest(&context, Batch("late", 1), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  early.join();
  absl::SleepFor(absl::Milliseconds(500));
  absl::StatusOr<redis::Reply> early_keys =
      redis->Command({"KEYS", "*crm-early*"});
  absl::StatusOr<redis::Reply> late_keys =
      redis->Command({"KEYS", "*crm-late*"});
  ASSERT_TRUE(early_keys.ok() && late_keys.ok());
  EXPECT_EQ(early_keys->elements.size(), 1u);
  EXPECT_TRUE(late_keys->elements.empty())
      << "the late call was carried out after its client gave up";
}

// Every UNAVAILABLE answer tells the client when to send again.
TEST(ServerLimitsTest, UnavailableCarriesARetryPushback) {
  std::unique_ptr<RedisServer> redis = StartRedis();
  ASSERT_NE(redis, nullptr);
  std::unique_ptr<Hub> hub =
      Hub::Start(*redis, {"--overload_retry_after=750ms"});
  ASSERT_NE(hub, nullptr);
  ASSERT_TRUE(hub->WaitServing()) << hub->Log();
  ASSERT_TRUE(redis->Kill().ok());
  std::multimap<std::string, std::string> trailers;
  v1::IngestResponse response;
  grpc::Status status;
  for (int i = 0; i < 100; ++i) {
    trailers.clear();
    status = hub->Ingest(Batch("down", 1), &response, &trailers);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  auto pushback = trailers.find("grpc-retry-pushback-ms");
  ASSERT_NE(pushback, trailers.end());
  EXPECT_EQ(pushback->second, "750");
}

// One client connection holds at most --grpc_max_concurrent_streams calls
// at once: a stream beyond it waits until another ends.
TEST(ServerLimitsTest, CallsBeyondTheStreamLimitWaitForOneToEnd) {
  std::unique_ptr<RedisServer> redis = StartRedis();
  ASSERT_NE(redis, nullptr);
  std::unique_ptr<Hub> hub =
      Hub::Start(*redis, {"--grpc_max_concurrent_streams=1"});
  ASSERT_NE(hub, nullptr);
  ASSERT_TRUE(hub->WaitServing()) << hub->Log();

  grpc::ClientContext first_context;
  auto first = hub->stub().IngestStream(&first_context);
  v1::IngestResponse response;
  ASSERT_TRUE(first->Write(Batch("first", 1)));
  ASSERT_TRUE(first->Read(&response));

  absl::Notification second_answered;
  std::thread second([&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    auto stream = hub->stub().IngestStream(&context);
    v1::IngestResponse answer;
    if (stream->Write(Batch("second", 1)) && stream->Read(&answer)) {
      second_answered.Notify();
    }
    stream->WritesDone();
    (void)stream->Finish();
  });
  EXPECT_FALSE(
      second_answered.WaitForNotificationWithTimeout(absl::Milliseconds(1500)))
      << "a second stream ran beside the first";
  first->WritesDone();
  EXPECT_TRUE(first->Finish().ok());
  EXPECT_TRUE(
      second_answered.WaitForNotificationWithTimeout(absl::Seconds(15)));
  second.join();
}

}  // namespace
}  // namespace omnihub::testing

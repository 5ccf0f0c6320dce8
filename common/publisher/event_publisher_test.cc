// The publisher against a real gRPC server on loopback. The hub here is a
// small in-test TimelineService (a unit test of the publisher; the real hub is
// exercised end to end elsewhere).
#include "common/publisher/event_publisher.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace omnihub::publisher {
namespace {

class RecordingHub final : public v1::TimelineService::Service {
 public:
  grpc::Status Ingest(grpc::ServerContext*, const v1::IngestRequest* request,
                      v1::IngestResponse* response) override {
    absl::MutexLock lock(&mutex_);
    if (unavailable_) return grpc::Status(grpc::UNAVAILABLE, "Redis is down");
    for (const v1::InteractionEvent& event : request->events()) {
      v1::IngestResult* result = response->add_results();
      result->set_event_id(event.event_id());
      if (absl::StartsWith(event.event_id(), "bad")) {
        result->set_status(v1::IngestResult::STATUS_REJECTED);
        result->set_field("events[0].occurred_at");
        result->set_reason("must be set");
      } else {
        result->set_status(v1::IngestResult::STATUS_ACCEPTED);
        received_.push_back(event.event_id());
      }
    }
    return grpc::Status::OK;
  }
  void set_unavailable(bool value) {
    absl::MutexLock lock(&mutex_);
    unavailable_ = value;
  }
  std::vector<std::string> received() {
    absl::MutexLock lock(&mutex_);
    return received_;
  }

 private:
  absl::Mutex mutex_;
  bool unavailable_ = false;
  std::vector<std::string> received_;
};

std::string Event(const std::string& id) {
  v1::InteractionEvent event;
  event.set_event_id(id);
  return event.SerializeAsString();
}

class EventPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        ::testing::TempDir() + "/publisher-" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(directory_);
    spool_ = *spool::EventSpool::Open({.directory = directory_ + "/spool"});
  }
  void StartHub(int port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&hub_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void StartPublisher(int port) {
    auto publisher =
        EventPublisher::Start(spool_.get(),
                              {.hub_address = absl::StrCat("127.0.0.1:", port),
                               .call_deadline = absl::Seconds(2),
                               .backoff_min = absl::Milliseconds(20),
                               .backoff_max = absl::Milliseconds(200),
                               .dead_letter_path = directory_ + "/dead.jsonl"},
                              registry_);
    ASSERT_TRUE(publisher.ok()) << publisher.status();
    publisher_ = *std::move(publisher);
  }
  bool WaitUntilSpoolEmpty() {
    for (int i = 0; i < 300; ++i) {
      if (spool_->Stats().records == 0) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }
  void TearDown() override {
    if (publisher_) publisher_->Stop(absl::ZeroDuration());
    if (server_) server_->Shutdown();
  }

  std::string directory_;
  prometheus::Registry registry_;
  RecordingHub hub_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<spool::EventSpool> spool_;
  std::unique_ptr<EventPublisher> publisher_;
};

TEST_F(EventPublisherTest, DeliversInOrderAndEmptiesTheSpool) {
  StartHub();
  StartPublisher(port_);
  for (int i = 0; i < 20; ++i)
    spool_->Append({Event(absl::StrCat("e", i))}).IgnoreError();
  ASSERT_TRUE(WaitUntilSpoolEmpty());
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(absl::StrCat("e", i));
  EXPECT_EQ(hub_.received(), expected);
  EXPECT_TRUE(publisher_->hub_reachable());
}

TEST_F(EventPublisherTest, HubDownThenUpLosesNothing) {
  StartHub();
  hub_.set_unavailable(true);
  StartPublisher(port_);
  for (int i = 0; i < 50; ++i)
    spool_->Append({Event(absl::StrCat("e", i))}).IgnoreError();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(spool_->Stats().records, 50u);
  hub_.set_unavailable(false);
  ASSERT_TRUE(WaitUntilSpoolEmpty());
  std::set<std::string> received;
  for (const auto& id : hub_.received()) received.insert(id);
  EXPECT_EQ(received.size(), 50u);
  double retries = 0;
  for (const auto& family : registry_.Collect()) {
    if (family.name == "omnihub_publish_retries_total") {
      retries = family.metric[0].counter.value;
    }
  }
  EXPECT_GT(retries, 0);
}

TEST_F(EventPublisherTest, RejectedEventsGoToDeadLettersAndDoNotBlock) {
  StartHub();
  StartPublisher(port_);
  spool_->Append({Event("good-1"), Event("bad-1"), Event("good-2")})
      .IgnoreError();
  ASSERT_TRUE(WaitUntilSpoolEmpty());
  EXPECT_EQ(hub_.received(), (std::vector<std::string>{"good-1", "good-2"}));
  std::ifstream file(directory_ + "/dead.jsonl");
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_NE(text.str().find("\"bad-1\""), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("must be set"), std::string::npos);
}

TEST_F(EventPublisherTest, HubNotListeningAtFirst) {
  StartHub();
  const int port = port_;
  server_->Shutdown();
  server_.reset();
  StartPublisher(port);
  spool_->Append({Event("late")}).IgnoreError();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(spool_->Stats().records, 1u);
  StartHub(port);
  ASSERT_TRUE(WaitUntilSpoolEmpty());
  EXPECT_EQ(hub_.received(), std::vector<std::string>{"late"});
}

}  // namespace
}  // namespace omnihub::publisher

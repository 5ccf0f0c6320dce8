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
    // What gRPC answers when the server's memory quota is spent: a moment's
    // overload, not a request too large.
    if (quota_spent_) {
      return grpc::Status(grpc::RESOURCE_EXHAUSTED,
                          "Server memory quota exhausted");
    }
    // Limits of a real hub: events per request, bytes per message ("huge"
    // stands for an event over the message size on its own).
    if (request->events_size() > max_events_) {
      return grpc::Status(grpc::INVALID_ARGUMENT, "events: too many");
    }
    for (const v1::InteractionEvent& event : request->events()) {
      if (absl::StartsWith(event.event_id(), "huge")) {
        return grpc::Status(grpc::RESOURCE_EXHAUSTED,
                            "Received message larger than max");
      }
    }
    ++calls_;
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
  void set_quota_spent(bool value) {
    absl::MutexLock lock(&mutex_);
    quota_spent_ = value;
  }
  void set_max_events(int value) {
    absl::MutexLock lock(&mutex_);
    max_events_ = value;
  }
  int calls() {
    absl::MutexLock lock(&mutex_);
    return calls_;
  }
  std::vector<std::string> received() {
    absl::MutexLock lock(&mutex_);
    return received_;
  }

 private:
  absl::Mutex mutex_;
  bool unavailable_ = false;
  bool quota_spent_ = false;
  int max_events_ = 1000;
  int calls_ = 0;  // answered with results
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
    // The default grpc.health.v1 service, as the real hub has it.
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&hub_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void StartPublisher(int port, size_t batch_records = 500) {
    auto publisher =
        EventPublisher::Start(spool_.get(),
                              {.hub_address = absl::StrCat("127.0.0.1:", port),
                               .batch_records = batch_records,
                               .call_deadline = absl::Seconds(2),
                               .backoff_min = absl::Milliseconds(20),
                               .backoff_max = absl::Milliseconds(200),
                               .health_probe_interval = absl::Milliseconds(50),
                               .reconnect_backoff_max = absl::Milliseconds(200),
                               .dead_letter_path = directory_ + "/dead.jsonl"},
                              registry_);
    ASSERT_TRUE(publisher.ok()) << publisher.status();
    publisher_ = *std::move(publisher);
  }
  // Whether hub_reachable() became `expected` within 10 s.
  bool WaitUntilReachable(bool expected) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if (publisher_->hub_reachable() == expected) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }
  double Counter(const std::string& name) {
    for (const auto& family : registry_.Collect()) {
      if (family.name == name) return family.metric[0].counter.value;
    }
    return -1;
  }
  std::string DeadLetters() {
    std::ifstream file(directory_ + "/dead.jsonl");
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
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
  EXPECT_GT(Counter("omnihub_publish_retries_total"), 0);
}

TEST_F(EventPublisherTest, RejectedEventsGoToDeadLettersAndDoNotBlock) {
  StartHub();
  StartPublisher(port_);
  spool_->Append({Event("good-1"), Event("bad-1"), Event("good-2")})
      .IgnoreError();
  ASSERT_TRUE(WaitUntilSpoolEmpty());
  EXPECT_EQ(hub_.received(), (std::vector<std::string>{"good-1", "good-2"}));
  const std::string dead_letters = DeadLetters();
  EXPECT_NE(dead_letters.find("\"bad-1\""), std::string::npos) << dead_letters;
  EXPECT_NE(dead_letters.find("must be set"), std::string::npos);
  EXPECT_EQ(Counter("omnihub_publish_dead_letters_total"), 1);
  EXPECT_EQ(Counter("omnihub_publish_delivered_events_total"), 2);
}

TEST_F(EventPublisherTest, ReadinessFollowsHealthProbesWithNothingToDeliver) {
  StartHub();
  StartPublisher(port_);
  // Nothing is ever spooled: only the probes can tell.
  ASSERT_TRUE(WaitUntilReachable(true));
  server_->GetHealthCheckService()->SetServingStatus(false);  // Redis lost
  ASSERT_TRUE(WaitUntilReachable(false));
  server_->GetHealthCheckService()->SetServingStatus(true);
  ASSERT_TRUE(WaitUntilReachable(true));
  const int port = port_;
  server_->Shutdown();
  server_.reset();
  ASSERT_TRUE(WaitUntilReachable(false));
  StartHub(port);
  ASSERT_TRUE(WaitUntilReachable(true));
  EXPECT_EQ(hub_.calls(), 0);
  EXPECT_EQ(spool_->Stats().records, 0u);
}

TEST_F(EventPublisherTest, RequestsTheHubRefusesWholeAreSplitNotRetried) {
  StartHub();
  hub_.set_max_events(2);
  StartPublisher(port_, /*batch_records=*/5);
  std::vector<std::string> records;
  for (int i = 0; i < 5; ++i) records.push_back(Event(absl::StrCat("e", i)));
  records.push_back(Event("huge-1"));  // refused even on its own
  records.push_back(Event("bad-1"));
  records.push_back(Event("e5"));
  spool_->Append(records).IgnoreError();
  ASSERT_TRUE(WaitUntilSpoolEmpty());
  EXPECT_EQ(hub_.received(),
            (std::vector<std::string>{"e0", "e1", "e2", "e3", "e4", "e5"}));
  const std::string dead_letters = DeadLetters();
  EXPECT_NE(dead_letters.find("\"huge-1\""), std::string::npos) << dead_letters;
  EXPECT_NE(dead_letters.find("RESOURCE_EXHAUSTED"), std::string::npos)
      << dead_letters;
  EXPECT_NE(dead_letters.find("\"bad-1\""), std::string::npos) << dead_letters;
  EXPECT_EQ(Counter("omnihub_publish_dead_letters_total"), 2);
  EXPECT_EQ(Counter("omnihub_publish_delivered_events_total"), 6);
  // Refusals are answered by splitting, not by retrying the same request.
  EXPECT_EQ(Counter("omnihub_publish_retries_total"), 0);
}

// RESOURCE_EXHAUSTED is "too large" only when gRPC says the message is: a
// spent memory quota passes, and the events are sent again, not split into
// dead letters.
TEST_F(EventPublisherTest, AnOverloadedHubIsRetriedNotDeadLettered) {
  StartHub();
  hub_.set_quota_spent(true);
  StartPublisher(port_);
  for (int i = 0; i < 10; ++i)
    spool_->Append({Event(absl::StrCat("e", i))}).IgnoreError();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(spool_->Stats().records, 10u);
  hub_.set_quota_spent(false);
  ASSERT_TRUE(WaitUntilSpoolEmpty());
  EXPECT_EQ(hub_.received().size(), 10u);
  EXPECT_EQ(Counter("omnihub_publish_dead_letters_total"), 0);
  EXPECT_GT(Counter("omnihub_publish_retries_total"), 0);
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

// Damage the spool found on start is counted where Prometheus sees it.
TEST_F(EventPublisherTest, QuarantinedRecordsAreCounted) {
  spool_->Append({Event("e1"), Event("e2"), Event("e3")}).IgnoreError();
  spool_.reset();
  std::string segment;
  for (const auto& file :
       std::filesystem::directory_iterator(directory_ + "/spool")) {
    if (file.path().filename().string().rfind("segment-", 0) == 0) {
      segment = file.path().string();
    }
  }
  ASSERT_FALSE(segment.empty());
  {
    // Into the payload of the second record: 24 header bytes, then
    // Event("e1"), then the second's header.
    std::fstream bytes(segment,
                       std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekp(static_cast<std::streamoff>(24 + Event("e1").size() + 24));
    bytes.put('\x7f');
  }
  spool_ = *spool::EventSpool::Open({.directory = directory_ + "/spool"});
  StartHub();
  StartPublisher(port_);
  ASSERT_TRUE(WaitUntilSpoolEmpty());
  EXPECT_EQ(hub_.received(), (std::vector<std::string>{"e1", "e3"}));
  EXPECT_EQ(Counter("omnihub_spool_quarantined_records_total"), 1);
  EXPECT_GT(Counter("omnihub_spool_quarantined_bytes_total"), 24);
}

}  // namespace
}  // namespace omnihub::publisher

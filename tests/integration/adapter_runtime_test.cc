// What every adapter does around its routes (readiness, the spool's limit,
// delivery against a hub with tighter limits), end to end through the phone
// adapter: real redis-server, the real hub and adapter processes, real HTTP.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/adapter_fixture.h"
#include "tests/support/file_text.h"
#include "tests/support/free_port.h"

namespace omnihub::testing {
namespace {

using nlohmann::json;

class PhoneRuntimeTest : public AdapterEndToEndTest {
 protected:
  explicit PhoneRuntimeTest(std::vector<std::string> adapter_flags = {},
                            std::vector<std::string> hub_flags = {})
      : AdapterEndToEndTest(OMNIHUB_PHONE_ADAPTER_BINARY,
                            std::move(adapter_flags), std::move(hub_flags)) {}

  httplib::Result PostCalls(const json& body) {
    return Post("/v1/calls", body.dump(), "application/json");
  }

  void KillHub() {
    ASSERT_TRUE(hub_->Signal(SIGKILL).ok());
    ASSERT_TRUE(hub_->Wait(absl::Seconds(10)).ok());
  }

  // Posts a call from `phone` and waits until it is on the timeline: the
  // adapter delivers in spool order, so everything accepted before it has
  // been delivered (or dead-lettered) too. Returns its customer id.
  std::string DeliverMarker(const std::string& phone) {
    auto posted = PostCalls(PhoneCallRecord("marker", phone));
    EXPECT_TRUE(posted && posted->status == 202)
        << (posted ? posted->body : "no answer");
    std::vector<v1::InteractionEvent> events =
        WaitForTimeline(v1::IDENTITY_KIND_PHONE, phone, 1);
    EXPECT_EQ(events.size(), 1u) << "the marker was not delivered";
    return events.empty() ? "" : events[0].customer_id();
  }
};

using ReadinessTest = PhoneRuntimeTest;

TEST_F(ReadinessTest, ReadyzFollowsTheHubWithNothingPosted) {
  // A fresh adapter that has never delivered anything.
  EXPECT_TRUE(
      WaitUntil([&] { return ReadyzStatus() == 200; }, absl::Seconds(10)));
  ASSERT_NO_FATAL_FAILURE(KillHub());
  EXPECT_TRUE(
      WaitUntil([&] { return ReadyzStatus() == 503; }, absl::Seconds(10)));
  ASSERT_NO_FATAL_FAILURE(StartHub());
  EXPECT_TRUE(
      WaitUntil([&] { return ReadyzStatus() == 200; }, absl::Seconds(15)));
  // The hub up but its Redis gone: the hub reports NOT_SERVING.
  ASSERT_TRUE(redis_->Kill().ok());
  EXPECT_TRUE(
      WaitUntil([&] { return ReadyzStatus() == 503; }, absl::Seconds(10)));
  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_TRUE(
      WaitUntil([&] { return ReadyzStatus() == 200; }, absl::Seconds(15)));
  // Nothing was ever posted: no key but the hub's own bookkeeping.
  EXPECT_THAT(KeysNotOfCustomer("nobody"), ::testing::IsEmpty());
}

// A time zone the system does not know would have been taken as UTC,
// shifting every CDR by hours: the adapter refuses to start, saying why.
TEST_F(ReadinessTest, UnknownCdrTimeZoneStopsTheAdapterAtStart) {
  auto port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  const std::string log = directory_ + "/bad-zone.log";
  auto adapter = ChildProcess::Start(
      OMNIHUB_PHONE_ADAPTER_BINARY,
      {absl::StrCat("--listen=127.0.0.1:", *port), "--hub_address=127.0.0.1:1",
       "--spool_dir=" + directory_ + "/bad-zone",
       "--cdr_time_zone=Nowhere/Atlantis"},
      {}, log);
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  absl::StatusOr<int> exit_code = (*adapter)->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(FileText(log),
              ::testing::HasSubstr("--cdr_time_zone: \"Nowhere/Atlantis\" is "
                                   "not a time zone"));
}

// The hub's Redis queue holds few commands while another sender floods the
// hub, so the adapter's deliveries are refused now and then as overload.
// Before: the refusal (RESOURCE_EXHAUSTED) was taken for a batch too
// large, split down to single events and dead-lettered, losing accepted
// records. Now it is retried, and every record arrives once.
class HubOverloadTest : public PhoneRuntimeTest {
 protected:
  HubOverloadTest()
      : PhoneRuntimeTest({"--publish_batch=20"}, {"--redis_max_queued=64"}) {}
};

TEST_F(HubOverloadTest, RecordsRefusedForOverloadAreRetriedNotDeadLettered) {
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 4; ++t) {
    flood.emplace_back([&, t] {
      for (int n = 0; !stop; ++n) {
        v1::IngestRequest request;
        for (int i = 0; i < 100; ++i) {
          v1::InteractionEvent* event = request.add_events();
          event->set_event_id(absl::StrCat("flood-", t, "-", n, "-", i));
          event->set_channel(v1::CHANNEL_WEB);
          event->set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
          event->mutable_occurred_at()->set_seconds(1795168800);
          event->mutable_web()->set_url("https://shop.example/");
          v1::Identity* identity = event->add_identities();
          identity->set_kind(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID);
          identity->set_value(absl::StrCat("flood-", i));
        }
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(5));
        v1::IngestResponse response;
        const grpc::StatusCode code =
            stub_->Ingest(&context, request, &response).error_code();
        if (code == grpc::StatusCode::UNAVAILABLE ||
            code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++refused;
        }
      }
    });
  }
  constexpr int kCustomers = 20;
  constexpr int kCallsEach = 25;
  std::set<std::string> expected;
  for (int c = 0; c < kCustomers; ++c) {
    json calls = json::array();
    for (int k = 0; k < kCallsEach; ++k) {
      const std::string id = absl::StrCat("o", c, "-", k);
      calls.push_back(
          PhoneCallRecord(id, absl::StrFormat("+4420718386%02d", c)));
      expected.insert(absl::StrCat("call:json:", id));
    }
    auto posted = PostCalls(calls);
    ASSERT_TRUE(posted);
    ASSERT_EQ(posted->status, 202) << posted->body;
  }
  // Overload for a while, then room for the retries to get through.
  WaitUntil([&] { return refused > 20; }, absl::Seconds(20));
  stop = true;
  for (std::thread& thread : flood) thread.join();
  EXPECT_GT(refused, 0) << "the flood never overloaded the hub";
  ASSERT_FALSE(DeliverMarker("+442071838699").empty());

  std::set<std::string> delivered;
  size_t events = 0;
  for (int c = 0; c < kCustomers; ++c) {
    for (const std::string& id : EventIdsOf(ReadTimeline(
             v1::IDENTITY_KIND_PHONE, absl::StrFormat("+4420718386%02d", c)))) {
      delivered.insert(id);
      ++events;
    }
  }
  EXPECT_EQ(delivered, expected);
  EXPECT_EQ(events, expected.size());  // none twice
  EXPECT_EQ(DeadLetters(), "");
  EXPECT_GT(
      MetricValue(FetchMetrics(), "omnihub_publish_retries_total").value_or(0),
      0);
}

class SpoolFullTest : public PhoneRuntimeTest {
 protected:
  SpoolFullTest() : PhoneRuntimeTest({"--spool_max_bytes=4096"}) {}
};

TEST_F(SpoolFullTest, FullSpoolIs503WithRetryAfterAndAcceptedCallsArrive) {
  ASSERT_NO_FATAL_FAILURE(KillHub());
  std::set<std::string> accepted;
  std::optional<httplib::Response> refused;
  for (int i = 0; i < 200 && !refused; ++i) {
    const std::string id = absl::StrCat("full-", i);
    auto result = PostCalls(PhoneCallRecord(id, "+442071838770"));
    ASSERT_TRUE(result);
    if (result->status == 202) {
      accepted.insert("call:json:" + id);
    } else {
      ASSERT_EQ(result->status, 503) << result->body;
      refused = *result;
    }
  }
  ASSERT_TRUE(refused) << "the spool never filled up";
  ASSERT_FALSE(accepted.empty());
  int retry_after = 0;
  EXPECT_TRUE(
      absl::SimpleAtoi(refused->get_header_value("Retry-After"), &retry_after))
      << refused->get_header_value("Retry-After");
  EXPECT_GT(retry_after, 0);
  const json body = json::parse(refused->body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << refused->body;
  EXPECT_EQ(body["error"]["status"], 503);
  EXPECT_FALSE(body["error"].value("message", "").empty()) << refused->body;
  // Still full while the hub is away.
  auto again = PostCalls(PhoneCallRecord("full-again", "+442071838770"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 503);

  ASSERT_NO_FATAL_FAILURE(StartHub());
  std::vector<v1::InteractionEvent> events = WaitForTimeline(
      v1::IDENTITY_KIND_PHONE, "+442071838770", accepted.size());
  EXPECT_EQ(EventIdsOf(events), accepted);
  // Room again once delivered; and the refused calls were never kept.
  ASSERT_TRUE(WaitUntil([&] {
    auto result = PostCalls(PhoneCallRecord("after", "+442071838771"));
    return result && result->status == 202;
  }));
  DeliverMarker("+442071838772");
  events = ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838770");
  EXPECT_EQ(EventIdsOf(events), accepted);
  EXPECT_EQ(DeadLetters(), "");
}

// The hub takes at most 2 events and 2 KiB per request; the adapter sends
// batches of 5.
class HubLimitsTest : public PhoneRuntimeTest {
 protected:
  HubLimitsTest()
      : PhoneRuntimeTest({"--publish_batch=5"},
                         {"--max_batch_events=2", "--max_request_bytes=2048"}) {
  }
};

TEST_F(HubLimitsTest, BatchesOverTheHubsLimitsAreSplitAndNothingBlocks) {
  json calls = json::array();
  std::set<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    calls.push_back(
        PhoneCallRecord(absl::StrCat("split-", i), "+442071838780"));
    expected.insert(absl::StrCat("call:json:split-", i));
  }
  auto posted = PostCalls(calls);  // one spool append: one batch of 5
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  // Over the hub's message size even on its own: a dead letter, not a block.
  json huge = PhoneCallRecord("huge", "+442071838781");
  huge["recording_url"] = "https://pbx.example/" + std::string(2000, 'r');
  posted = PostCalls(huge);
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  ASSERT_FALSE(DeliverMarker("+442071838782").empty());

  EXPECT_EQ(EventIdsOf(ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838780")),
            expected);
  EXPECT_FALSE(Customer(v1::IDENTITY_KIND_PHONE, "+442071838781"));
  const std::string dead_letters = DeadLetters();
  EXPECT_THAT(dead_letters, ::testing::HasSubstr("call:json:huge"));
  EXPECT_THAT(dead_letters, ::testing::HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_EQ(std::count(dead_letters.begin(), dead_letters.end(), '\n'), 1);
  const std::string metrics = FetchMetrics();
  EXPECT_EQ(MetricValue(metrics, "omnihub_publish_dead_letters_total"), 1);
  EXPECT_EQ(MetricValue(metrics, "omnihub_publish_delivered_events_total"), 6);
}

}  // namespace
}  // namespace omnihub::testing

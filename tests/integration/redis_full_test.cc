// Redis full (maxmemory reached, noeviction): end to end through the phone
// adapter, with a real redis-server, the real hub and adapter processes.
// Nothing accepted is lost: the hub answers a retryable error, the adapter
// keeps the records, and once Redis has room again they all arrive.
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/adapter_fixture.h"

namespace omnihub::testing {
namespace {

using nlohmann::json;

class RedisFullTest : public AdapterEndToEndTest {
 protected:
  RedisFullTest()
      : AdapterEndToEndTest(OMNIHUB_PHONE_ADAPTER_BINARY,
                            {"--publish_batch=5"}) {}

  int64_t UsedMemory() {
    absl::StatusOr<redis::Reply> info = redis_->Command({"INFO", "memory"});
    if (!info.ok()) return 0;
    for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
      if (absl::ConsumePrefix(&line, "used_memory:")) {
        int64_t bytes = 0;
        if (absl::SimpleAtoi(line, &bytes)) return bytes;
      }
    }
    return 0;
  }
};

TEST_F(RedisFullTest, IngestIsRetryableAndTheAdapterKeepsTheRecords) {
  auto first =
      Post("/v1/calls", PhoneCallRecord("before", "+442071838701").dump(),
           "application/json");
  ASSERT_TRUE(first && first->status == 202);
  ASSERT_EQ(WaitForTimeline(v1::IDENTITY_KIND_PHONE, "+442071838701", 1).size(),
            1u);

  // Redis as full as it gets: below what it already holds.
  const int64_t used = UsedMemory();
  ASSERT_GT(used, 0);
  ASSERT_TRUE(
      redis_->Command({"CONFIG", "SET", "maxmemory-policy", "noeviction"})
          .ok());
  ASSERT_TRUE(
      redis_->Command({"CONFIG", "SET", "maxmemory", absl::StrCat(used / 2)})
          .ok());

  // The hub's answer: UNAVAILABLE (send again), saying why.
  v1::IngestRequest request;
  v1::InteractionEvent* event = request.add_events();
  event->set_event_id("direct-1");
  event->set_channel(v1::CHANNEL_PHONE);
  event->set_kind(v1::INTERACTION_KIND_INBOUND_CALL);
  event->mutable_occurred_at()->set_seconds(1795168800);
  event->mutable_call()->set_direction(v1::CallDetail::DIRECTION_INBOUND);
  v1::Identity* identity = event->add_identities();
  identity->set_kind(v1::IDENTITY_KIND_PHONE);
  identity->set_value("+442071838702");
  grpc::ClientContext context;
  v1::IngestResponse response;
  grpc::Status status = stub_->Ingest(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("maxmemory"));

  // Calls posted meanwhile are accepted, kept and retried.
  constexpr int kCalls = 12;
  json calls = json::array();
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(PhoneCallRecord(absl::StrCat("full-", i), "+442071838703"));
  }
  auto posted = Post("/v1/calls", calls.dump(), "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  EXPECT_TRUE(WaitUntil(
      [&] {
        return MetricValue(FetchMetrics(), "omnihub_publish_retries_total")
                   .value_or(0) >= 2;
      },
      absl::Seconds(20)));
  EXPECT_TRUE(ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838703").empty());

  // Room again: every record arrives, once, none dead-lettered.
  ASSERT_TRUE(redis_->Command({"CONFIG", "SET", "maxmemory", "0"}).ok());
  EXPECT_EQ(
      WaitForTimeline(v1::IDENTITY_KIND_PHONE, "+442071838703", kCalls).size(),
      static_cast<size_t>(kCalls));
  EXPECT_EQ(DeadLetters(), "");
}

}  // namespace
}  // namespace omnihub::testing

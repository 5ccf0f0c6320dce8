// The phone adapter end to end: real redis-server, the real timeline
// service and the real adapter as processes, real HTTP in, gRPC reads out.
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "tests/integration/adapter_fixture.h"
#include "tests/support/child_process.h"
#include "tests/support/file_text.h"

namespace omnihub::testing {
namespace {

class PhoneAdapterTest : public AdapterEndToEndTest {
 protected:
  PhoneAdapterTest() : AdapterEndToEndTest(OMNIHUB_PHONE_ADAPTER_BINARY, {}) {}

  std::vector<v1::InteractionEvent> WaitForTimeline(const std::string& phone,
                                                    size_t count) {
    return AdapterEndToEndTest::WaitForTimeline(v1::IDENTITY_KIND_PHONE, phone,
                                                count);
  }

  int64_t TotalInteractions(const std::string& phone) {
    std::optional<v1::CustomerView> customer =
        Customer(v1::IDENTITY_KIND_PHONE, phone);
    return customer.has_value() ? customer->total_interactions() : -1;
  }

  // Posts a call from a new number and waits until it is on the timeline:
  // the adapter delivers in spool order, so everything accepted before it
  // has been delivered too. Returns the caller's customer id.
  std::string DeliverMarker() {
    static int markers = 0;
    const std::string phone = absl::StrCat("+4420718388", 10 + ++markers);
    auto posted =
        Post("/v1/calls", JsonCall(absl::StrCat("marker-", markers), phone),
             "application/json");
    EXPECT_TRUE(posted && posted->status == 202)
        << (posted ? posted->body : "no answer");
    std::vector<v1::InteractionEvent> events = WaitForTimeline(phone, 1);
    EXPECT_EQ(events.size(), 1u) << "the marker was not delivered";
    return events.empty() ? "" : events[0].customer_id();
  }

  static std::string JsonCall(const std::string& id,
                              const std::string& caller) {
    return nlohmann::json{{"call_id", id},
                          {"direction", "inbound"},
                          {"caller", caller},
                          {"callee", "200"},
                          {"started_at", "2026-11-20T09:30:00Z"},
                          {"disposition", "answered"},
                          {"agent", "maria"},
                          {"duration_seconds", 120}}
        .dump();
  }
};

TEST_F(PhoneAdapterTest, EveryFormatLandsOnTheCallersTimeline) {
  auto json =
      Post("/v1/calls", JsonCall("j-1", "020 7183 8750"), "application/json");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 202) << json->body;

  const std::string cdr =
      "\"\",\"02071838750\",\"201\",\"from-pstn\",\"\",\"SIP/t-1\","
      "\"SIP/201-2\",\"Dial\",\"SIP/201\",\"2026-11-20 10:00:00\","
      "\"\",\"2026-11-20 10:00:30\",30,0,\"NO ANSWER\",\"DOCUMENTATION\","
      "\"1700000000.7\",\"\"\n";
  auto asterisk = Post("/v1/calls/asterisk-cdr", cdr, "text/csv");
  ASSERT_TRUE(asterisk);
  EXPECT_EQ(asterisk->status, 202) << asterisk->body;

  httplib::Client http("127.0.0.1", adapter_port_);
  httplib::Params ringing = {{"CallSid", "CA1"},
                             {"From", "+442071838750"},
                             {"To", "+442079460000"},
                             {"CallStatus", "ringing"},
                             {"Direction", "inbound"},
                             {"SequenceNumber", "0"},
                             {"Timestamp", "Fri, 20 Nov 2026 11:00:00 +0000"}};
  auto first = http.Post("/v1/calls/twilio", ringing);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 202) << first->body;
  httplib::Params completed = ringing;
  completed.erase("CallStatus");
  completed.erase("SequenceNumber");
  completed.emplace("CallStatus", "completed");
  completed.emplace("SequenceNumber", "3");
  completed.emplace("CallDuration", "42");
  auto last = http.Post("/v1/calls/twilio", completed);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 202) << last->body;

  // Three calls: the two Twilio callbacks are one call, updated in place.
  std::vector<v1::InteractionEvent> events =
      WaitForTimeline("+442071838750", 3);
  std::map<std::string, v1::InteractionEvent> by_id;
  for (const auto& event : events) by_id[event.event_id()] = event;
  ASSERT_TRUE(by_id.count("call:json:j-1"));
  EXPECT_EQ(by_id["call:json:j-1"].call().agent(), "maria");
  EXPECT_EQ(by_id["call:json:j-1"].kind(), v1::INTERACTION_KIND_INBOUND_CALL);
  ASSERT_TRUE(by_id.count("call:asterisk:1700000000.7"));
  EXPECT_EQ(by_id["call:asterisk:1700000000.7"].kind(),
            v1::INTERACTION_KIND_MISSED_CALL);
  ASSERT_TRUE(by_id.count("call:twilio:CA1"));
  // Both callbacks may be delivered in one batch or two; the final one wins.
  for (int i = 0;
       i < 50 && by_id["call:twilio:CA1"].call().duration_seconds() != 42;
       ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    for (const auto& event : WaitForTimeline("+442071838750", 3)) {
      by_id[event.event_id()] = event;
    }
  }
  EXPECT_EQ(by_id["call:twilio:CA1"].call().duration_seconds(), 42);
  // The two callbacks made one event, not two.
  EXPECT_EQ(WaitForTimeline("+442071838750", 3).size(), 3u);
  EXPECT_EQ(TotalInteractions("+442071838750"), 3);
}

TEST_F(PhoneAdapterTest, MalformedInputIsA4xxAndStoresNothing) {
  struct Case {
    std::string path, body, type, field;
  };
  const std::vector<Case> cases = {
      {"/v1/calls", "{not json", "application/json", "body"},
      {"/v1/calls", R"({"call_id":"x","caller":"+1"})", "application/json",
       "call.started_at"},
      {"/v1/calls", JsonCall("bad-number", "+999 1234 5678"),
       "application/json", "calls[0].caller"},
      {"/v1/calls/asterisk-cdr", "\"a\",\"b\"\n", "text/csv", "line 1"},
      {"/v1/calls/twilio", "From=%2B1", "application/x-www-form-urlencoded",
       "CallSid"},
  };
  for (const Case& c : cases) {
    auto result = Post(c.path, c.body, c.type);
    ASSERT_TRUE(result) << c.path;
    EXPECT_EQ(result->status, 400) << c.body << " -> " << result->body;
    const auto error = nlohmann::json::parse(result->body, nullptr, false);
    ASSERT_TRUE(error.is_object() && error.contains("error")) << result->body;
    EXPECT_NE(error["error"].value("message", "").find(c.field),
              std::string::npos)
        << result->body;
  }
  auto unknown = Post("/v1/nowhere", "{}", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("\"error\""), std::string::npos);
  // Once a later call is delivered, none of the refused ones can still be
  // on the way: Redis holds the marker's customer and nothing else, not
  // even an identity.
  const std::string marker = DeliverMarker();
  ASSERT_FALSE(marker.empty());
  EXPECT_THAT(KeysNotOfCustomer(marker), ::testing::IsEmpty());
}

TEST_F(PhoneAdapterTest, EachRouteRefusesAnotherContentTypeWith415) {
  const std::string cdr =
      "\"\",\"02071838750\",\"201\",\"from-pstn\",\"\",\"SIP/t-1\","
      "\"SIP/201-2\",\"Dial\",\"SIP/201\",\"2026-11-20 10:00:00\","
      "\"\",\"2026-11-20 10:00:30\",30,0,\"NO ANSWER\",\"DOCUMENTATION\","
      "\"1700000000.9\",\"\"\n";
  const std::string form =
      "CallSid=CA9&From=%2B442071838753&CallStatus=completed";
  struct Case {
    std::string path, body, type;
  };
  const std::vector<Case> cases = {
      {"/v1/calls", JsonCall("t-1", "+442071838753"), "text/plain"},
      {"/v1/calls", JsonCall("t-2", "+442071838753"),
       "application/x-www-form-urlencoded"},
      {"/v1/calls", JsonCall("t-3", "+442071838753"), ""},
      {"/v1/calls/asterisk-cdr", cdr, "application/json"},
      {"/v1/calls/twilio", form, "application/json"},
      {"/v1/calls/twilio", form, "text/plain"},
  };
  for (const Case& c : cases) {
    auto result = Post(c.path, c.body, c.type);
    ASSERT_TRUE(result) << c.path;
    EXPECT_EQ(result->status, 415)
        << c.path << " as " << c.type << " -> " << result->body;
    const auto error = nlohmann::json::parse(result->body, nullptr, false);
    ASSERT_TRUE(error.is_object() && error.contains("error")) << result->body;
    EXPECT_EQ(error["error"].value("field", ""), "Content-Type")
        << result->body;
  }
  // The media types each route names, with parameters and in any case.
  auto json = Post("/v1/calls", JsonCall("t-4", "+442071838753"),
                   "Application/JSON; charset=utf-8");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 202) << json->body;
  auto plain_cdr = Post("/v1/calls/asterisk-cdr", cdr, "text/plain");
  ASSERT_TRUE(plain_cdr);
  EXPECT_EQ(plain_cdr->status, 202) << plain_cdr->body;
  auto twilio = Post("/v1/calls/twilio", form,
                     "application/x-www-form-urlencoded; charset=UTF-8");
  ASSERT_TRUE(twilio);
  EXPECT_EQ(twilio->status, 202) << twilio->body;

  ASSERT_NO_FATAL_FAILURE(DeliverMarker());
  std::vector<v1::InteractionEvent> events =
      ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838753");
  std::set<std::string> ids;
  for (const auto& event : events) ids.insert(event.event_id());
  EXPECT_EQ(ids, (std::set<std::string>{"call:json:t-4", "call:twilio:CA9"}));
  EXPECT_EQ(WaitForTimeline("+442071838750", 1).size(), 1u);  // the CDR
}

TEST_F(PhoneAdapterTest, JsonCallSentOnAnswerThenOnHangUpIsOneUpdatedEvent) {
  nlohmann::json call = {{"call_id", "life-1"},
                         {"direction", "inbound"},
                         {"caller", "+442071838754"},
                         {"callee", "201"},
                         {"started_at", "2026-11-20T09:30:00Z"},
                         {"answered_at", "2026-11-20T09:30:10Z"},
                         {"disposition", "answered"},
                         {"agent", "maria"}};
  const std::string on_answer = call.dump();
  auto posted = Post("/v1/calls", on_answer, "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  ASSERT_EQ(WaitForTimeline("+442071838754", 1).size(), 1u);

  call["ended_at"] = "2026-11-20T09:35:10Z";
  call["duration_seconds"] = 310;
  call["billable_seconds"] = 300;
  call["wrap_up_code"] = "refund";
  call["satisfaction"] = 8;
  posted = Post("/v1/calls", call.dump(), "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  // The answer copy again, late (a retrying PBX): it must not undo the
  // hang-up.
  posted = Post("/v1/calls", on_answer, "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  ASSERT_NO_FATAL_FAILURE(DeliverMarker());

  std::vector<v1::InteractionEvent> events =
      ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838754");
  ASSERT_EQ(events.size(), 1u);
  const v1::InteractionEvent& event = events[0];
  EXPECT_EQ(event.event_id(), "call:json:life-1");
  EXPECT_EQ(event.revision(), 3u);
  EXPECT_EQ(event.call().duration_seconds(), 310);
  EXPECT_EQ(event.call().billable_seconds(), 300);
  EXPECT_EQ(event.call().wrap_up_code(), "refund");
  EXPECT_EQ(
      event.call().ended_at().seconds() - event.call().answered_at().seconds(),
      300);
  EXPECT_DOUBLE_EQ(event.satisfaction(), 8.0);
  EXPECT_EQ(TotalInteractions("+442071838754"), 1);
  std::optional<v1::CustomerView> customer =
      Customer(v1::IDENTITY_KIND_PHONE, "+442071838754");
  ASSERT_TRUE(customer);
  EXPECT_EQ(customer->satisfaction_count(), 1);
  EXPECT_EQ(DeadLetters(), "");
}

TEST_F(PhoneAdapterTest, HubDownWhileRecordsArePostedThenEveryRecordOnce) {
  ASSERT_TRUE(hub_->Signal(SIGKILL).ok());
  hub_->Wait(absl::Seconds(10)).IgnoreError();
  for (int i = 0; i < 20; ++i) {
    auto result =
        Post("/v1/calls", JsonCall(absl::StrCat("down-", i), "+442071838751"),
             "application/json");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 202) << result->body;
  }
  ASSERT_NO_FATAL_FAILURE(StartHub());
  std::vector<v1::InteractionEvent> events =
      WaitForTimeline("+442071838751", 20);
  std::set<std::string> ids;
  for (const auto& event : events) ids.insert(event.event_id());
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(events.size(), 20u);
  EXPECT_EQ(TotalInteractions("+442071838751"), 20);
}

TEST_F(PhoneAdapterTest, AdapterKilledMidLoadLosesNoAcknowledgedRecord) {
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::set<std::string> sent;
  std::thread load([&] {
    for (int i = 0; !stop && i < 100000; ++i) {
      const std::string id = absl::StrCat("load-", i);
      {
        std::lock_guard<std::mutex> lock(mutex);
        sent.insert("call:json:" + id);
      }
      auto result =
          Post("/v1/calls", JsonCall(id, "+442071838752"), "application/json");
      if (result && result->status == 202) {
        std::lock_guard<std::mutex> lock(mutex);
        acknowledged.insert("call:json:" + id);
      }
    }
  });
  // Kill it while the load is running, once a fair number were acknowledged.
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (acknowledged.size() >= 300) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  const absl::Status killed = adapter_->Signal(SIGKILL);
  adapter_->Wait(absl::Seconds(10)).IgnoreError();
  stop = true;
  load.join();
  ASSERT_TRUE(killed.ok()) << killed;
  ASSERT_GT(acknowledged.size(), 10u);
  StartAdapter();  // same spool directory
  // Everything the spool holds (acknowledged or not, since the kill may fall
  // between spooling a record and answering) is delivered before the
  // marker; counting before that would race the replay.
  DeliverMarker();

  std::vector<v1::InteractionEvent> events =
      ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838752");
  std::set<std::string> stored;
  for (const auto& event : events) {
    EXPECT_TRUE(stored.insert(event.event_id()).second)
        << "stored twice: " << event.event_id();
    EXPECT_TRUE(sent.count(event.event_id())) << event.event_id();
  }
  for (const std::string& id : acknowledged) {
    EXPECT_TRUE(stored.count(id)) << "acknowledged but lost: " << id;
  }
  EXPECT_EQ(TotalInteractions("+442071838752"),
            static_cast<int64_t>(stored.size()));
}

// A Spanish call center whose Asterisk logs CDRs in local time.
class MadridCallCenterTest : public PhoneAdapterTest {
 protected:
  MadridCallCenterTest() {
    adapter_flags_.push_back("--cdr_time_zone=Europe/Madrid");
  }

  static std::string CdrLine(const std::string& caller,
                             const std::string& start, const std::string& end,
                             const std::string& unique_id) {
    return absl::StrCat("\"\",\"", caller,
                        "\",\"201\",\"from-pstn\",\"\",\"SIP/t-1\","
                        "\"SIP/201-2\",\"Dial\",\"SIP/201\",\"",
                        start, "\",\"", start, "\",\"", end,
                        "\",60,60,\"ANSWERED\",\"DOCUMENTATION\",\"", unique_id,
                        "\",\"\"\n");
  }
};

// The hour the clocks go back happens twice in local time. Before, a CDR
// from it was placed in one of the two hours without a word, maybe an hour
// off; now the lines are refused naming the line, and nothing is stored.
TEST_F(MadridCallCenterTest, LocalTimesAreReadInTheZoneAndNeverGuessed) {
  auto winter = Post("/v1/calls/asterisk-cdr",
                     CdrLine("+34612345678", "2026-11-20 10:00:00",
                             "2026-11-20 10:01:00", "1800000000.1"),
                     "text/csv");
  ASSERT_TRUE(winter);
  ASSERT_EQ(winter->status, 202) << winter->body;
  std::vector<v1::InteractionEvent> events = WaitForTimeline("+34612345678", 1);
  ASSERT_EQ(events.size(), 1u);
  // Madrid is UTC+1 in November.
  EXPECT_EQ(
      events[0].occurred_at().seconds(),
      absl::ToUnixSeconds(absl::FromCivil(
          absl::CivilSecond(2026, 11, 20, 9, 0, 0), absl::UTCTimeZone())));

  auto twice = Post("/v1/calls/asterisk-cdr",
                    CdrLine("+34612345679", "2026-10-25 01:50:00",
                            "2026-10-25 01:51:00", "1800000000.2") +
                        CdrLine("+34612345679", "2026-10-25 02:30:00",
                                "2026-10-25 02:31:00", "1800000000.3"),
                    "text/csv");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 400) << twice->body;
  const std::string message =
      nlohmann::json::parse(twice->body)["error"]["message"];
  EXPECT_THAT(message, ::testing::HasSubstr("line 2, column 10"));
  EXPECT_THAT(message, ::testing::HasSubstr("happened twice in Europe/Madrid"));
  DeliverMarker();
  EXPECT_EQ(TotalInteractions("+34612345679"), -1);
}

// Flags the phone adapter alone has, checked as --cdr_time_zone is.
TEST(PhoneAdapterFlagsTest, NonsenseStopsTheAdapterNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--max_extension_digits=-1", "--max_extension_digits: "},
      {"--max_extension_digits=20", "--max_extension_digits: "},
      {"--log_level=loud", "--log_level: "},
      {"--shutdown_grace=-1s", "--shutdown_grace: "},
  };
  ExpectEachFlagStopsTheAdapter(OMNIHUB_PHONE_ADAPTER_BINARY, cases);
}

}  // namespace
}  // namespace omnihub::testing

// The visit adapter end to end: real redis-server, hub and adapter processes,
// real HTTP in, gRPC reads out.
#include <signal.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/adapter_fixture.h"

namespace omnihub::testing {
namespace {

using nlohmann::json;

class VisitAdapterTest : public AdapterEndToEndTest {
 protected:
  VisitAdapterTest() : AdapterEndToEndTest(OMNIHUB_VISIT_ADAPTER_BINARY, {}) {}

  static json Visit(const std::string& id, const std::string& card) {
    return {{"visit_id", id},       {"store_id", "london-01"},
            {"staff_id", "emma"},   {"checked_in_at", "2026-11-20T10:00:00Z"},
            {"purpose", "enquiry"}, {"identities", {{"loyalty_card", card}}}};
  }
};

TEST_F(VisitAdapterTest, JsonVisitLandsOnTheCardholdersTimeline) {
  json visit = Visit("v-1", "L-100");
  visit["purpose"] = "purchase";
  visit["checked_out_at"] = "2026-11-20T10:20:00Z";
  visit["purchase_amount"] = "129.90";
  visit["currency"] = "GBP";
  visit["satisfaction"] = 9;
  visit["identities"]["phone"] = "020 7183 8750";
  auto result = Post("/v1/visits", visit.dump(), "application/json");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 202) << result->body;

  std::vector<v1::InteractionEvent> events =
      WaitForTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-100", 1);
  ASSERT_EQ(events.size(), 1u);
  const v1::InteractionEvent& event = events[0];
  EXPECT_EQ(event.event_id(), "visit:london-01:v-1");
  EXPECT_EQ(event.channel(), v1::CHANNEL_IN_PERSON);
  EXPECT_EQ(event.in_person().location_id(), "london-01");
  EXPECT_EQ(event.in_person().staff_id(), "emma");
  EXPECT_EQ(event.in_person().purpose(), "purchase");
  EXPECT_EQ(event.value().amount_micros(), 129'900'000);
  EXPECT_EQ(event.value().currency(), "GBP");
  EXPECT_DOUBLE_EQ(event.satisfaction(), 9.0);
  std::optional<v1::CustomerView> by_phone =
      Customer(v1::IDENTITY_KIND_PHONE, "+442071838750");
  ASSERT_TRUE(by_phone);
  EXPECT_EQ(by_phone->customer_id(), event.customer_id());
  EXPECT_EQ(by_phone->total_interactions(), 1);
  EXPECT_DOUBLE_EQ(by_phone->average_satisfaction(), 9.0);
}

TEST_F(VisitAdapterTest, CsvKeepsGoodRowsAndReportsBadOnesByLine) {
  const std::string csv =
      "visit_id,store_id,checked_in_at,loyalty_card,purchase_amount,currency,"
      "outcome\r\n"
      "c-1,paris-02,2026-11-20T09:00:00Z,L-200,10.00,EUR,\"scarf, red\"\r\n"
      "c-2,paris-02,yesterday,L-200,,,\r\n"
      "c-3,paris-02,2026-11-20T09:30:00Z,L-200,5,,\r\n"
      "c-4,paris-02,2026-11-20T10:00:00Z,L-200,,,Müller\r\n"
      "c-5,paris-02,2999-01-01T00:00:00Z,L-200,,,\r\n";
  auto result = Post("/v1/visits/csv", csv, "text/csv");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 202) << result->body;
  const json body = json::parse(result->body);
  EXPECT_EQ(body["accepted"], 2);
  ASSERT_EQ(body["rejected"].size(), 3u) << result->body;
  EXPECT_EQ(body["rejected"][0]["line"], 3);
  EXPECT_EQ(body["rejected"][0]["field"], "checked_in_at");
  EXPECT_EQ(body["rejected"][1]["line"], 4);
  EXPECT_EQ(body["rejected"][1]["field"], "currency");
  EXPECT_EQ(body["rejected"][2]["line"], 6);  // too far in the future
  EXPECT_EQ(body["rejected"][2]["field"], "event.occurred_at");

  std::vector<v1::InteractionEvent> events =
      WaitForTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-200", 2);
  absl::SleepFor(absl::Milliseconds(500));  // nothing more is on its way
  events = ReadTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-200");
  ASSERT_EQ(events.size(), 2u);
  std::set<std::string> ids;
  for (const auto& event : events) ids.insert(event.event_id());
  EXPECT_EQ(
      ids, (std::set<std::string>{"visit:paris-02:c-1", "visit:paris-02:c-4"}));
  EXPECT_EQ(events[0].in_person().outcome(), "Müller");  // newest first
  EXPECT_EQ(events[1].in_person().outcome(), "scarf, red");

  // Nothing good at all: a 400 that still lists every row.
  auto none =
      Post("/v1/visits/csv",
           "visit_id,store_id,checked_in_at,crm_id\nx,s,never,c\n", "text/csv");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 400) << none->body;
  EXPECT_EQ(json::parse(none->body)["rejected"][0]["line"], 2);
}

TEST_F(VisitAdapterTest, CheckOutRecordUpdatesTheCheckInEvent) {
  auto check_in =
      Post("/v1/visits", Visit("v-9", "L-300").dump(), "application/json");
  ASSERT_TRUE(check_in);
  ASSERT_EQ(check_in->status, 202) << check_in->body;
  ASSERT_EQ(WaitForTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-300", 1).size(),
            1u);
  // The same visit from the day's-end export, now with its check-out.
  auto check_out = Post("/v1/visits/csv",
                        "visit_id,store_id,checked_in_at,checked_out_at,"
                        "loyalty_card,outcome\n"
                        "v-9,london-01,2026-11-20T10:00:00Z,"
                        "2026-11-20T10:45:00Z,L-300,booked a fitting\n",
                        "text/csv");
  ASSERT_TRUE(check_out);
  ASSERT_EQ(check_out->status, 202) << check_out->body;
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 100; ++i) {
    events = ReadTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-300");
    if (events.size() == 1 && events[0].in_person().has_checked_out_at()) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].in_person().outcome(), "booked a fitting");
  EXPECT_EQ(events[0].in_person().checked_out_at().seconds() -
                events[0].in_person().checked_in_at().seconds(),
            45 * 60);
  std::optional<v1::CustomerView> customer =
      Customer(v1::IDENTITY_KIND_LOYALTY_CARD, "L-300");
  ASSERT_TRUE(customer);
  EXPECT_EQ(customer->total_interactions(), 1);
}

TEST_F(VisitAdapterTest, MalformedInputIsA4xxAndStoresNothing) {
  struct Case {
    std::string path, body, field;
  };
  json no_identity = Visit("v", "x");
  no_identity.erase("identities");
  json bad_amount = Visit("v", "x");
  bad_amount["purchase_amount"] = "12,50";
  bad_amount["currency"] = "EUR";
  json one_bad = json::array({Visit("ok", "L-1"), Visit("v", "x")});
  one_bad[1]["checked_in_at"] = 1700000000;
  const std::vector<Case> cases = {
      {"/v1/visits", "{broken", "body"},
      {"/v1/visits", no_identity.dump(), "visit.identities"},
      {"/v1/visits", bad_amount.dump(), "visit.purchase_amount"},
      {"/v1/visits", one_bad.dump(), "visits[1].checked_in_at"},
      {"/v1/visits/csv", "visit_id,checked_in_at\nv,2026-11-20T10:00:00Z\n",
       "header"},
      {"/v1/visits/csv", "visit_id,store_id,checked_in_at\n\"v,s\n", "line"},
      {"/v1/visits/csv",
       "visit_id,store_id,checked_in_at,phone\n"
       "v,s,2026-11-20T10:00:00Z,12\n",
       "phone"},
  };
  for (const Case& c : cases) {
    auto result = Post(c.path, c.body, "application/json");
    ASSERT_TRUE(result) << c.path;
    EXPECT_EQ(result->status, 400) << c.body << " -> " << result->body;
    const json error = json::parse(result->body, nullptr, false);
    ASSERT_TRUE(error.is_object() && error.contains("error")) << result->body;
    EXPECT_NE(error["error"].value("message", "").find(c.field),
              std::string::npos)
        << c.field << " not in " << result->body;
  }
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(RedisKeyCount(), 0);
}

TEST_F(VisitAdapterTest, HubDownWhileVisitsArePostedThenEachOnce) {
  ASSERT_TRUE(hub_->Signal(SIGKILL).ok());
  hub_->Wait(absl::Seconds(10)).IgnoreError();
  std::string csv = "visit_id,store_id,checked_in_at,loyalty_card\n";
  for (int i = 0; i < 10; ++i) {
    auto result =
        Post("/v1/visits", Visit(absl::StrCat("down-", i), "L-400").dump(),
             "application/json");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 202) << result->body;
    absl::StrAppend(&csv, "down-csv-", i, ",london-01,2026-11-2", i % 3,
                    "T10:00:00Z,L-400\n");
  }
  // The export is sent twice, as a retrying store system might.
  for (int copy = 0; copy < 2; ++copy) {
    auto result = Post("/v1/visits/csv", csv, "text/csv");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 202) << result->body;
  }
  ASSERT_NO_FATAL_FAILURE(StartHub());
  std::vector<v1::InteractionEvent> events =
      WaitForTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-400", 20);
  std::set<std::string> ids;
  for (const auto& event : events) ids.insert(event.event_id());
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(events.size(), 20u);
  std::optional<v1::CustomerView> customer =
      Customer(v1::IDENTITY_KIND_LOYALTY_CARD, "L-400");
  ASSERT_TRUE(customer);
  EXPECT_EQ(customer->total_interactions(), 20);
}

}  // namespace
}  // namespace omnihub::testing

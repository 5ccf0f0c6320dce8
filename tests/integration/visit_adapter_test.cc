// The visit adapter end to end: real redis-server, hub and adapter processes,
// real HTTP in, gRPC reads out.
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/adapter_fixture.h"
#include "tests/support/child_process.h"
#include "tests/support/file_text.h"

namespace omnihub::testing {
namespace {

using nlohmann::json;

constexpr int kMaxVisits = 50;
constexpr int kMaxCsvRows = 50;

std::set<std::string> EventIds(
    const std::vector<v1::InteractionEvent>& events) {
  std::set<std::string> ids;
  for (const v1::InteractionEvent& event : events) ids.insert(event.event_id());
  return ids;
}

class VisitAdapterTest : public AdapterEndToEndTest {
 protected:
  VisitAdapterTest()
      : AdapterEndToEndTest(OMNIHUB_VISIT_ADAPTER_BINARY,
                            {absl::StrCat("--max_visits=", kMaxVisits),
                             absl::StrCat("--max_csv_rows=", kMaxCsvRows)}) {}

  // Nothing accepted may be refused later by the hub: that would be a record
  // the sender was told is safe, yet never on any timeline.
  void TearDown() override { EXPECT_EQ(DeadLetters(), ""); }

  static json Visit(const std::string& id, const std::string& card) {
    return {{"visit_id", id},       {"store_id", "london-01"},
            {"staff_id", "emma"},   {"checked_in_at", "2026-11-20T10:00:00Z"},
            {"purpose", "enquiry"}, {"identities", {{"loyalty_card", card}}}};
  }

  httplib::Result PostJson(const json& body) {
    return Post("/v1/visits", body.dump(), "application/json");
  }

  // The adapter delivers in spool order, so once a visit posted now is on
  // its timeline, everything accepted before it has been delivered too.
  // `customer_id`, when given, receives the marker's customer.
  void WaitUntilEverythingEarlierIsDelivered(
      std::string* customer_id = nullptr) {
    static int markers = 0;
    const std::string card = absl::StrCat("MARKER-", ++markers);
    auto result = PostJson(Visit("marker", card));
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 202) << result->body;
    std::vector<v1::InteractionEvent> events =
        WaitForTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, card, 1);
    ASSERT_EQ(events.size(), 1u);
    if (customer_id != nullptr) *customer_id = events[0].customer_id();
  }
};

TEST_F(VisitAdapterTest, JsonVisitLandsOnTheCardholdersTimeline) {
  json visit = Visit("v-1", "L-100");
  visit["purpose"] = "purchase";
  visit["outcome"] = "bought boots";
  visit["checked_out_at"] = "2026-11-20T10:20:00Z";
  visit["purchase_amount"] = "129.90";
  visit["currency"] = "GBP";
  visit["satisfaction"] = 9;
  visit["identities"]["phone"] = "020 7183 8750";
  auto result = PostJson(visit);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 202) << result->body;
  const json answer = json::parse(result->body);
  EXPECT_EQ(answer["accepted"], 1);
  EXPECT_EQ(answer["event_ids"], json::array({"visit:london-01:v-1"}));

  std::vector<v1::InteractionEvent> events =
      WaitForTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-100", 1);
  ASSERT_EQ(events.size(), 1u);
  const v1::InteractionEvent& event = events[0];
  EXPECT_EQ(event.event_id(), "visit:london-01:v-1");
  EXPECT_EQ(event.source(), "visit-adapter/json");
  EXPECT_EQ(event.channel(), v1::CHANNEL_IN_PERSON);
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_PURCHASE);  // money taken
  EXPECT_EQ(event.occurred_at().seconds(), 1795168800);
  EXPECT_EQ(event.revision(), 2u);
  EXPECT_EQ(event.in_person().visit_id(), "v-1");
  EXPECT_EQ(event.in_person().location_id(), "london-01");
  EXPECT_EQ(event.in_person().staff_id(), "emma");
  EXPECT_EQ(event.in_person().purpose(), "purchase");
  EXPECT_EQ(event.in_person().outcome(), "bought boots");
  EXPECT_EQ(event.in_person().checked_out_at().seconds(), 1795168800 + 1200);
  EXPECT_EQ(event.value().amount_micros(), 129'900'000);
  EXPECT_EQ(event.value().currency(), "GBP");
  EXPECT_DOUBLE_EQ(event.satisfaction(), 9.0);

  std::optional<v1::CustomerView> by_card =
      Customer(v1::IDENTITY_KIND_LOYALTY_CARD, "L-100");
  ASSERT_TRUE(by_card);
  EXPECT_EQ(by_card->customer_id(), event.customer_id());
  EXPECT_EQ(by_card->total_interactions(), 1);
  ASSERT_EQ(by_card->total_value_size(), 1);
  EXPECT_EQ(by_card->total_value(0).currency(), "GBP");
  EXPECT_EQ(by_card->total_value(0).amount_micros(), 129'900'000);
  EXPECT_DOUBLE_EQ(by_card->average_satisfaction(), 9.0);
  EXPECT_EQ(by_card->satisfaction_count(), 1);
  ASSERT_EQ(by_card->channels_size(), 1);
  EXPECT_EQ(by_card->channels(0).channel(), v1::CHANNEL_IN_PERSON);
  // The phone, normalised to E.164, finds the same customer.
  std::optional<v1::CustomerView> by_phone =
      Customer(v1::IDENTITY_KIND_PHONE, "+442071838750");
  ASSERT_TRUE(by_phone);
  EXPECT_EQ(by_phone->customer_id(), event.customer_id());
}

TEST_F(VisitAdapterTest, CsvKeepsGoodRowsAndReportsBadOnesByLine) {
  const std::string csv =
      "\xEF\xBB\xBF Visit_ID ,Store_ID,checked_in_at,loyalty_card,phone,"
      "purchase_amount,currency,outcome,till\r\n"
      "c-1,paris-02,2026-11-20T09:00:00Z,L-200,,10.00,EUR,\"scarf, red\",7\r\n"
      "c-2,paris-02,yesterday,L-200,,,,,7\r\n"
      "c-3,paris-02,2026-11-20T09:30:00Z,L-200,,5,,,7\r\n"
      "c-4,paris-02,2026-11-20T10:00:00Z,L-200,,,,\"Müller \"\"the\"\"\r\n"
      "elder\",7\r\n"
      "c-5,paris-02,2999-01-01T00:00:00Z,L-200,,,,,7\r\n"
      "c-6,paris-02,2026-11-20T10:30:00Z,L-200,,,,broken \xFF text,7\r\n"
      "c-7,paris-02,2026-11-20T10:40:00Z,L-200,12,,,,7\r\n"
      "\r\n"
      "\r\n";
  auto result = Post("/v1/visits/csv", csv, "text/csv");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 202) << result->body;
  const json body = json::parse(result->body);
  EXPECT_EQ(body["accepted"], 2);
  EXPECT_EQ(body["event_ids"],
            json::array({"visit:paris-02:c-1", "visit:paris-02:c-4"}));
  struct Rejected {
    int line;
    const char* field;
    const char* message;
  };
  const Rejected expected[] = {
      {3, "checked_in_at", "checked_in_at: must be a time like"},
      {4, "currency", "currency: must be an ISO 4217 code"},
      {7, "checked_in_at", "checked_in_at: is "},  // in the future
      {8, "outcome", "outcome: must be valid UTF-8"},
      {9, "phone", "phone: "},
  };
  ASSERT_EQ(body["rejected"].size(), std::size(expected)) << result->body;
  for (size_t i = 0; i < std::size(expected); ++i) {
    const json& rejected = body["rejected"][i];
    EXPECT_EQ(rejected["line"], expected[i].line) << rejected;
    EXPECT_EQ(rejected["field"], expected[i].field) << rejected;
    EXPECT_EQ(
        rejected["message"].get<std::string>().rfind(expected[i].message, 0),
        0u)
        << rejected;
  }

  ASSERT_NO_FATAL_FAILURE(WaitUntilEverythingEarlierIsDelivered());
  std::vector<v1::InteractionEvent> events =
      ReadTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-200");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(EventIds(events), (std::set<std::string>{"visit:paris-02:c-1",
                                                     "visit:paris-02:c-4"}));
  // Newest first.
  EXPECT_EQ(events[0].in_person().outcome(), "Müller \"the\"\r\nelder");
  EXPECT_EQ(events[0].source(), "visit-adapter/csv");
  EXPECT_EQ(events[1].in_person().outcome(), "scarf, red");
  EXPECT_EQ(events[1].value().amount_micros(), 10'000'000);
  EXPECT_EQ(events[1].value().currency(), "EUR");

  // Nothing good at all: a 400 that still lists every row.
  auto none = Post("/v1/visits/csv",
                   "visit_id,store_id,checked_in_at,crm_id\n"
                   "x,s,never,c\n"
                   "y,s,2026-11-20T10:00:00Z,\n",
                   "text/csv");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 400) << none->body;
  const json refused = json::parse(none->body);
  EXPECT_EQ(refused["error"]["field"], "checked_in_at");
  ASSERT_EQ(refused["rejected"].size(), 2u) << none->body;
  EXPECT_EQ(refused["rejected"][0]["line"], 2);
  EXPECT_EQ(refused["rejected"][1]["line"], 3);
  EXPECT_EQ(refused["rejected"][1]["field"], "loyalty_card");
}

TEST_F(VisitAdapterTest, CheckOutRecordUpdatesTheCheckInEvent) {
  const json check_in = Visit("v-9", "L-300");
  auto posted = PostJson(check_in);
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  ASSERT_EQ(WaitForTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-300", 1).size(),
            1u);
  // The same visit from the day's-end export, now with its check-out.
  auto check_out = Post("/v1/visits/csv",
                        "visit_id,store_id,checked_in_at,checked_out_at,"
                        "loyalty_card,outcome,purchase_amount,currency,"
                        "satisfaction,satisfaction_scale\n"
                        "v-9,london-01,2026-11-20T10:00:00Z,"
                        "2026-11-20T10:45:00Z,L-300,booked a fitting,40.00,"
                        "EUR,4,5\n",
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
  EXPECT_EQ(events[0].revision(), 2u);
  EXPECT_EQ(events[0].in_person().outcome(), "booked a fitting");
  EXPECT_EQ(events[0].in_person().checked_out_at().seconds() -
                events[0].in_person().checked_in_at().seconds(),
            45 * 60);

  // The check-in record sent again, late: it must not undo the check-out.
  posted = PostJson(check_in);
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  ASSERT_NO_FATAL_FAILURE(WaitUntilEverythingEarlierIsDelivered());
  events = ReadTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-300");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].in_person().has_checked_out_at());
  EXPECT_EQ(events[0].value().amount_micros(), 40'000'000);

  std::optional<v1::CustomerView> customer =
      Customer(v1::IDENTITY_KIND_LOYALTY_CARD, "L-300");
  ASSERT_TRUE(customer);
  EXPECT_EQ(customer->total_interactions(), 1);
  ASSERT_EQ(customer->total_value_size(), 1);
  EXPECT_EQ(customer->total_value(0).amount_micros(), 40'000'000);
  EXPECT_DOUBLE_EQ(customer->average_satisfaction(), 8.0);  // 4 of 5
  EXPECT_EQ(customer->satisfaction_count(), 1);
}

TEST_F(VisitAdapterTest, MalformedInputIsA4xxNamingTheFieldAndStoresNothing) {
  struct Case {
    std::string path, body;
    std::string field;  // the error's field member, exactly
  };
  std::vector<Case> cases;
  const auto json_case = [&](const json& body, const std::string& field) {
    cases.push_back({"/v1/visits", body.dump(), field});
  };
  const auto changed = [](const char* key, json value) {
    json visit = Visit("v", "BAD-1");
    visit[key] = std::move(value);
    return visit;
  };
  cases.push_back({"/v1/visits", "{broken", "body"});
  cases.push_back({"/v1/visits", "", "body"});
  json_case(json::array(), "body");
  json_case(42, "visit");
  json_case(changed("visit_id", 17), "visit.visit_id");
  json_case(changed("store_id", nullptr), "visit.store_id");
  json_case(changed("checked_in_at", 1795168800), "visit.checked_in_at");
  json_case(changed("checked_in_at", "2999-01-01T00:00:00Z"),
            "visit.checked_in_at");
  json_case(changed("checked_out_at", "2026-11-20T09:00:00Z"),
            "visit.checked_out_at");
  json_case(changed("updated_at", "2999-01-01T00:00:00Z"), "visit.updated_at");
  json_case(changed("purpose", "loitering"), "visit.purpose");
  json_case(changed("identities", json::array({"BAD-1"})), "visit.identities");
  json_case(changed("identities", json::object()), "visit.identities");
  json_case(changed("identities", {{"phone", "12"}}), "visit.identities.phone");
  json visit = changed("purchase_amount", "12,50");
  visit["currency"] = "EUR";
  json_case(visit, "visit.purchase_amount");
  visit["purchase_amount"] = true;
  json_case(visit, "visit.purchase_amount");
  visit["purchase_amount"] = "12.3456789";
  json_case(visit, "visit.purchase_amount");
  visit["purchase_amount"] = -1;
  json_case(visit, "visit.purchase_amount");
  visit["purchase_amount"] = "1.50";
  visit["currency"] = "EURO";
  json_case(visit, "visit.currency");
  json_case(changed("satisfaction", 11), "visit.satisfaction");
  json one_bad = json::array({Visit("ok", "BAD-2"), Visit("v", "BAD-2")});
  one_bad[1]["identities"]["phone"] = "not a phone";
  json_case(one_bad, "visits[1].identities.phone");
  json too_many = json::array();
  for (int i = 0; i <= kMaxVisits; ++i) {
    too_many.push_back(Visit(absl::StrCat("many-", i), "BAD-3"));
  }
  json_case(too_many, "body");

  const std::string header = "visit_id,store_id,checked_in_at,loyalty_card\n";
  cases.push_back({"/v1/visits/csv", "", "body"});
  cases.push_back({"/v1/visits/csv", header, "body"});
  cases.push_back({"/v1/visits/csv",
                   "visit_id,checked_in_at,loyalty_card\n"
                   "v,2026-11-20T10:00:00Z,BAD-4\n",
                   "header"});
  cases.push_back({"/v1/visits/csv",
                   "visit_id,store_id,checked_in_at\n"
                   "v,s,2026-11-20T10:00:00Z\n",
                   "header"});
  cases.push_back({"/v1/visits/csv",
                   "visit_id,store_id,checked_in_at,loyalty_card,Loyalty_Card\n"
                   "v,s,2026-11-20T10:00:00Z,BAD-4,BAD-4\n",
                   "header"});
  cases.push_back({"/v1/visits/csv",
                   header + "\"v,s,2026-11-20T10:00:00Z,BAD-4\n",
                   ""});  // a line number, checked below
  cases.push_back({"/v1/visits/csv",
                   "visit_id,store_id,checked_in_at,phone\n"
                   "v,s,2026-11-20T10:00:00Z,12\n",
                   "phone"});
  std::string too_many_rows = header;
  for (int i = 0; i <= kMaxCsvRows; ++i) {
    absl::StrAppend(&too_many_rows, "r-", i, ",s,2026-11-20T10:00:00Z,BAD-5\n");
  }
  cases.push_back({"/v1/visits/csv", too_many_rows, ""});

  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.path, " ", c.body.substr(0, 200)));
    auto result =
        Post(c.path, c.body,
             c.path == "/v1/visits" ? "application/json" : "text/csv");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400) << result->body;
    const json error = json::parse(result->body, nullptr, false);
    ASSERT_TRUE(error.is_object() && error.contains("error")) << result->body;
    const std::string field = error["error"].value("field", "");
    const std::string message = error["error"].value("message", "");
    if (c.field.empty()) {
      EXPECT_EQ(field.rfind("line ", 0), 0u) << result->body;
    } else {
      EXPECT_EQ(field, c.field) << result->body;
    }
    EXPECT_NE(message.find(field), std::string::npos) << result->body;
  }

  // Once a later visit is delivered, none of the refused ones can still be
  // on the way: Redis holds the marker's customer and nothing else.
  std::string marker;
  ASSERT_NO_FATAL_FAILURE(WaitUntilEverythingEarlierIsDelivered(&marker));
  EXPECT_THAT(KeysNotOfCustomer(marker), ::testing::IsEmpty());
  for (const char* card : {"BAD-1", "BAD-2", "BAD-3", "BAD-4", "BAD-5"}) {
    EXPECT_FALSE(Customer(v1::IDENTITY_KIND_LOYALTY_CARD, card)) << card;
  }
}

TEST_F(VisitAdapterTest, EachRouteRefusesAnotherContentTypeWith415) {
  const std::string csv =
      "visit_id,store_id,checked_in_at,loyalty_card\n"
      "t-1,london-01,2026-11-20T10:00:00Z,L-415\n";
  const std::string visit = Visit("t-2", "L-415").dump();
  struct Case {
    std::string path, body, type;
  };
  const std::vector<Case> cases = {
      {"/v1/visits", visit, "text/plain"},
      {"/v1/visits", visit, "application/x-www-form-urlencoded"},
      {"/v1/visits", visit, ""},
      {"/v1/visits/csv", csv, "application/json"},
      {"/v1/visits/csv", csv, "application/x-www-form-urlencoded"},
  };
  for (const Case& c : cases) {
    auto result = Post(c.path, c.body, c.type);
    ASSERT_TRUE(result) << c.path;
    EXPECT_EQ(result->status, 415)
        << c.path << " as " << c.type << " -> " << result->body;
    const json error = json::parse(result->body, nullptr, false);
    ASSERT_TRUE(error.is_object() && error.contains("error")) << result->body;
    EXPECT_EQ(error["error"].value("field", ""), "Content-Type")
        << result->body;
  }
  std::string marker;
  ASSERT_NO_FATAL_FAILURE(WaitUntilEverythingEarlierIsDelivered(&marker));
  EXPECT_THAT(KeysNotOfCustomer(marker), ::testing::IsEmpty());
  // Each route's own media types, parameters and case aside.
  auto csv_as_text = Post("/v1/visits/csv", csv, "Text/Plain; charset=utf-8");
  ASSERT_TRUE(csv_as_text);
  EXPECT_EQ(csv_as_text->status, 202) << csv_as_text->body;
  auto json_visit =
      Post("/v1/visits", visit, "application/json; charset=utf-8");
  ASSERT_TRUE(json_visit);
  EXPECT_EQ(json_visit->status, 202) << json_visit->body;
  EXPECT_EQ(WaitForTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-415", 2).size(),
            2u);
}

TEST_F(VisitAdapterTest, HubKilledWhileVisitsArePostedEachArrivesOnce) {
  constexpr int kPosts = 40;
  std::atomic<int> acknowledged{0};
  std::set<std::string> expected_ids;
  for (int i = 0; i < kPosts; ++i) {
    expected_ids.insert(absl::StrCat("visit:london-01:kill-", i));
    if (i % 4 == 0) {
      expected_ids.insert(absl::StrCat("visit:london-01:kill-csv-", i));
    }
  }
  // Each visit is posted as a check-in and again with its check-out, and
  // every fourth also in a CSV export sent twice, as a retrying store system
  // might.
  std::thread poster([&] {
    for (int i = 0; i < kPosts; ++i) {
      json visit = Visit(absl::StrCat("kill-", i), "L-400");
      auto check_in = PostJson(visit);
      visit["checked_out_at"] = "2026-11-20T10:30:00Z";
      auto check_out = PostJson(visit);
      if (!check_in || check_in->status != 202 || !check_out ||
          check_out->status != 202) {
        ADD_FAILURE() << "visit " << i << " was refused";
        return;
      }
      if (i % 4 == 0) {
        const std::string csv = absl::StrCat(
            "visit_id,store_id,checked_in_at,loyalty_card\nkill-csv-", i,
            ",london-01,2026-11-20T11:00:00Z,L-400\n");
        for (int copy = 0; copy < 2; ++copy) {
          auto result = Post("/v1/visits/csv", csv, "text/csv");
          if (!result || result->status != 202) {
            ADD_FAILURE() << "export " << i << " was refused";
            return;
          }
        }
      }
      ++acknowledged;
      // Paced so the stream is still running when the hub is killed.
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  // Kill the hub in the middle of the stream, with deliveries in flight.
  for (int i = 0; i < 300 && acknowledged < kPosts / 4; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Status killed = hub_->Signal(SIGKILL);
  const int acknowledged_at_kill = acknowledged;
  hub_->Wait(absl::Seconds(10)).IgnoreError();
  poster.join();
  ASSERT_TRUE(killed.ok()) << killed;
  ASSERT_EQ(acknowledged, kPosts);
  EXPECT_LT(acknowledged_at_kill, kPosts) << "the hub died after the posts";

  ASSERT_NO_FATAL_FAILURE(StartHub());
  std::vector<v1::InteractionEvent> events = WaitForTimeline(
      v1::IDENTITY_KIND_LOYALTY_CARD, "L-400", expected_ids.size());
  ASSERT_NO_FATAL_FAILURE(WaitUntilEverythingEarlierIsDelivered());
  events = ReadTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-400");
  EXPECT_EQ(events.size(), expected_ids.size());
  EXPECT_EQ(EventIds(events), expected_ids);
  for (const v1::InteractionEvent& event : events) {
    if (event.in_person().visit_id().rfind("kill-csv-", 0) == 0) continue;
    EXPECT_TRUE(event.in_person().has_checked_out_at()) << event.event_id();
  }
  std::optional<v1::CustomerView> customer =
      Customer(v1::IDENTITY_KIND_LOYALTY_CARD, "L-400");
  ASSERT_TRUE(customer);
  EXPECT_EQ(customer->total_interactions(),
            static_cast<int64_t>(expected_ids.size()));
}

// What a Spanish store's till exports from Excel: ";" between columns
// (the comma is the decimal mark), decimal commas with points between
// thousands, local times without an offset, the amount in a column called
// "amount", a column nothing reads, CRLF lines and a byte order mark.
constexpr char kSpanishExport[] =
    "\xEF\xBB\xBFvisit_id;store_id;checked_in_at;checked_out_at;loyalty_card;"
    "phone;amount;currency;purpose;notas\r\n"
    "V-1001;MAD-01;2026-11-20 10:00;2026-11-20 10:25;ES-5001;;59,90;EUR;"
    "purchase;Pag\xC3\xB3 con tarjeta\r\n"
    "V-1002;MAD-01;2026-11-20 11:15;;ES-5001;612 345 678;1.059,90;EUR;"
    "purchase;\"Sof\xC3\xA1; entrega el lunes\"\r\n"
    "V-1003;MAD-01;2026-07-01 12:00:00;;ES-5001;;;;enquiry;\r\n"
    // The clocks went back at 03:00 that night: 02:30 happened twice.
    "V-1004;MAD-01;2026-10-25 02:30;;ES-5001;;;;enquiry;turno de noche\r\n"
    // A point where a decimal comma is expected: 59.90 or 5990?
    "V-1005;MAD-01;2026-11-20 12:00;;ES-5001;;59.90;EUR;purchase;\r\n"
    ";;;;;;;;;\r\n";

// Before: a 400 "header: has no visit_id column", whatever the settings.
// Without them, the export is now read (its delimiter told from its
// header), and the answer says what to set instead of dropping data: no
// row is taken with a guessed zone, and the "amount" column nothing reads
// is named.
TEST_F(VisitAdapterTest, ExcelExportWithoutSettingsSaysWhatToSet) {
  auto result = Post("/v1/visits/csv", kSpanishExport, "text/csv");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 400) << result->body;
  const json body = json::parse(result->body);
  EXPECT_EQ(body["ignored_columns"], json::array({"amount", "notas"}));
  ASSERT_EQ(body["rejected"].size(), 5u) << result->body;
  for (const json& rejected : body["rejected"]) {
    EXPECT_EQ(rejected["field"], "checked_in_at") << rejected;
    EXPECT_THAT(rejected["message"].get<std::string>(),
                ::testing::HasSubstr("set --visit_time_zone"));
  }
  // Offsets given, the same export is taken, and still lists what it
  // ignored, even where the answer is a 202.
  auto with_offsets =
      Post("/v1/visits/csv",
           "visit_id;store_id;checked_in_at;loyalty_card;amount\r\n"
           "V-2001;MAD-02;2026-11-20T10:00:00+01:00;ES-5002;12,00\r\n",
           "text/csv");
  ASSERT_TRUE(with_offsets);
  ASSERT_EQ(with_offsets->status, 202) << with_offsets->body;
  EXPECT_EQ(json::parse(with_offsets->body)["ignored_columns"],
            json::array({"amount"}));
  // Asked for decimal commas, an amount column is read exactly.
  auto amounts = Post("/v1/visits/csv?decimal=comma&delimiter=semicolon",
                      "visit_id;store_id;checked_in_at;loyalty_card;"
                      "purchase_amount;currency\r\n"
                      "V-2002;MAD-02;2026-11-20T11:00:00Z;ES-5002;"
                      "1.059,90;EUR\r\n",
                      "text/csv");
  ASSERT_TRUE(amounts);
  ASSERT_EQ(amounts->status, 202) << amounts->body;
  EXPECT_EQ(json::parse(amounts->body)["ignored_columns"], json::array());
  auto bad_query =
      Post("/v1/visits/csv?decimal=dot", kSpanishExport, "text/csv");
  ASSERT_TRUE(bad_query);
  EXPECT_EQ(bad_query->status, 400);
  EXPECT_EQ(json::parse(bad_query->body)["error"]["field"], "decimal");

  ASSERT_NO_FATAL_FAILURE(WaitUntilEverythingEarlierIsDelivered());
  std::vector<v1::InteractionEvent> events =
      ReadTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "ES-5002");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].value().amount_micros(), 1'059'900'000);
  EXPECT_FALSE(events[1].has_value());
}

// The adapter set up for the export: its zone, its decimal comma, its
// column's name for the amount.
class SpanishStoreExportTest : public VisitAdapterTest {
 protected:
  SpanishStoreExportTest() {
    adapter_flags_.insert(
        adapter_flags_.end(),
        {"--visit_time_zone=Europe/Madrid", "--csv_decimal=comma",
         "--csv_columns=amount=purchase_amount"});
  }
};

TEST_F(SpanishStoreExportTest, EveryPurchaseKeepsItsValueAndItsTime) {
  auto result = Post("/v1/visits/csv", kSpanishExport, "text/csv");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 202) << result->body;
  const json body = json::parse(result->body);
  EXPECT_EQ(body["accepted"], 3);
  EXPECT_EQ(body["ignored_columns"], json::array({"notas"}));
  ASSERT_EQ(body["rejected"].size(), 2u) << result->body;
  EXPECT_EQ(body["rejected"][0]["line"], 5);
  EXPECT_EQ(body["rejected"][0]["field"], "checked_in_at");
  EXPECT_THAT(body["rejected"][0]["message"].get<std::string>(),
              ::testing::HasSubstr("happened twice in Europe/Madrid"));
  EXPECT_EQ(body["rejected"][1]["line"], 6);
  EXPECT_EQ(body["rejected"][1]["field"], "purchase_amount");
  EXPECT_THAT(body["rejected"][1]["message"].get<std::string>(),
              ::testing::HasSubstr("decimal comma"));

  ASSERT_NO_FATAL_FAILURE(WaitUntilEverythingEarlierIsDelivered());
  std::vector<v1::InteractionEvent> events =
      ReadTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "ES-5001");
  ASSERT_EQ(events.size(), 3u);
  // Newest first. Madrid is UTC+1 in November, UTC+2 in July.
  EXPECT_EQ(events[0].event_id(), "visit:MAD-01:V-1002");
  EXPECT_EQ(
      events[0].occurred_at().seconds(),
      absl::ToUnixSeconds(absl::FromCivil(
          absl::CivilSecond(2026, 11, 20, 10, 15, 0), absl::UTCTimeZone())));
  EXPECT_EQ(events[0].value().amount_micros(), 1'059'900'000);
  EXPECT_EQ(events[0].value().currency(), "EUR");
  EXPECT_EQ(events[0].kind(), v1::INTERACTION_KIND_PURCHASE);
  EXPECT_EQ(events[1].event_id(), "visit:MAD-01:V-1001");
  EXPECT_EQ(events[1].value().amount_micros(), 59'900'000);
  EXPECT_EQ(events[1].in_person().checked_out_at().seconds() -
                events[1].occurred_at().seconds(),
            25 * 60);
  EXPECT_EQ(events[2].event_id(), "visit:MAD-01:V-1003");
  EXPECT_EQ(events[2].occurred_at().seconds(),
            absl::ToUnixSeconds(absl::FromCivil(
                absl::CivilSecond(2026, 7, 1, 10, 0, 0), absl::UTCTimeZone())));
}

// The hub and the adapter started with the same event limits. Before, the
// adapter knew only its own defaults: it answered 202 for an event the hub
// then refused and dead-lettered (and refused the hub's flag at start).
class SharedLimitsTest : public VisitAdapterTest {
 protected:
  SharedLimitsTest() {
    hub_flags_.push_back("--max_event_bytes=300");
    adapter_flags_.push_back("--max_event_bytes=300");
  }
};

TEST_F(SharedLimitsTest, AnEventTheHubWouldRefuseIsRefusedAtTheAdapter) {
  auto result =
      Post("/v1/visits/csv",
           absl::StrCat("visit_id,store_id,checked_in_at,loyalty_card,"
                        "outcome\n"
                        "small,s,2026-11-20T10:00:00Z,L-700,fine\n"
                        "big,s,2026-11-20T10:05:00Z,L-700,",
                        std::string(256, 'x'), "\n"),
           "text/csv");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 202) << result->body;
  const json body = json::parse(result->body);
  EXPECT_EQ(body["accepted"], 1);
  ASSERT_EQ(body["rejected"].size(), 1u) << result->body;
  EXPECT_EQ(body["rejected"][0]["line"], 3);
  EXPECT_THAT(body["rejected"][0]["message"].get<std::string>(),
              ::testing::HasSubstr("the limit is 300"));
  ASSERT_NO_FATAL_FAILURE(WaitUntilEverythingEarlierIsDelivered());
  EXPECT_EQ(ReadTimeline(v1::IDENTITY_KIND_LOYALTY_CARD, "L-700").size(), 1u);
  // TearDown: nothing was dead-lettered.
}

// Every flag of the adapter is checked before it serves: a value that makes
// no sense stops it with exit code 2 and a message naming the flag. Before,
// most were taken (a zone that did not exist was no zone; values below 1
// became 1).
TEST(VisitAdapterFlagsTest, NonsenseStopsTheAdapterNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--visit_time_zone=Nowhere/Atlantis", "--visit_time_zone: "},
      {"--csv_decimal=dot", "--csv_decimal: "},
      {"--csv_delimiter=pipe", "--csv_delimiter: "},
      {"--csv_columns=amount=price", "--csv_columns: "},
      {"--csv_columns=amount", "--csv_columns: "},
      {"--max_csv_rows=0", "--max_csv_rows: "},
      {"--max_visits=-3", "--max_visits: "},
      {"--max_event_bytes=-1", "--max_event_bytes: "},
      {"--max_future_skew=-5m", "--max_future_skew: "},
      {"--default_region=XX", "--default_region: "},
      {"--max_json_depth=0", "--max_json_depth: "},
      {"--hub_address=hub-without-port", "--hub_address: "},
      {"--listen=127.0.0.1:99999", "--listen: "},
      {"--publish_batch=0", "--publish_batch: "},
  };
  ExpectEachFlagStopsTheAdapter(OMNIHUB_VISIT_ADAPTER_BINARY, cases);
}

}  // namespace
}  // namespace omnihub::testing

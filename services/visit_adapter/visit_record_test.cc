#include "services/visit_adapter/visit_record.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace omnihub::visit {
namespace {

class VisitRecordTest : public ::testing::Test {
 protected:
  v1::InteractionEvent OnlyEvent(absl::string_view body) {
    absl::StatusOr<std::vector<VisitRecord>> visits = ParseJsonVisits(body, {});
    EXPECT_TRUE(visits.ok()) << visits.status();
    if (!visits.ok() || visits->size() != 1) return {};
    absl::StatusOr<v1::InteractionEvent> event =
        VisitToEvent(visits->front(), normalizer_);
    EXPECT_TRUE(event.ok()) << event.status();
    return event.value_or(v1::InteractionEvent());
  }

  // The message of the first problem with a JSON body.
  std::string JsonError(absl::string_view body) {
    absl::StatusOr<std::vector<VisitRecord>> visits = ParseJsonVisits(body, {});
    if (!visits.ok()) return std::string(visits.status().message());
    for (const VisitRecord& visit : *visits) {
      absl::StatusOr<v1::InteractionEvent> event =
          VisitToEvent(visit, normalizer_);
      if (!event.ok()) return std::string(event.status().message());
    }
    return "no error";
  }

  identity::IdentityNormalizer normalizer_{{.default_region = "GB"}};
};

TEST_F(VisitRecordTest, JsonVisitBecomesAnInPersonEvent) {
  const v1::InteractionEvent event = OnlyEvent(R"({
    "visit_id": "v-1", "store_id": "london-01", "staff_id": "emma",
    "checked_in_at": "2026-11-20T10:00:00Z",
    "checked_out_at": "2026-11-20T10:25:00Z",
    "purpose": "Purchase", "outcome": "bought boots",
    "purchase_amount": "129.90", "currency": "gbp",
    "satisfaction": 4, "satisfaction_scale": 5,
    "identities": {"loyalty_card": "L-77", "phone": "020 7183 8750",
                   "email": "Ann@Example.com", "crm_id": "C-9"}})");
  EXPECT_EQ(event.event_id(), "visit:london-01:v-1");
  EXPECT_EQ(event.source(), "visit-adapter/json");
  EXPECT_EQ(event.channel(), v1::CHANNEL_IN_PERSON);
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_STORE_VISIT);
  EXPECT_EQ(event.occurred_at().seconds(), 1795168800);
  EXPECT_EQ(event.in_person().location_id(), "london-01");
  EXPECT_EQ(event.in_person().staff_id(), "emma");
  EXPECT_EQ(event.in_person().purpose(), "purchase");
  EXPECT_EQ(event.in_person().checked_out_at().seconds(), 1795168800 + 1500);
  EXPECT_EQ(event.value().amount_micros(), 129'900'000);
  EXPECT_EQ(event.value().currency(), "GBP");
  EXPECT_DOUBLE_EQ(event.satisfaction(), 8.0);
  ASSERT_EQ(event.identities_size(), 4);
  EXPECT_EQ(event.identities(1).value(), "+442071838750");
  EXPECT_EQ(event.identities(2).value(), "ann@example.com");
  EXPECT_EQ(event.revision(), 2u);  // checked out
}

TEST_F(VisitRecordTest, AppointmentsAndRevisions) {
  const v1::InteractionEvent checked_in = OnlyEvent(R"([{
    "visit_id": "v-2", "store_id": "s", "purpose": "appointment",
    "checked_in_at": "2026-11-20T10:00:00+01:00",
    "identities": {"crm_id": "C-1"}}])");
  EXPECT_EQ(checked_in.kind(), v1::INTERACTION_KIND_APPOINTMENT);
  EXPECT_EQ(checked_in.revision(), 1u);
  EXPECT_FALSE(checked_in.has_value());
  EXPECT_FALSE(checked_in.has_satisfaction());
  const v1::InteractionEvent updated = OnlyEvent(R"({
    "visit_id": "v-2", "store_id": "s", "checked_in_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-20T11:00:00Z", "identities": {"crm_id": "C-1"}})");
  EXPECT_EQ(updated.revision(), 1795172400000000u);
}

TEST_F(VisitRecordTest, BadJsonVisitsNameTheirField) {
  struct Case {
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {"{oops", "body: is not valid JSON"},
      {"[]", "body: is an empty array"},
      {"[7]", "visits[0]: must be a JSON object"},
      {R"({"store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "identities":{"crm_id":"c"}})",
       "visit.visit_id: must be set"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"yesterday",
           "identities":{"crm_id":"c"}})",
       "visit.checked_in_at: must be an RFC 3339 time"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "checked_out_at":"2026-11-20T09:00:00Z","identities":{"crm_id":"c"}})",
       "visit.checked_out_at: is before checked_in_at"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "purpose":"loitering","identities":{"crm_id":"c"}})",
       "visit.purpose: must be one of enquiry, purchase"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "purchase_amount":"-1","currency":"EUR","identities":{"crm_id":"c"}})",
       "visit.purchase_amount: must be a non-negative decimal"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "purchase_amount":"12.3456789","currency":"EUR",
           "identities":{"crm_id":"c"}})",
       "visit.purchase_amount: has more than 6 decimals"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "purchase_amount":1e30,"currency":"EUR","identities":{"crm_id":"c"}})",
       "visit.purchase_amount:"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "purchase_amount":"5","identities":{"crm_id":"c"}})",
       "visit.currency: must be an ISO 4217 code"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "purchase_amount":"5","currency":"EURO","identities":{"crm_id":"c"}})",
       "visit.currency:"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "satisfaction":"great","identities":{"crm_id":"c"}})",
       "visit.satisfaction: must be a number"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z"})",
       "visit.identities: must be an object"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "identities":{}})",
       "visit.identities: at least one of loyalty_card"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "identities":{"phone":"not a phone"}})",
       "visit.identities.phone:"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "identities":{"loyalty_card":42}})",
       "visit.identities.loyalty_card: must be a string"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(JsonError(c.body).find(c.message), std::string::npos)
        << c.body << "\ngave: " << JsonError(c.body);
  }
  std::string huge = R"({"visit_id":")" + std::string(100000, 'x') +
                     R"(","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
                     "identities":{"crm_id":"c"}})";
  EXPECT_NE(JsonError(huge).find("visit.visit_id: is longer than 60 bytes"),
            std::string::npos);
}

TEST_F(VisitRecordTest, CsvRowsAreJudgedOneByOne) {
  const std::string body =
      "\xEF\xBB\xBF Visit_ID ,store_id,checked_in_at,loyalty_card,phone,"
      "purchase_amount,currency,outcome,satisfaction,notes\r\n"
      "v-1,s-1,2026-11-20T10:00:00Z,L-1,,12.50,EUR,\"bought a hat, "
      "and \"\"gloves\"\"\",9,\r\n"
      "v-2,s-1,not a time,L-2,,,,,,\r\n"
      "v-3,s-1,2026-11-20T11:00:00Z,,,,,,,\r\n"
      "v-4,s-1,2026-11-20T12:00:00Z,L-4,,5,,,,\r\n"
      "v-5,s-1,2026-11-20T12:30:00Z,,+44 20 7183 8750,,,Jürgen's 日本 "
      "order,,\"multi\nline\"\r\n"
      "v-6,s-1,2026-11-20T13:00:00Z,L-6,,,,,,,extra\r\n"
      "\r\n";
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(body, {});
  ASSERT_TRUE(visits.ok()) << visits.status();
  ASSERT_EQ(visits->good.size(), 2u);
  EXPECT_EQ(visits->good[0].visit_id, "v-1");
  EXPECT_EQ(visits->good[0].line, 2);
  EXPECT_EQ(visits->good[0].outcome, "bought a hat, and \"gloves\"");
  EXPECT_EQ(*visits->good[0].amount_micros, 12'500'000);
  EXPECT_DOUBLE_EQ(*visits->good[0].satisfaction, 9.0);
  EXPECT_EQ(visits->good[1].outcome, "Jürgen's 日本 order");
  EXPECT_EQ(visits->good[1].line, 6);
  ASSERT_EQ(visits->bad.size(), 4u);
  EXPECT_EQ(visits->bad[0].line, 3);
  EXPECT_EQ(visits->bad[0].field, "checked_in_at");
  EXPECT_EQ(visits->bad[1].line, 4);
  EXPECT_EQ(visits->bad[1].field, "loyalty_card");  // no identity at all
  EXPECT_EQ(visits->bad[2].line, 5);
  EXPECT_EQ(visits->bad[2].field, "currency");
  EXPECT_EQ(visits->bad[3].line, 8);  // the quoted newline is one line more
  EXPECT_NE(visits->bad[3].message.find("the header has 10"),
            std::string::npos);

  absl::StatusOr<v1::InteractionEvent> event =
      VisitToEvent(visits->good[1], normalizer_);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->source(), "visit-adapter/csv");
  EXPECT_EQ(event->identities(0).value(), "+442071838750");
}

TEST_F(VisitRecordTest, CsvProblemsWithTheWholeFile) {
  EXPECT_FALSE(ParseCsvVisits("", {}).ok());
  EXPECT_NE(
      std::string(
          ParseCsvVisits("visit_id,store_id\nv,s\n", {}).status().message())
          .find("header: has no checked_in_at column"),
      std::string::npos);
  EXPECT_FALSE(ParseCsvVisits("visit_id,store_id,checked_in_at\n", {}).ok());
  EXPECT_FALSE(
      ParseCsvVisits("visit_id,store_id,checked_in_at\n\"v,s,x\n", {}).ok());
  std::string many = "visit_id,store_id,checked_in_at,crm_id\n";
  for (int i = 0; i < 5; ++i) many += "v,s,2026-11-20T10:00:00Z,c\n";
  EXPECT_FALSE(ParseCsvVisits(many, {.max_csv_rows = 4}).ok());
  EXPECT_TRUE(ParseCsvVisits(many, {.max_csv_rows = 5}).ok());
  // A bad phone is found when the row becomes an event, named by column.
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(
      "visit_id,store_id,checked_in_at,phone\nv,s,2026-11-20T10:00:00Z,12\n",
      {});
  ASSERT_TRUE(visits.ok());
  ASSERT_EQ(visits->good.size(), 1u);
  absl::StatusOr<v1::InteractionEvent> event =
      VisitToEvent(visits->good[0], normalizer_);
  ASSERT_FALSE(event.ok());
  EXPECT_TRUE(absl::StartsWith(event.status().message(), "phone: "))
      << event.status();
}

}  // namespace
}  // namespace omnihub::visit

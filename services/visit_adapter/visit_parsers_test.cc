#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "services/visit_adapter/visit_record.h"

namespace omnihub::visit {
namespace {

// A valid JSON visit with `extra` members spliced in (later members win).
std::string JsonVisit(absl::string_view extra = "") {
  return absl::StrCat(
      R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",)",
      R"("identities":{"crm_id":"c"})", extra.empty() ? "" : ",", extra, "}");
}

class VisitParsersTest : public ::testing::Test {
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

  // The message of the first problem with a JSON body, or "no error".
  std::string JsonError(absl::string_view body) {
    absl::StatusOr<std::vector<VisitRecord>> visits = ParseJsonVisits(body, {});
    if (!visits.ok()) {
      EXPECT_EQ(visits.status().code(), absl::StatusCode::kInvalidArgument);
      return std::string(visits.status().message());
    }
    for (const VisitRecord& visit : *visits) {
      absl::StatusOr<v1::InteractionEvent> event =
          VisitToEvent(visit, normalizer_);
      if (!event.ok()) return std::string(event.status().message());
    }
    return "no error";
  }

  // The rows of a CSV body that were refused, as "line: message".
  std::vector<std::string> CsvRowErrors(absl::string_view body) {
    absl::StatusOr<CsvVisits> visits = ParseCsvVisits(body, {});
    EXPECT_TRUE(visits.ok()) << visits.status();
    std::vector<std::string> errors;
    if (!visits.ok()) return errors;
    for (const RowProblem& bad : visits->bad) {
      errors.push_back(absl::StrCat(bad.line, ": ", bad.message));
    }
    return errors;
  }

  std::string CsvFileError(absl::string_view body,
                           VisitParseOptions options = {}) {
    absl::StatusOr<CsvVisits> visits = ParseCsvVisits(body, options);
    if (visits.ok()) return "no error";
    EXPECT_EQ(visits.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(visits.status().message());
  }

  identity::IdentityNormalizer normalizer_{{.default_region = "GB"}};
};

TEST_F(VisitParsersTest, JsonVisitBecomesAnInPersonEvent) {
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
  // Money was taken: a purchase, still with its visit's detail.
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_PURCHASE);
  EXPECT_EQ(event.occurred_at().seconds(), 1795168800);
  EXPECT_EQ(event.in_person().visit_id(), "v-1");
  EXPECT_EQ(event.in_person().location_id(), "london-01");
  EXPECT_EQ(event.in_person().staff_id(), "emma");
  EXPECT_EQ(event.in_person().purpose(), "purchase");
  EXPECT_EQ(event.in_person().outcome(), "bought boots");
  EXPECT_EQ(event.in_person().checked_in_at().seconds(), 1795168800);
  EXPECT_EQ(event.in_person().checked_out_at().seconds(), 1795168800 + 1500);
  EXPECT_EQ(event.value().amount_micros(), 129'900'000);
  EXPECT_EQ(event.value().currency(), "GBP");
  EXPECT_DOUBLE_EQ(event.satisfaction(), 8.0);  // 4 of 5
  ASSERT_EQ(event.identities_size(), 4);
  EXPECT_EQ(event.identities(0).kind(), v1::IDENTITY_KIND_LOYALTY_CARD);
  EXPECT_EQ(event.identities(0).value(), "L-77");
  EXPECT_EQ(event.identities(1).value(), "+442071838750");
  EXPECT_EQ(event.identities(2).value(), "ann@example.com");
  EXPECT_EQ(event.identities(3).kind(), v1::IDENTITY_KIND_CRM_ID);
  EXPECT_EQ(event.revision(), 2u);  // checked out
}

TEST_F(VisitParsersTest, OnlyAVisitThatTookMoneyIsAPurchase) {
  EXPECT_EQ(OnlyEvent(JsonVisit(R"("purpose":"enquiry")")).kind(),
            v1::INTERACTION_KIND_STORE_VISIT);
  EXPECT_EQ(OnlyEvent(JsonVisit(R"("purpose":"return","purchase_amount":"20",)"
                                R"("currency":"EUR")"))
                .kind(),
            v1::INTERACTION_KIND_STORE_VISIT);
  EXPECT_EQ(OnlyEvent(JsonVisit(R"("purpose":"pickup","purchase_amount":"20",)"
                                R"("currency":"EUR")"))
                .kind(),
            v1::INTERACTION_KIND_PURCHASE);
}

TEST_F(VisitParsersTest, JsonItemsBecomeLineItems) {
  const v1::InteractionEvent event = OnlyEvent(JsonVisit(
      R"("purchase_amount":"30","currency":"eur","items":[)"
      R"({"sku":"BOOT-42","name":"Boots","category":"shoes","quantity":1,)"
      R"("price":"25.50"},{"product_id":"SOCK-1","price":4.5}])"));
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_PURCHASE);
  ASSERT_EQ(event.line_items_size(), 2);
  EXPECT_EQ(event.line_items(0).sku(), "BOOT-42");
  EXPECT_EQ(event.line_items(0).category(), "shoes");
  EXPECT_EQ(event.line_items(0).unit_price().amount_micros(), 25'500'000);
  EXPECT_EQ(event.line_items(0).unit_price().currency(), "EUR");
  EXPECT_EQ(event.line_items(1).sku(), "SOCK-1");
  EXPECT_EQ(event.line_items(1).quantity(), 1);
  // What was bought, without an amount: still a purchase.
  EXPECT_EQ(OnlyEvent(JsonVisit(R"("items":"A-1:2")")).kind(),
            v1::INTERACTION_KIND_PURCHASE);
  // A return lists what came back: no purchase, no line items.
  const v1::InteractionEvent back =
      OnlyEvent(JsonVisit(R"("purpose":"return","items":[{"sku":"A-1"}])"));
  EXPECT_EQ(back.kind(), v1::INTERACTION_KIND_STORE_VISIT);
  EXPECT_EQ(back.line_items_size(), 0);
  EXPECT_TRUE(absl::StrContains(
      JsonError(absl::StrCat(
          "[", JsonVisit(R"("items":[{"sku":"a","quantity":-1}])"), "]")),
      "visits[0].items[0].quantity"));
  EXPECT_TRUE(absl::StrContains(
      JsonError(JsonVisit(R"("items":[{"sku":"a","price":"2"}])")),
      "items[0].price"));
  EXPECT_TRUE(absl::StrContains(JsonError(JsonVisit(R"("items":7)")),
                                "items: must be"));
}

TEST_F(VisitParsersTest, CsvItemsColumn) {
  const std::string body =
      "visit_id,store_id,checked_in_at,loyalty_card,purchase_amount,currency,"
      "items\r\n"
      "v-1,s-1,2026-11-20T10:00:00Z,L-1,30,EUR,BOOT-42:1:25.50:shoes;SOCK-1:"
      "2\r\n"
      "v-2,s-1,2026-11-20T10:00:00Z,L-2,30,EUR,BOOT-42:none\r\n";
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(body, {});
  ASSERT_TRUE(visits.ok()) << visits.status();
  ASSERT_EQ(visits->good.size(), 1u);
  ASSERT_EQ(visits->good[0].items.size(), 2u);
  EXPECT_EQ(visits->good[0].items[0].sku(), "BOOT-42");
  EXPECT_EQ(visits->good[0].items[0].category(), "shoes");
  EXPECT_EQ(visits->good[0].items[0].unit_price().amount_micros(), 25'500'000);
  EXPECT_EQ(visits->good[0].items[1].quantity(), 2);
  ASSERT_EQ(visits->bad.size(), 1u);
  EXPECT_EQ(visits->bad[0].line, 3);
  EXPECT_TRUE(absl::StrContains(visits->bad[0].message, "items"))
      << visits->bad[0].message;
}

TEST_F(VisitParsersTest, AppointmentsAndRevisions) {
  const v1::InteractionEvent checked_in = OnlyEvent(R"([{
    "visit_id": "v-2", "store_id": "s", "purpose": "appointment",
    "checked_in_at": "2026-11-20T10:00:00+01:00",
    "identities": {"crm_id": "C-1"}}])");
  EXPECT_EQ(checked_in.kind(), v1::INTERACTION_KIND_APPOINTMENT);
  EXPECT_EQ(checked_in.occurred_at().seconds(), 1795168800 - 3600);
  EXPECT_EQ(checked_in.revision(), 1u);
  EXPECT_FALSE(checked_in.has_value());
  EXPECT_FALSE(checked_in.has_satisfaction());
  EXPECT_FALSE(checked_in.in_person().has_checked_out_at());
  const v1::InteractionEvent updated = OnlyEvent(R"({
    "visit_id": "v-2", "store_id": "s", "checked_in_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-20T11:00:00.000001Z",
    "identities": {"crm_id": "C-1"}})");
  EXPECT_EQ(updated.revision(), 1795172400000001u);
  EXPECT_NE(JsonError(JsonVisit(R"("updated_at":"1969-12-31T23:59:59Z")"))
                .find("visit.updated_at: must be after 1970-01-01"),
            std::string::npos);
}

TEST_F(VisitParsersTest, JsonAndCsvOfOneVisitAreOneEvent) {
  const v1::InteractionEvent from_json = OnlyEvent(
      R"({"visit_id":"a:b","store_id":"s-1","checked_in_at":"2026-11-20T10:00:00Z",
          "identities":{"loyalty_card":"L"}})");
  absl::StatusOr<CsvVisits> rows = ParseCsvVisits(
      "visit_id,store_id,checked_in_at,loyalty_card\n"
      "a:b,s-1,2026-11-20T10:00:00Z,L\n",
      {});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->good.size(), 1u);
  absl::StatusOr<v1::InteractionEvent> from_csv =
      VisitToEvent(rows->good[0], normalizer_);
  ASSERT_TRUE(from_csv.ok()) << from_csv.status();
  EXPECT_EQ(from_json.event_id(), "visit:s-1:a:b");
  EXPECT_EQ(from_csv->event_id(), from_json.event_id());
  EXPECT_EQ(from_csv->source(), "visit-adapter/csv");
  EXPECT_EQ(from_csv->revision(), from_json.revision());
  // A ":" in the store id would make "visit:a:b:c" ambiguous.
  EXPECT_NE(JsonError(JsonVisit(R"("store_id":"a:b")"))
                .find("visit.store_id: must not contain ':'"),
            std::string::npos);
}

TEST_F(VisitParsersTest, AmountsAreReadExactly) {
  struct Case {
    const char* amount;  // a JSON value
    int64_t micros;
  };
  for (const Case& c :
       {Case{R"("12.34")", 12'340'000}, Case{R"("0.5")", 500'000},
        Case{R"(" 7 ")", 7'000'000}, Case{R"("0.000001")", 1},
        Case{"12.34", 12'340'000}, Case{"0.1", 100'000},
        Case{"129.9", 129'900'000},
        Case{"1e3", 1'000'000'000},  // a JSON number is a number
        Case{"42", 42'000'000}}) {
    const v1::InteractionEvent event = OnlyEvent(JsonVisit(
        absl::StrCat(R"("currency":"EUR","purchase_amount":)", c.amount)));
    EXPECT_EQ(event.value().amount_micros(), c.micros) << c.amount;
    EXPECT_EQ(event.value().currency(), "EUR") << c.amount;
  }
  for (const char* none : {"null", R"("")"}) {
    const v1::InteractionEvent event = OnlyEvent(JsonVisit(
        absl::StrCat(R"("currency":"EUR","purchase_amount":)", none)));
    EXPECT_FALSE(event.has_value()) << none;
  }
  struct BadCase {
    const char* amount;
    const char* message;
  };
  for (const BadCase& c : {
           BadCase{R"("-1")", "must be a non-negative decimal"},
           BadCase{"-1", "must be a non-negative decimal"},
           BadCase{R"("1e3")", "must be a non-negative decimal"},
           BadCase{R"("12,50")", "must be a non-negative decimal"},
           BadCase{R"("NaN")", "must be a non-negative decimal"},
           BadCase{R"("inf")", "must be a non-negative decimal"},
           BadCase{R"("12.3456789")", "has more than 6 decimals"},
           BadCase{"12.3456789", "has more than 6 decimals"},
           BadCase{R"("99999999999999999999")", "is too large"},
           BadCase{"18446744073709551615", "is too large"},
           BadCase{"1e30", "must be a non-negative decimal"},
           BadCase{"true", "must be a decimal like"},
           BadCase{R"({"units":5})", "must be a decimal like"},
       }) {
    const std::string error = JsonError(JsonVisit(
        absl::StrCat(R"("currency":"EUR","purchase_amount":)", c.amount)));
    EXPECT_TRUE(absl::StartsWith(error, "visit.purchase_amount: ")) << error;
    EXPECT_NE(error.find(c.message), std::string::npos)
        << c.amount << " gave " << error;
  }
}

TEST_F(VisitParsersTest, CurrencyIsAnIsoCodeWhenAnAmountIsGiven) {
  EXPECT_EQ(OnlyEvent(JsonVisit(R"("purchase_amount":"5","currency":" eur ")"))
                .value()
                .currency(),
            "EUR");
  // A currency alone has nothing to be the currency of.
  EXPECT_FALSE(OnlyEvent(JsonVisit(R"("currency":"EUR")")).has_value());
  for (const char* bad :
       {R"("purchase_amount":"5")", R"("purchase_amount":"5","currency":"")",
        R"("purchase_amount":"5","currency":"EURO")",
        R"("purchase_amount":"5","currency":"E1R")",
        R"("purchase_amount":"5","currency":"€")",
        R"("purchase_amount":"5","currency":978)", R"("currency":"EURO")"}) {
    const std::string error = JsonError(JsonVisit(bad));
    EXPECT_TRUE(absl::StartsWith(error, "visit.currency: ")) << bad << error;
  }
}

TEST_F(VisitParsersTest, SatisfactionIsOnAZeroToTenScale) {
  EXPECT_DOUBLE_EQ(OnlyEvent(JsonVisit(R"("satisfaction":7.5)")).satisfaction(),
                   7.5);
  EXPECT_DOUBLE_EQ(OnlyEvent(JsonVisit(R"("satisfaction":0)")).satisfaction(),
                   0.0);
  EXPECT_DOUBLE_EQ(
      OnlyEvent(JsonVisit(R"("satisfaction":5,"satisfaction_scale":5)"))
          .satisfaction(),
      10.0);
  for (const char* bad :
       {R"("satisfaction":11)", R"("satisfaction":-1)", R"("satisfaction":"8")",
        R"("satisfaction":6,"satisfaction_scale":5)",
        R"("satisfaction":3,"satisfaction_scale":"5")",
        R"("satisfaction":3,"satisfaction_scale":0)"}) {
    const std::string error = JsonError(JsonVisit(bad));
    EXPECT_TRUE(absl::StartsWith(error, "visit.satisfaction")) << bad << error;
  }
}

TEST_F(VisitParsersTest, BadJsonVisitsNameTheirField) {
  struct Case {
    std::string body;
    const char* message;
  };
  const Case cases[] = {
      {"{oops", "body: is not valid JSON"},
      {"", "body: is not valid JSON"},
      {"[]", "body: is an empty array"},
      {"42", "visit: must be a JSON object"},
      {"null", "visit: must be a JSON object"},
      {"[7]", "visits[0]: must be a JSON object"},
      {absl::StrCat("[", JsonVisit(), ",[", JsonVisit(), "]]"),
       "visits[1]: must be a JSON object"},
      {R"({"store_id":"s","checked_in_at":"2026-11-20T10:00:00Z",
           "identities":{"crm_id":"c"}})",
       "visit.visit_id: must be set"},
      {JsonVisit(R"("visit_id":"")"), "visit.visit_id: must be set"},
      {JsonVisit(R"("visit_id":17)"), "visit.visit_id: must be a string"},
      {JsonVisit(R"("store_id":["s"])"), "visit.store_id: must be a string"},
      {JsonVisit(R"("staff_id":{})"), "visit.staff_id: must be a string"},
      {JsonVisit(R"("checked_in_at":"yesterday")"),
       "visit.checked_in_at: must be an RFC 3339 time"},
      {JsonVisit(R"("checked_in_at":1795168800)"),
       "visit.checked_in_at: must be a string"},
      {JsonVisit(R"("checked_in_at":null)"),
       "visit.checked_in_at: must be set"},
      {JsonVisit(R"("checked_out_at":"2026-11-20T09:59:59Z")"),
       "visit.checked_out_at: is before checked_in_at"},
      {JsonVisit(R"("updated_at":"2026-13-01T00:00:00Z")"),
       "visit.updated_at: must be an RFC 3339 time"},
      {JsonVisit(R"("purpose":"loitering")"),
       "visit.purpose: must be one of enquiry, purchase, complaint, "
       "appointment, pickup, return, other"},
      {JsonVisit(R"("purpose":3)"), "visit.purpose: must be a string"},
      {JsonVisit(R"("outcome":false)"), "visit.outcome: must be a string"},
      {JsonVisit(R"("outcome":"a\u0000b")"), "visit.outcome: must be valid"},
      {JsonVisit(R"("staff_id":"em\tma")"), "visit.staff_id: must be valid"},
      {R"({"visit_id":"v","store_id":"s","checked_in_at":"2026-11-20T10:00:00Z"})",
       "visit.identities: must be an object"},
      {JsonVisit(R"("identities":["L-1"])"),
       "visit.identities: must be an object"},
      {JsonVisit(R"("identities":{})"),
       "visit.identities: at least one of loyalty_card"},
      {JsonVisit(R"("identities":{"loyalty_card":""})"),
       "visit.identities: at least one of loyalty_card"},
      {JsonVisit(R"("identities":{"phone":"not a phone"})"),
       "visit.identities.phone: "},
      {JsonVisit(R"("identities":{"email":"   "})"),
       "visit.identities.email: must not be empty"},
      {JsonVisit(R"("identities":{"loyalty_card":42})"),
       "visit.identities.loyalty_card: must be a string"},
      {absl::StrCat("[", JsonVisit(), ",", JsonVisit(),
                    R"(,{"visit_id":"v","store_id":"s",
                         "checked_in_at":"2026-11-20T10:00:00Z",
                         "identities":{"phone":"12"}}])"),
       "visits[2].identities.phone: "},
  };
  for (const Case& c : cases) {
    const std::string error = JsonError(c.body);
    EXPECT_TRUE(absl::StartsWith(error, c.message))
        << c.body << "\ngave: " << error;
  }
}

TEST_F(VisitParsersTest, HugeAndManyAreRefused) {
  EXPECT_EQ(JsonError(JsonVisit(absl::StrCat(R"("visit_id":")",
                                             std::string(100000, 'x'), "\""))),
            "visit.visit_id: is longer than 60 bytes");
  EXPECT_EQ(JsonError(JsonVisit(
                absl::StrCat(R"("outcome":")", std::string(257, 'x'), "\""))),
            "visit.outcome: is longer than 256 bytes");
  std::string three =
      absl::StrCat("[", JsonVisit(), ",", JsonVisit(), ",", JsonVisit(), "]");
  EXPECT_TRUE(ParseJsonVisits(three, {.max_visits = 3}).ok());
  absl::StatusOr<std::vector<VisitRecord>> too_many =
      ParseJsonVisits(three, {.max_visits = 2});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().message(), "body: has 3 visits; the limit is 2");
}

TEST_F(VisitParsersTest, DeeplyNestedJsonIsRefusedNamingTheField) {
  const std::string deep =
      absl::StrCat(std::string(100'000, '['), std::string(100'000, ']'));
  EXPECT_EQ(JsonError(JsonVisit(absl::StrCat(R"("notes":)", deep))),
            "visit.notes: nests arrays and objects deeper than the limit of "
            "32");
  absl::StatusOr<std::vector<VisitRecord>> visits = ParseJsonVisits(
      absl::StrCat("[", JsonVisit(), ",", JsonVisit(R"("x":[[[1]]])"), "]"),
      {.max_json_depth = 4});
  ASSERT_FALSE(visits.ok());
  EXPECT_EQ(visits.status().message(),
            "visits[1].x: nests arrays and objects deeper than the limit of 4");
}

TEST_F(VisitParsersTest, CsvRowsAreJudgedOneByOne) {
  const std::string body =
      "\xEF\xBB\xBF Visit_ID ,store_id,CHECKED_IN_AT,loyalty_card,phone,"
      "purchase_amount,currency,outcome,satisfaction,notes\r\n"
      "v-1,s-1,2026-11-20T10:00:00Z,L-1,,12.50,eur,\"bought a hat, "
      "and \"\"gloves\"\"\",9,\r\n"
      "v-2,s-1,not a time,L-2,,,,,,\r\n"
      "v-3,s-1,2026-11-20T11:00:00Z,,,,,,,\r\n"
      "v-4,s-1,2026-11-20T12:00:00Z,L-4,,5,,,,\r\n"
      "v-5,s-1,2026-11-20T12:30:00Z,,+44 20 7183 8750,,,Jürgen's 日本 "
      "order,,\"multi\nline\"\r\n"
      "v-6,s-1,2026-11-20T13:00:00Z,L-6,,,,,,,extra\r\n"
      ",,,,,,,,,\r\n"
      "v-7,s-1,2026-11-20T13:00:00Z,L-7,,,,,nan,\r\n"
      "v-8,s-1,2026-11-20T13:00:00Z,L-8,,0.5,EUR,\"two\r\nlines\",,,,\r\n"
      "v-9,s-1,2026-11-20T13:00:00Z,L-9\r\n"
      "\r\n"
      "\r\n";
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(body, {});
  ASSERT_TRUE(visits.ok()) << visits.status();
  ASSERT_EQ(visits->good.size(), 4u);
  const VisitRecord& hat = visits->good[0];
  EXPECT_EQ(hat.visit_id, "v-1");
  EXPECT_EQ(hat.line, 2);
  EXPECT_EQ(hat.format, "csv");
  EXPECT_EQ(hat.outcome, "bought a hat, and \"gloves\"");
  EXPECT_EQ(*hat.amount_micros, 12'500'000);
  EXPECT_EQ(hat.currency, "EUR");
  EXPECT_DOUBLE_EQ(*hat.satisfaction, 9.0);
  EXPECT_EQ(visits->good[1].outcome, "Jürgen's 日本 order");
  EXPECT_EQ(visits->good[1].line, 6);
  // Trailing empty fields past the header are a spreadsheet's habit, fine.
  EXPECT_EQ(visits->good[2].visit_id, "v-8");
  EXPECT_EQ(visits->good[2].line, 11);
  EXPECT_EQ(visits->good[2].outcome, "two\r\nlines");
  EXPECT_EQ(*visits->good[2].amount_micros, 500'000);
  // Fewer fields than the header: the rest are empty.
  EXPECT_EQ(visits->good[3].visit_id, "v-9");
  EXPECT_EQ(visits->good[3].line, 13);

  ASSERT_EQ(visits->bad.size(), 5u);
  EXPECT_EQ(visits->bad[0].line, 3);
  EXPECT_EQ(visits->bad[0].field, "checked_in_at");
  EXPECT_TRUE(absl::StartsWith(visits->bad[0].message,
                               "checked_in_at: must be a time like"));
  EXPECT_EQ(visits->bad[1].line, 4);
  EXPECT_EQ(visits->bad[1].field, "loyalty_card");  // no identity at all
  EXPECT_EQ(visits->bad[2].line, 5);
  EXPECT_EQ(visits->bad[2].field, "currency");
  EXPECT_EQ(visits->bad[3].line, 8);  // the quoted newline is one line more
  EXPECT_EQ(visits->bad[3].field, "");
  EXPECT_EQ(visits->bad[3].message, "has 11 fields; the header has 10");
  // Line 9 is an emptied row and is skipped, not reported.
  EXPECT_EQ(visits->bad[4].line, 10);
  EXPECT_EQ(visits->bad[4].field, "satisfaction");

  absl::StatusOr<v1::InteractionEvent> event =
      VisitToEvent(visits->good[1], normalizer_);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->source(), "visit-adapter/csv");
  EXPECT_EQ(event->identities(0).value(), "+442071838750");
}

TEST_F(VisitParsersTest, TimesTheContractCannotHoldNameTheField) {
  EXPECT_EQ(
      JsonError(JsonVisit().replace(JsonVisit().find("2026"), 4, "12026")),
      "visit.checked_in_at: is outside the years 1970 to 9999");
  EXPECT_EQ(JsonError(JsonVisit(R"("checked_out_at":"10000-01-01T00:00:00Z")")),
            "visit.checked_out_at: is outside the years 1970 to 9999");
  // The row the fuzzer found: a year of five digits in a CSV.
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(
      "visit_id,store_id,checked_in_at,crm_id\n"
      "v-1,s,12026-11-20T10:00:00Z,c\n",
      {});
  ASSERT_TRUE(visits.ok()) << visits.status();
  ASSERT_EQ(visits->good.size(), 1u);
  EXPECT_EQ(VisitToEvent(visits->good[0], normalizer_).status().message(),
            "checked_in_at: is outside the years 1970 to 9999");
}

TEST_F(VisitParsersTest, CsvRowsGetTheJsonChecks) {
  const std::vector<std::string> errors = CsvRowErrors(
      "visit_id,store_id,checked_in_at,checked_out_at,crm_id,purpose,"
      "purchase_amount,currency,outcome,staff_id,satisfaction,"
      "satisfaction_scale\n"
      "a,s,2026-11-20T10:00:00Z,2026-11-20T09:00:00Z,c,,,,,,,\n"
      "b,s,2026-11-20T10:00:00Z,,c,browsing,,,,,,\n"
      "c,s,2026-11-20T10:00:00Z,,c,,-1,EUR,,,,\n"
      "d,s,2026-11-20T10:00:00Z,,c,,1e3,EUR,,,,\n"
      "e,s,2026-11-20T10:00:00Z,,c,,12.3456789,EUR,,,,\n"
      "f,s,2026-11-20T10:00:00Z,,c,,1.00,EURO,,,,\n"
      "g,s,2026-11-20T10:00:00Z,,c,,,,\xFF\xFE,,,\n"
      "h,s,2026-11-20T10:00:00Z,,c,,,,,\xC3\x28,,\n"
      "i,s,2026-11-20T10:00:00Z,,c,,,,,,4,5\n"
      "j,s,2026-11-20T10:00:00Z,,c,,,,,,6,5\n"
      "k,s,2026-11-20T10:00:00Z,,c,,,,,,great,\n" +
      absl::StrCat("l,s,2026-11-20T10:00:00Z,,c,,,,", std::string(50000, 'x'),
                   ",,,\n"));
  const std::vector<std::string> expected = {
      "2: checked_out_at: is before checked_in_at",
      "3: purpose: must be one of",
      "4: purchase_amount: must be a non-negative decimal",
      "5: purchase_amount: must be a non-negative decimal",
      "6: purchase_amount: has more than 6 decimals",
      "7: currency: must be an ISO 4217 code",
      "8: outcome: must be valid UTF-8",
      "9: staff_id: must be valid UTF-8",
      "11: satisfaction: must be a number from 0 to 5",
      "12: satisfaction: must be a number from 0 to 10",
      "13: outcome: is longer than 256 bytes",
  };
  ASSERT_EQ(errors.size(), expected.size()) << absl::StrJoin(errors, "\n");
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(absl::StartsWith(errors[i], expected[i]))
        << errors[i] << " vs " << expected[i];
  }
}

TEST_F(VisitParsersTest, CsvProblemsWithTheWholeFile) {
  EXPECT_EQ(CsvFileError(""), "body: no header row: the CSV is empty");
  EXPECT_EQ(CsvFileError("\xEF\xBB\xBF\r\n\r\n"),
            "body: no header row: the CSV is empty");
  EXPECT_TRUE(
      absl::StartsWith(CsvFileError("visit_id,store_id,crm_id\nv,s,c\n"),
                       "header: has no checked_in_at column (the header's "
                       "columns: \"visit_id\", \"store_id\", \"crm_id\";"));
  EXPECT_TRUE(absl::StartsWith(CsvFileError("visit_id,checked_in_at,crm_id\n"),
                               "header: has no store_id column"));
  EXPECT_TRUE(absl::StartsWith(
      CsvFileError("visit_id,store_id,checked_in_at,notes\n"
                   "v,s,2026-11-20T10:00:00Z,x\n"),
      "header: has none of the identity columns loyalty_card, phone, "
      "email, crm_id"));
  EXPECT_TRUE(absl::StartsWith(
      CsvFileError("visit_id,store_id,checked_in_at,crm_id,CRM_ID \n"),
      "header: has the crm_id column twice"));
  EXPECT_EQ(CsvFileError("visit_id,store_id,checked_in_at,crm_id\n"),
            "body: has a header but no rows");
  EXPECT_EQ(CsvFileError("visit_id,store_id,checked_in_at,crm_id\n,,,\n"),
            "body: has a header but no rows");
  EXPECT_TRUE(absl::StartsWith(
      CsvFileError("visit_id,store_id,checked_in_at,crm_id\n\"v,s,x\n"),
      "line "));
  EXPECT_TRUE(absl::StartsWith(
      CsvFileError(absl::StrCat("visit_id,store_id,checked_in_at,crm_id\n",
                                "v,s,2026-11-20T10:00:00Z,",
                                std::string(70000, 'c'), "\n")),
      "line 2: a field is 70000 bytes"));
  std::string many = "visit_id,store_id,checked_in_at,crm_id\n";
  for (int i = 0; i < 5; ++i) many += "v,s,2026-11-20T10:00:00Z,c\n";
  EXPECT_NE(CsvFileError(many, {.max_csv_rows = 4}), "no error");
  EXPECT_EQ(CsvFileError(many, {.max_csv_rows = 5}), "no error");
}

TEST_F(VisitParsersTest, BadPhoneInACsvRowIsNamedByItsColumn) {
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(
      "visit_id,store_id,checked_in_at,phone\nv,s,2026-11-20T10:00:00Z,12\n",
      {});
  ASSERT_TRUE(visits.ok());
  ASSERT_EQ(visits->good.size(), 1u);
  absl::StatusOr<v1::InteractionEvent> event =
      VisitToEvent(visits->good[0], normalizer_);
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(event.status().message(), "phone: "))
      << event.status();
  EXPECT_EQ(FieldOfMessage(event.status().message()), "phone");
}

TEST_F(VisitParsersTest, HubFieldsAreNamedAsTheVisitNamesThem) {
  const v1::InteractionEvent event = OnlyEvent(
      JsonVisit(R"("identities":{"loyalty_card":"L","email":"a@b.c"})"));
  EXPECT_EQ(VisitFieldOf(event, "occurred_at"), "checked_in_at");
  EXPECT_EQ(VisitFieldOf(event, "event_id"), "visit_id");
  EXPECT_EQ(VisitFieldOf(event, "value.amount_micros"), "purchase_amount");
  EXPECT_EQ(VisitFieldOf(event, "value.currency"), "currency");
  EXPECT_EQ(VisitFieldOf(event, "satisfaction"), "satisfaction");
  EXPECT_EQ(VisitFieldOf(event, "identities[1].value"), "identities.email");
  EXPECT_EQ(VisitFieldOf(event, "identities[7].value"), "identities");
  EXPECT_EQ(VisitFieldOf(event, "identities"), "identities");

  VisitRecord json_visit;
  json_visit.format = "json";
  json_visit.path = "visits[3]";
  EXPECT_EQ(VisitError(json_visit, event, "identities[0].value", "too long")
                .message(),
            "visits[3].identities.loyalty_card: too long");
  EXPECT_EQ(VisitError(json_visit, event, "", "too big").message(),
            "visits[3]: too big");
  VisitRecord csv_row;
  csv_row.format = "csv";
  csv_row.line = 4;
  EXPECT_EQ(
      VisitError(csv_row, event, "identities[1].value", "too long").message(),
      "email: too long");
  EXPECT_EQ(
      VisitError(csv_row, event, "occurred_at", "in the future").message(),
      "checked_in_at: in the future");
  EXPECT_EQ(VisitError(csv_row, event, "", "too big").message(), "too big");
  EXPECT_EQ(FieldOfMessage("too big"), "");
}

TEST_F(VisitParsersTest, IgnoredColumnsAreListed) {
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(
      "visit_id,store_id,checked_in_at,crm_id,Amount,,notes,\n"
      "v,s,2026-11-20T10:00:00Z,c,12.00,x,,\n"
      "w,s,2026-11-20T10:00:00Z,c,,,,\n",
      {});
  ASSERT_TRUE(visits.ok()) << visits.status();
  // The unnamed column 6 holds something; the unnamed column 8 nothing.
  EXPECT_EQ(visits->ignored_columns,
            (std::vector<std::string>{"Amount", "column 6", "notes"}));
  EXPECT_FALSE(visits->good[0].amount_micros.has_value());
}

TEST_F(VisitParsersTest, ExportColumnsAreMappedToVisitColumns) {
  absl::StatusOr<std::map<std::string, std::string>> columns =
      ParseCsvColumns(" Amount = purchase_amount ,Fecha=checked_in_at");
  ASSERT_TRUE(columns.ok()) << columns.status();
  VisitParseOptions options;
  options.csv_columns = *columns;
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(
      "visit_id,store_id,fecha,crm_id,amount,currency\n"
      "v,s,2026-11-20T10:00:00Z,c,12.50,EUR\n",
      options);
  ASSERT_TRUE(visits.ok()) << visits.status();
  ASSERT_EQ(visits->good.size(), 1u);
  EXPECT_EQ(*visits->good[0].amount_micros, 12'500'000);
  EXPECT_TRUE(visits->ignored_columns.empty());
  // A mapped column and the column it maps to are one column twice.
  EXPECT_TRUE(absl::StartsWith(
      CsvFileError("visit_id,store_id,fecha,crm_id,amount,purchase_amount\n",
                   options),
      "header: has the purchase_amount column twice"));

  for (const char* bad : {"amount", "amount=", "=purchase_amount",
                          "amount=price", "a=phone,A=email"}) {
    EXPECT_FALSE(ParseCsvColumns(bad).ok()) << bad;
  }
  EXPECT_TRUE(ParseCsvColumns("")->empty());
}

TEST_F(VisitParsersTest, SpanishExcelExport) {
  VisitParseOptions options;
  options.csv_decimal = money::DecimalMark::kComma;
  options.time_zone.emplace();
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Madrid", &*options.time_zone));
  options.csv_columns = {{"importe", "purchase_amount"},
                         {"tarjeta", "loyalty_card"}};
  absl::StatusOr<CsvVisits> visits = ParseCsvVisits(
      "\xEF\xBB\xBFvisit_id;store_id;checked_in_at;tarjeta;importe;currency;"
      "satisfaction\r\n"
      "a;MAD;2026-11-20 10:00;L;1.059,90;EUR;4,5\r\n"
      "b;MAD;2026-11-20 10:00;L;59.90;EUR;\r\n"
      "c;MAD;2026-11-20;L;;;\r\n"
      "d;MAD;2026-03-29 02:30;L;;;\r\n",
      options);
  ASSERT_TRUE(visits.ok()) << visits.status();
  ASSERT_EQ(visits->good.size(), 1u);
  const VisitRecord& visit = visits->good[0];
  EXPECT_EQ(*visit.amount_micros, 1'059'900'000);
  EXPECT_DOUBLE_EQ(*visit.satisfaction, 4.5);
  EXPECT_EQ(*visit.checked_in_at,
            absl::FromCivil(absl::CivilSecond(2026, 11, 20, 9, 0, 0),
                            absl::UTCTimeZone()));
  ASSERT_EQ(visits->bad.size(), 3u);
  EXPECT_EQ(visits->bad[0].field, "purchase_amount");
  EXPECT_TRUE(absl::StrContains(visits->bad[0].message, "decimal comma"))
      << visits->bad[0].message;
  EXPECT_EQ(visits->bad[1].field, "checked_in_at");
  EXPECT_EQ(visits->bad[2].field, "checked_in_at");
  EXPECT_TRUE(absl::StrContains(visits->bad[2].message, "never happened"))
      << visits->bad[2].message;

  // Told a point, a comma is refused with what to say instead.
  options.csv_decimal = money::DecimalMark::kPoint;
  visits = ParseCsvVisits(
      "visit_id;store_id;checked_in_at;crm_id;purchase_amount;currency\n"
      "a;MAD;2026-11-20T10:00:00Z;c;59,90;EUR\n",
      options);
  ASSERT_TRUE(visits.ok()) << visits.status();
  ASSERT_EQ(visits->bad.size(), 1u);
  EXPECT_TRUE(absl::StrContains(visits->bad[0].message, "?decimal=comma"))
      << visits->bad[0].message;
  // Told a comma delimiter, a semicolon file has one column.
  options.csv_delimiter = ',';
  EXPECT_TRUE(absl::StartsWith(
      CsvFileError("visit_id;store_id;checked_in_at;crm_id\n", options),
      "header: has no visit_id column"));
}

TEST_F(VisitParsersTest, LocalTimesWithoutAZoneSayWhatToSet) {
  std::vector<std::string> errors = CsvRowErrors(
      "visit_id,store_id,checked_in_at,crm_id\n"
      "v,s,2026-11-20 10:00,c\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(absl::StrContains(errors[0], "set --visit_time_zone"))
      << errors[0];
}

}  // namespace
}  // namespace omnihub::visit

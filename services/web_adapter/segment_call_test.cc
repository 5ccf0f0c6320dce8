#include "services/web_adapter/segment_call.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace omnihub::web {
namespace {

using nlohmann::json;

class SegmentCallTest : public ::testing::Test {
 protected:
  // The one event of a single-call body sent to route `kind`.
  v1::InteractionEvent EventOf(const json& body, absl::string_view kind) {
    absl::StatusOr<SegmentBatch> batch =
        ParseSegmentBody(body.dump(), kind, {});
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok() || batch->calls.size() != 1) return {};
    absl::StatusOr<v1::InteractionEvent> event =
        SegmentCallToEvent(batch->calls[0], context_, normalizer_, {});
    EXPECT_TRUE(event.ok()) << event.status();
    return event.value_or(v1::InteractionEvent());
  }

  std::string ErrorOf(absl::string_view body, absl::string_view kind) {
    absl::StatusOr<SegmentBatch> batch = ParseSegmentBody(body, kind, {});
    if (batch.ok()) {
      for (const SegmentCall& call : batch->calls) {
        absl::StatusOr<v1::InteractionEvent> event =
            SegmentCallToEvent(call, context_, normalizer_, {});
        if (!event.ok()) return std::string(event.status().message());
      }
      return "no error";
    }
    EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(batch.status().message());
  }

  identity::IdentityNormalizer normalizer_{{.default_region = "GB"}};
  RequestContext context_{.received_at = absl::FromUnixSeconds(1795163400),
                          .site = "shop",
                          .client_ip = "198.51.100.0",
                          .user_agent = "curl/7.88"};
};

TEST_F(SegmentCallTest, PageViewCarriesThePageCampaignAndClient) {
  const v1::InteractionEvent event = EventOf(
      {{"messageId", "m-1"},
       {"anonymousId", "anon-1"},
       {"name", "Shoes"},
       {"context",
        {{"page",
          {{"url",
            "https://shop.example/shoes?utm_source=news&utm_medium="
            "email&utm_campaign=winter%20sale"},
           {"path", "/shoes"},
           {"referrer", "https://search.example/"}}},
         {"userAgent", "Mozilla/5.0 (X11)"}}},
       {"properties", {{"category", "shoes"}, {"rank", 3}, {"tags", {"a"}}}}},
      "page");
  EXPECT_EQ(event.event_id(), "web:shop:m-1");
  EXPECT_EQ(event.source(), "web-adapter/shop");
  EXPECT_EQ(event.channel(), v1::CHANNEL_WEB);
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_PAGE_VIEW);
  ASSERT_EQ(event.identities_size(), 1);
  EXPECT_EQ(event.identities(0).kind(), v1::IDENTITY_KIND_WEB_ANONYMOUS_ID);
  EXPECT_EQ(event.web().path(), "/shoes");
  EXPECT_EQ(event.web().title(), "Shoes");  // the page's name stands in
  EXPECT_EQ(event.web().referrer(), "https://search.example/");
  EXPECT_EQ(event.web().user_agent(), "Mozilla/5.0 (X11)");
  EXPECT_EQ(event.web().ip(), "198.51.100.0");
  EXPECT_EQ(event.web().campaign().source(), "news");
  EXPECT_EQ(event.web().campaign().medium(), "email");
  EXPECT_EQ(event.web().campaign().name(), "winter sale");
  EXPECT_EQ(event.attributes().at("category"), "shoes");
  EXPECT_EQ(event.attributes().at("rank"), "3");
  EXPECT_EQ(event.attributes().at("tags"), "[\"a\"]");
  // No times given: it happened when it arrived.
  EXPECT_EQ(event.occurred_at().seconds(), 1795163400);
}

TEST_F(SegmentCallTest, BrowserClockIsCorrected) {
  // The browser's clock is an hour fast; the event waited 30 s in a queue.
  const v1::InteractionEvent event =
      EventOf({{"messageId", "m-2"},
               {"userId", "u-1"},
               {"event", "Clicked"},
               {"originalTimestamp", "2026-11-20T10:29:30Z"},
               {"sentAt", "2026-11-20T10:30:00Z"}},
              "track");
  EXPECT_EQ(event.occurred_at().seconds(), 1795163400 - 30);
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_WEB_ACTION);
  EXPECT_EQ(event.web().event_name(), "Clicked");
  EXPECT_EQ(event.web().user_agent(), "curl/7.88");  // from the request

  // Only the time it happened: taken as it is.
  EXPECT_EQ(EventOf({{"messageId", "m-3"},
                     {"userId", "u-1"},
                     {"event", "Clicked"},
                     {"timestamp", "2026-11-19T08:00:00Z"}},
                    "track")
                .occurred_at()
                .seconds(),
            1795163400 - 86400 - 30 * 60);
}

TEST_F(SegmentCallTest, TimesTheContractCannotHoldNameTheField) {
  // Years past 9999 parse, and a browser clock's gap can put the event before
  // 1970; either is refused, not passed to protobuf (which aborts on them).
  EXPECT_EQ(ErrorOf(R"({"messageId":"m","userId":"u","event":"E",)"
                    R"("timestamp":"12026-11-20T10:00:00Z"})",
                    "track"),
            "track.timestamp: puts the event at 12026-11-20T10:00:00+00:00, is "
            "outside the years 1970 to 9999");
  EXPECT_EQ(ErrorOf(R"({"messageId":"m","userId":"u","event":"E",)"
                    R"("originalTimestamp":"1900-01-01T00:00:00Z",)"
                    R"("sentAt":"2026-11-20T10:00:00Z"})",
                    "track"),
            "track.timestamp: puts the event at 1899-12-31T22:30:00+00:00, is "
            "outside the years 1970 to 9999");
}

TEST_F(SegmentCallTest, BatchSentAtAppliesToEveryCall) {
  absl::StatusOr<SegmentBatch> batch =
      ParseSegmentBody(json{{"sentAt", "2026-11-20T10:00:10Z"},
                            {"writeKey", "k"},
                            {"batch",
                             {{{"type", "page"},
                               {"messageId", "a"},
                               {"anonymousId", "x"},
                               {"timestamp", "2026-11-20T10:00:00Z"}},
                              {{"type", "track"},
                               {"event", "E"},
                               {"messageId", "b"},
                               {"anonymousId", "x"},
                               {"timestamp", "2026-11-20T10:00:05Z"},
                               {"sentAt", "2026-11-20T10:00:06Z"}}}}}
                           .dump(),
                       "batch", {});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->write_key, "k");
  ASSERT_EQ(batch->calls.size(), 2u);
  EXPECT_EQ(*batch->calls[0].sent_at - *batch->calls[0].happened_at,
            absl::Seconds(10));
  EXPECT_EQ(*batch->calls[1].sent_at - *batch->calls[1].happened_at,
            absl::Seconds(1));
}

TEST_F(SegmentCallTest, IdentifyLinksAnonymousIdToLoginAndEmail) {
  const v1::InteractionEvent event = EventOf({{"messageId", "m-4"},
                                              {"anonymousId", "anon-1"},
                                              {"userId", "user-42"},
                                              {"traits",
                                               {{"email", " Ann@Example.COM"},
                                                {"phone", "020 7183 8750"},
                                                {"plan", "gold"}}}},
                                             "identify");
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_IDENTIFIED);
  ASSERT_EQ(event.identities_size(), 4);
  EXPECT_EQ(event.identities(1).kind(), v1::IDENTITY_KIND_LOGIN_ID);
  EXPECT_EQ(event.identities(1).value(), "user-42");
  EXPECT_EQ(event.identities(2).value(), "ann@example.com");
  EXPECT_EQ(event.identities(3).value(), "+442071838750");
  EXPECT_EQ(event.attributes().at("plan"), "gold");
  EXPECT_EQ(event.attributes().count("email"), 0u);
}

TEST_F(SegmentCallTest, AClientKeysIdentitiesButTheAnonymousIdAreClaims) {
  const json identify = {
      {"messageId", "m-5"},
      {"anonymousId", "anon-1"},
      {"userId", "user-42"},
      {"traits", {{"email", "ann@example.com"}, {"phone", "020 7183 8750"}}}};
  v1::InteractionEvent event = EventOf(identify, "identify");
  ASSERT_EQ(event.identities_size(), 4);
  EXPECT_FALSE(event.identities(0).unverified());  // the browser's own id
  for (int i = 1; i < 4; ++i) {
    EXPECT_TRUE(event.identities(i).unverified()) << i;
  }
  context_.server_key = true;
  event = EventOf(identify, "identify");
  ASSERT_EQ(event.identities_size(), 4);
  for (const v1::Identity& identity : event.identities()) {
    EXPECT_FALSE(identity.unverified()) << identity.value();
  }
}

TEST_F(SegmentCallTest, AServerKeysTimeIsTakenAsGiven) {
  // Its timestamp, whatever its sentAt, else its originalTimestamp.
  context_.server_key = true;
  EXPECT_EQ(EventOf({{"messageId", "m-6"},
                     {"userId", "u-1"},
                     {"event", "Imported"},
                     {"originalTimestamp", "2020-01-01T00:00:10Z"},
                     {"timestamp", "2020-01-01T00:00:00Z"},
                     {"sentAt", "2026-11-20T10:30:00Z"}},
                    "track")
                .occurred_at()
                .seconds(),
            1577836800);
  EXPECT_EQ(EventOf({{"messageId", "m-7"},
                     {"userId", "u-1"},
                     {"event", "Imported"},
                     {"originalTimestamp", "2020-01-01T00:00:10Z"},
                     {"sentAt", "2026-11-20T10:30:00Z"}},
                    "track")
                .occurred_at()
                .seconds(),
            1577836810);
  // Neither: when it arrived.
  EXPECT_EQ(EventOf({{"messageId", "m-8"}, {"userId", "u-1"}, {"event", "E"}},
                    "track")
                .occurred_at()
                .seconds(),
            1795163400);
}

TEST_F(SegmentCallTest, OrderCompletedIsAPurchaseWithItsValue) {
  const v1::InteractionEvent event =
      EventOf({{"messageId", "m-5"},
               {"userId", "user-42"},
               {"event", "Order Completed"},
               {"properties", {{"revenue", "19.99"}, {"currency", "eur"}}}},
              "track");
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_PURCHASE);
  EXPECT_EQ(event.value().amount_micros(), 19'990'000);
  EXPECT_EQ(event.value().currency(), "EUR");
  EXPECT_EQ(
      EventOf(
          {{"messageId", "m-6"}, {"userId", "u"}, {"event", "Form Submitted"}},
          "track")
          .kind(),
      v1::INTERACTION_KIND_FORM_SUBMITTED);
}

// The Segment e-commerce spec's Order Completed, products[] and all.
TEST_F(SegmentCallTest, OrderCompletedProductsBecomeLineItems) {
  const json products = json::parse(R"([
      {"product_id": "507f1f77bcf86cd799439011", "sku": "45790-32",
       "name": "Monopoly: 3rd Edition", "price": 19, "quantity": 1,
       "category": "Games"},
      {"product_id": "505bd76785ebb509fc183733", "sku": "46493-32",
       "name": "Uno Card Game", "price": 3, "quantity": 2,
       "category": "Games"}])");
  const v1::InteractionEvent event =
      EventOf({{"messageId", "m-9"},
               {"userId", "user-42"},
               {"event", "Order Completed"},
               {"properties",
                {{"order_id", "50314b8e9bcf000000000000"},
                 {"total", 25},
                 {"currency", "USD"},
                 {"products", products}}}},
              "track");
  EXPECT_EQ(event.kind(), v1::INTERACTION_KIND_PURCHASE);
  ASSERT_EQ(event.line_items_size(), 2);
  EXPECT_EQ(event.line_items(0).sku(), "45790-32");
  EXPECT_EQ(event.line_items(0).name(), "Monopoly: 3rd Edition");
  EXPECT_EQ(event.line_items(0).category(), "Games");
  EXPECT_EQ(event.line_items(0).quantity(), 1);
  EXPECT_EQ(event.line_items(0).unit_price().amount_micros(), 19'000'000);
  EXPECT_EQ(event.line_items(0).unit_price().currency(), "USD");
  EXPECT_EQ(event.line_items(1).quantity(), 2);
  // Line items, not an attribute.
  EXPECT_FALSE(event.attributes().contains("products"));
  EXPECT_EQ(event.attributes().at("order_id"), "50314b8e9bcf000000000000");
  // Without a total, the currency is still the prices'.
  const v1::InteractionEvent no_total =
      EventOf({{"messageId", "m-10"},
               {"userId", "user-42"},
               {"event", "Order Completed"},
               {"properties", {{"currency", "eur"}, {"products", products}}}},
              "track");
  EXPECT_EQ(no_total.line_items(1).unit_price().currency(), "EUR");
  EXPECT_FALSE(no_total.has_value());
  // Not a purchase: no line items.
  EXPECT_EQ(EventOf({{"messageId", "m-11"},
                     {"userId", "u"},
                     {"event", "Product List Viewed"},
                     {"properties", {{"products", products}}}},
                    "track")
                .line_items_size(),
            0);
}

TEST_F(SegmentCallTest, BadProductsNameTheField) {
  absl::StatusOr<SegmentBatch> batch = ParseSegmentBody(
      R"({"messageId":"m","userId":"u","event":"Order Completed",
          "properties":{"currency":"USD","products":[
            {"sku":"a","price":1},{"sku":"b","quantity":0}]}})",
      "track", {});
  ASSERT_TRUE(batch.ok()) << batch.status();
  absl::StatusOr<v1::InteractionEvent> event =
      SegmentCallToEvent(batch->calls[0], context_, normalizer_, {});
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(event.status().message()),
              ::testing::HasSubstr("track.properties.products[1].quantity"));
  batch = ParseSegmentBody(
      R"({"messageId":"m","userId":"u","event":"Order Completed",
          "properties":{"products":[{"sku":"a","price":1}]}})",
      "track", {});
  ASSERT_TRUE(batch.ok());
  event = SegmentCallToEvent(batch->calls[0], context_, normalizer_, {});
  ASSERT_FALSE(event.ok());
  EXPECT_THAT(std::string(event.status().message()),
              ::testing::HasSubstr("track.properties.products[0].price"));
}

TEST_F(SegmentCallTest, UnicodeAndHugeFieldsAreHandled) {
  const v1::InteractionEvent event =
      EventOf({{"messageId", "m-7"},
               {"anonymousId", "anon-ü"},
               {"name", "Über uns — 日本"},
               {"properties", {{"q", "a,b;\"c\""}}}},
              "page");
  EXPECT_EQ(event.web().title(), "Über uns — 日本");
  EXPECT_EQ(event.attributes().at("q"), "a,b;\"c\"");
  EXPECT_NE(ErrorOf(json{{"messageId", "m"},
                         {"anonymousId", "a"},
                         {"properties", {{"big", std::string(5000, 'x')}}}}
                        .dump(),
                    "page")
                .find("page.properties.big: is longer than 1024"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(json{{"messageId", std::string(500, 'm')}, {"anonymousId", "a"}}
                  .dump(),
              "page")
          .find("page.messageId: is longer than 128"),
      std::string::npos);
}

TEST_F(SegmentCallTest, MalformedCallsNameTheField) {
  struct Case {
    std::string body, kind, message;
  };
  const std::vector<Case> cases = {
      {"{not json", "batch", "body: is not valid JSON"},
      {"[1,2]", "batch", "body: must be a JSON object"},
      {R"({"batch":[]})", "batch", "batch: must be a non-empty array"},
      {R"({"batch":[{"type":"alias","messageId":"m","userId":"u"}]})", "batch",
       "batch[0].type: must be page, track or identify"},
      {R"({"batch":[{"messageId":"m","userId":"u"}]})", "batch",
       "batch[0].type: must be set"},
      {R"({"batch":[7]})", "batch", "batch[0]: must be a JSON object"},
      {R"({"userId":"u"})", "page", "page.messageId: must be set"},
      {R"({"messageId":"m"})", "page",
       "page.anonymousId: anonymousId or userId must be set"},
      {R"({"messageId":"m","userId":"u"})", "track",
       "track.event: must be set"},
      {R"({"messageId":"m","userId":"u","type":"page"})", "track",
       "track.type: must be track on this route"},
      {R"({"messageId":"m","userId":"u","timestamp":"yesterday"})", "page",
       "page.timestamp: must be an RFC 3339"},
      {R"({"messageId":"m","userId":7})", "page",
       "page.userId: must be a string"},
      {R"({"messageId":"m","userId":"u","context":[]})", "page",
       "page.context: must be a JSON object"},
      {R"({"messageId":"m","userId":"u","context":{"page":{"url":5}}})", "page",
       "page.context.page.url: must be a string"},
      {R"({"messageId":"m","userId":"u","event":"Order Completed",
           "properties":{"revenue":"-3","currency":"EUR"}})",
       "track", "track.properties.revenue: must be a non-negative decimal"},
      {R"({"messageId":"m","userId":"u","event":"Order Completed",
           "properties":{"revenue":"3"}})",
       "track", "track.properties.currency: must be an ISO 4217"},
      {R"({"messageId":"m","userId":"u","traits":{"email":"nope"}})",
       "identify", "identify.traits.email:"},
      {R"({"messageId":"m","userId":"u","traits":{"phone":"call me"}})",
       "identify", "identify.traits.phone:"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(ErrorOf(c.body, c.kind).find(c.message), std::string::npos)
        << c.body << " gave " << ErrorOf(c.body, c.kind);
  }
}

TEST_F(SegmentCallTest, BatchAndPropertyCountsAreBounded) {
  json batch = json::array();
  for (int i = 0; i < 3; ++i) {
    batch.push_back({{"type", "page"},
                     {"messageId", std::to_string(i)},
                     {"anonymousId", "a"}});
  }
  EXPECT_FALSE(
      ParseSegmentBody(json{{"batch", batch}}.dump(), "batch", {.max_calls = 2})
          .ok());
  json properties = json::object();
  for (int i = 0; i < 40; ++i) properties[std::to_string(i)] = i;
  EXPECT_NE(ErrorOf(json{{"messageId", "m"},
                         {"anonymousId", "a"},
                         {"properties", properties}}
                        .dump(),
                    "page")
                .find("page.properties: has more than 32 fields"),
            std::string::npos);
}

// Properties are turned back into text by a recursive dump: the body's
// depth bounds it (it used to run the adapter out of stack).
TEST_F(SegmentCallTest, DeeplyNestedBodiesAreRefusedNamingTheField) {
  const auto track = [](int arrays) {
    return absl::StrCat(
        R"({"messageId":"m","anonymousId":"a","event":"E","properties":{"p":)",
        std::string(arrays, '['), std::string(arrays, ']'), "}}");
  };
  EXPECT_EQ(ErrorOf(track(200'000), "track"),
            "track.properties.p: nests arrays and objects deeper than the "
            "limit of 32");
  EXPECT_EQ(ParseSegmentBody(track(5), "track", {.max_json_depth = 6})
                .status()
                .message(),
            "track.properties.p: nests arrays and objects deeper than the "
            "limit of 6");
  absl::StatusOr<SegmentBatch> within =
      ParseSegmentBody(track(4), "track", {.max_json_depth = 6});
  ASSERT_TRUE(within.ok()) << within.status();
  EXPECT_EQ(within->calls[0].properties[0].second, "[[[[]]]]");
  EXPECT_EQ(ErrorOf(absl::StrCat(R"({"batch":[)", track(100), "]}"), "batch"),
            "batch[0].properties.p: nests arrays and objects deeper than the "
            "limit of 32");
}

TEST_F(SegmentCallTest, TheWriteKeyIsReadFromTheParsedBody) {
  absl::StatusOr<json> document = ParseSegmentJson(
      R"({"writeKey":"k-1","batch":[]})", "batch", SegmentParseOptions());
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(WriteKeyInBody(*document), "k-1");
  EXPECT_EQ(WriteKeyInBody(json{{"writeKey", 7}}), "");
  EXPECT_EQ(WriteKeyInBody(json::array()), "");
}

}  // namespace
}  // namespace omnihub::web

// The web adapter end to end: real redis-server, hub and adapter processes,
// real HTTP in (including the browser snippet run by Node), gRPC reads out.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/customer.grpc.pb.h"
#include "omnihub/v1/recommendations.grpc.pb.h"
#include "tests/integration/adapter_fixture.h"
#include "tests/support/child_process.h"
#include "tests/support/file_text.h"

namespace omnihub::testing {
namespace {

using nlohmann::json;

constexpr char kOrigin[] = "https://shop.example";

class WebAdapterTest : public AdapterEndToEndTest {
 protected:
  explicit WebAdapterTest(std::vector<std::string> more_flags = {})
      : AdapterEndToEndTest(OMNIHUB_WEB_ADAPTER_BINARY,
                            Flags(std::move(more_flags))) {}

  static std::vector<std::string> Flags(std::vector<std::string> more) {
    std::vector<std::string> flags = {
        "--write_keys=site-key=shop,blog-key=blog",
        absl::StrCat("--allowed_origins=", kOrigin),
        "--trusted_proxies=127.0.0.1", "--ip_privacy=truncate"};
    flags.insert(flags.end(), more.begin(), more.end());
    return flags;
  }

  httplib::Result PostJson(const std::string& path, const json& body,
                           httplib::Headers headers = {
                               {"X-Write-Key", "site-key"}}) {
    return Post(path, body.dump(), "application/json", headers);
  }

  std::vector<v1::InteractionEvent> Timeline(v1::IdentityKind kind,
                                             const std::string& value,
                                             size_t count) {
    return WaitForTimeline(kind, value, count);
  }

  // Posts a page view of a new visitor and waits until it is on the
  // timeline: the adapter delivers in spool order, so everything accepted
  // before it has been delivered too. Returns the visitor's customer id.
  std::string DeliverMarker() {
    static int markers = 0;
    const std::string visitor = absl::StrCat("marker-", ++markers);
    auto posted =
        PostJson("/v1/page", Page(absl::StrCat("m-", visitor), visitor));
    EXPECT_TRUE(posted && posted->status == 202)
        << (posted ? posted->body : "no answer");
    std::vector<v1::InteractionEvent> events =
        Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, visitor, 1);
    EXPECT_EQ(events.size(), 1u) << "the marker was not delivered";
    return events.empty() ? "" : events[0].customer_id();
  }

  static json Page(const std::string& id, const std::string& anonymous_id) {
    return {{"type", "page"},
            {"messageId", id},
            {"anonymousId", anonymous_id},
            {"context",
             {{"page",
               {{"url", "https://shop.example/boots?utm_source=news"},
                {"path", "/boots"},
                {"title", "Winter boots"}}}}}};
  }
};

TEST_F(WebAdapterTest, EveryCallShapeLandsOnTheVisitorsTimeline) {
  // A server-side batch with HTTP Basic auth, as Segment's libraries send it.
  json track = {{"type", "track"},
                {"messageId", "t-1"},
                {"anonymousId", "anon-1"},
                {"event", "Order Completed"},
                {"properties", {{"revenue", "59.90"}, {"currency", "EUR"}}}};
  auto batch =
      PostJson("/v1/batch", {{"batch", {Page("p-1", "anon-1"), track}}},
               {{"Authorization", "Basic " + absl::Base64Escape("site-key:")}});
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->status, 202) << batch->body;
  EXPECT_EQ(json::parse(batch->body)["accepted"], 2);

  // A browser beacon: text/plain, the key in the body, from an allowed page.
  auto beacon = Post(
      "/v1/batch",
      json{{"writeKey", "site-key"}, {"batch", {Page("p-2", "anon-1")}}}.dump(),
      "text/plain;charset=UTF-8", {{"Origin", kOrigin}});
  ASSERT_TRUE(beacon);
  EXPECT_EQ(beacon->status, 202) << beacon->body;
  EXPECT_EQ(beacon->get_header_value("Access-Control-Allow-Origin"), kOrigin);

  // identify links the anonymous visitor to a login id and an e-mail.
  auto identify =
      PostJson("/v1/identify", {{"messageId", "i-1"},
                                {"anonymousId", "anon-1"},
                                {"userId", "user-42"},
                                {"traits", {{"email", "Ann@Example.com"}}}});
  ASSERT_TRUE(identify);
  EXPECT_EQ(identify->status, 202) << identify->body;

  std::vector<v1::InteractionEvent> events =
      Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-1", 4);
  ASSERT_EQ(events.size(), 4u);
  std::map<std::string, v1::InteractionEvent> by_id;
  for (const auto& event : events) by_id[event.event_id()] = event;
  const v1::InteractionEvent& page = by_id["web:shop:p-1"];
  EXPECT_EQ(page.kind(), v1::INTERACTION_KIND_PAGE_VIEW);
  EXPECT_EQ(page.channel(), v1::CHANNEL_WEB);
  EXPECT_EQ(page.source(), "web-adapter/shop");
  EXPECT_EQ(page.web().path(), "/boots");
  EXPECT_EQ(page.web().title(), "Winter boots");
  EXPECT_EQ(page.web().campaign().source(), "news");
  EXPECT_EQ(page.web().ip(), "127.0.0.0");  // truncated
  const v1::InteractionEvent& order = by_id["web:shop:t-1"];
  EXPECT_EQ(order.kind(), v1::INTERACTION_KIND_PURCHASE);
  EXPECT_EQ(order.value().amount_micros(), 59'900'000);
  EXPECT_EQ(by_id["web:shop:i-1"].kind(), v1::INTERACTION_KIND_IDENTIFIED);

  // One customer, whichever identity asks.
  std::optional<v1::CustomerView> by_login =
      Customer(v1::IDENTITY_KIND_LOGIN_ID, "user-42");
  std::optional<v1::CustomerView> by_email =
      Customer(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  ASSERT_TRUE(by_login && by_email);
  EXPECT_EQ(by_login->customer_id(), page.customer_id());
  EXPECT_EQ(by_email->customer_id(), page.customer_id());
  EXPECT_EQ(by_login->total_interactions(), 4);
}

// The Segment e-commerce spec's Order Completed through the adapter and the
// hub: its products[] are the purchase's line items, and cross-selling
// counts them.
TEST_F(WebAdapterTest, OrderCompletedProductsReachCrossSelling) {
  const auto order = [](const std::string& id, const std::string& visitor,
                        std::vector<std::string> skus) {
    json products = json::array();
    for (const std::string& sku : skus) {
      products.push_back({{"product_id", "id-" + sku},
                          {"sku", sku},
                          {"name", "Product " + sku},
                          {"category", "photo"},
                          {"price", 10},
                          {"quantity", 1}});
    }
    return json{{"messageId", id},
                {"anonymousId", visitor},
                {"event", "Order Completed"},
                {"properties",
                 {{"order_id", id},
                  {"total", 10 * skus.size()},
                  {"currency", "EUR"},
                  {"products", products}}}};
  };
  for (const auto& [id, visitor, skus] : std::vector<
           std::tuple<std::string, std::string, std::vector<std::string>>>{
           {"o-1", "anon-a", {"CAM-1", "SD-64"}},
           {"o-2", "anon-b", {"CAM-1", "SD-64"}},
           {"o-3", "anon-c", {"CAM-1"}}}) {
    auto result = PostJson("/v1/track", order(id, visitor, skus));
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 202) << result->body;
  }
  std::vector<v1::InteractionEvent> events =
      WaitForTimeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-a", 1);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events[0].line_items_size(), 2);
  EXPECT_EQ(events[0].line_items(1).sku(), "SD-64");
  EXPECT_EQ(events[0].line_items(1).name(), "Product SD-64");
  EXPECT_EQ(events[0].line_items(1).unit_price().amount_micros(), 10'000'000);
  EXPECT_EQ(events[0].line_items(1).unit_price().currency(), "EUR");
  ASSERT_EQ(
      WaitForTimeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-c", 1).size(),
      1u);
  auto recommendations = v1::RecommendationService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", hub_port_),
                          grpc::InsecureChannelCredentials()));
  v1::GetCrossSellCandidatesRequest request;
  *request.mutable_customer()->mutable_identity() = [] {
    v1::Identity identity;
    identity.set_kind(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID);
    identity.set_value("anon-c");
    return identity;
  }();
  v1::GetCrossSellCandidatesResponse response;
  grpc::ClientContext context;
  grpc::Status status =
      recommendations->GetCrossSellCandidates(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.candidates_size(), 1);
  EXPECT_EQ(response.candidates(0).item(), "SD-64");
  EXPECT_EQ(response.candidates(0).because_of(), "CAM-1");
  EXPECT_EQ(response.candidates(0).customers_with_both(), 2);
  // A bad product is a 400 naming it.
  json bad = order("o-4", "anon-d", {"X"});
  bad["properties"]["products"][0]["quantity"] = 0;
  auto refused = PostJson("/v1/track", bad);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(refused->body, ::testing::HasSubstr("products[0].quantity"));
}

TEST_F(WebAdapterTest, ClockIsCorrectedAndForwardedClientIsTruncated) {
  // The browser's clock runs two hours fast; the call waited 30 s to be sent.
  const absl::Time browser_now = absl::Now() + absl::Hours(2);
  auto result = Post(
      "/v1/track",
      json{
          {"messageId", "clock-1"},
          {"anonymousId", "anon-clock"},
          {"event", "Clicked"},
          {"originalTimestamp",
           absl::FormatTime(absl::RFC3339_full, browser_now - absl::Seconds(30),
                            absl::UTCTimeZone())},
          {"sentAt", absl::FormatTime(absl::RFC3339_full, browser_now,
                                      absl::UTCTimeZone())}}
          .dump(),
      "application/json",
      {{"X-Write-Key", "site-key"},
       {"X-Forwarded-For", "6.6.6.6, 203.0.113.77"},
       {"User-Agent", "Mozilla/5.0 (Test)"}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 202) << result->body;
  std::vector<v1::InteractionEvent> events =
      Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-clock", 1);
  ASSERT_EQ(events.size(), 1u);
  const absl::Time occurred = absl::FromUnixMicros(
      google::protobuf::util::TimeUtil::TimestampToMicroseconds(
          events[0].occurred_at()));
  EXPECT_LT(absl::AbsDuration(occurred - (absl::Now() - absl::Seconds(30))),
            absl::Seconds(10));
  EXPECT_EQ(events[0].web().ip(), "203.0.113.0");
  EXPECT_EQ(events[0].web().user_agent(), "Mozilla/5.0 (Test)");
}

TEST_F(WebAdapterTest, CorsAndWriteKeysGuardTheIntake) {
  httplib::Client http("127.0.0.1", adapter_port_);
  httplib::Request preflight;
  preflight.method = "OPTIONS";
  preflight.path = "/v1/batch";
  preflight.headers = {{"Origin", kOrigin},
                       {"Access-Control-Request-Method", "POST"}};
  auto allowed = http.send(preflight);
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 204);
  EXPECT_EQ(allowed->get_header_value("Access-Control-Allow-Origin"), kOrigin);
  EXPECT_NE(allowed->get_header_value("Access-Control-Allow-Headers")
                .find("Content-Type"),
            std::string::npos);
  preflight.headers = {{"Origin", "https://evil.example"}};
  auto refused = http.send(preflight);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_TRUE(refused->get_header_value("Access-Control-Allow-Origin").empty());

  const json body = {{"batch", {Page("p-x", "anon-x")}}};
  auto from_elsewhere =
      Post("/v1/batch", body.dump(), "text/plain",
           {{"Origin", "https://evil.example"}, {"X-Write-Key", "site-key"}});
  ASSERT_TRUE(from_elsewhere);
  EXPECT_EQ(from_elsewhere->status, 403);
  auto no_key = PostJson("/v1/batch", body, {});
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->status, 401);
  EXPECT_EQ(json::parse(no_key->body)["error"]["field"], "writeKey");
  auto wrong_key = PostJson("/v1/batch", body, {{"X-Write-Key", "guess"}});
  ASSERT_TRUE(wrong_key);
  EXPECT_EQ(wrong_key->status, 401);
  // A bad body without a key is still a 401: strangers learn nothing more.
  auto junk = Post("/v1/batch", "{junk", "application/json", {});
  ASSERT_TRUE(junk);
  EXPECT_EQ(junk->status, 401);
  // Once a later call is delivered, none of the refused ones can still be
  // on the way: Redis holds the marker's customer and nothing else.
  const std::string marker = DeliverMarker();
  ASSERT_FALSE(marker.empty());
  EXPECT_THAT(KeysNotOfCustomer(marker), ::testing::IsEmpty());
}

TEST_F(WebAdapterTest, MalformedInputIsA4xxAndStoresNothing) {
  struct Case {
    std::string path, body, type;
    int status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"/v1/batch", "{not json", "application/json", 400, "body"},
      {"/v1/batch", R"({"batch":[{"type":"page","anonymousId":"a"}]})",
       "text/plain", 400, "batch[0].messageId"},
      {"/v1/page", R"({"messageId":"m"})", "application/json", 400,
       "page.anonymousId"},
      {"/v1/track", R"({"messageId":"m","userId":"u","event":"E",
                        "timestamp":"2999-01-01T00:00:00Z"})",
       "application/json", 400, "occurred_at"},
      {"/v1/identify", R"({"messageId":"m","userId":"u",
                           "traits":{"email":"not-an-email"}})",
       "application/json", 400, "identify.traits.email"},
      {"/v1/batch", "a=b", "application/x-www-form-urlencoded", 415,
       "Content-Type"},
      {"/v1/batch", std::string(2 << 20, ' '), "application/json", 413, ""},
  };
  for (const Case& c : cases) {
    auto result = Post(c.path, c.body, c.type, {{"X-Write-Key", "site-key"}});
    ASSERT_TRUE(result) << c.path;
    EXPECT_EQ(result->status, c.status)
        << c.body.substr(0, 200) << " -> " << result->body;
    const json error = json::parse(result->body, nullptr, false);
    ASSERT_TRUE(error.is_object() && error.contains("error")) << result->body;
    const bool names_field =
        error["error"].value("message", "").find(c.field) !=
            std::string::npos ||
        error["error"].value("field", "").find(c.field) != std::string::npos;
    EXPECT_TRUE(names_field) << c.field << " not in " << result->body;
  }
  const std::string marker = DeliverMarker();
  ASSERT_FALSE(marker.empty());
  EXPECT_THAT(KeysNotOfCustomer(marker), ::testing::IsEmpty());
}

// A track call whose property nests `depth` arrays: the body is
// 2 * depth + 2 levels deep (the call and its properties).
std::string NestedTrack(const std::string& message_id, int depth) {
  return absl::StrCat(R"({"messageId":")", message_id,
                      R"(","anonymousId":"anon-deep","event":"Deep",)",
                      R"("properties":{"p":)", std::string(depth, '['),
                      std::string(depth, ']'), "}}");
}

TEST_F(WebAdapterTest, ADeeplyNestedBodyIsRefusedAndTheAdapterKeepsServing) {
  // 400 KB, 200,000 arrays deep: it used to run the adapter out of stack
  // (exit 139) while the property was turned back into text, before the
  // write key was even looked at.
  const std::string deep = NestedTrack("deep-1", 200'000);
  auto stranger = Post("/v1/track", deep, "application/json", {});
  ASSERT_TRUE(stranger) << "the adapter did not answer";
  EXPECT_EQ(stranger->status, 401) << stranger->body;
  auto guess =
      Post("/v1/track", deep, "application/json", {{"X-Write-Key", "guess"}});
  ASSERT_TRUE(guess) << "the adapter did not answer";
  EXPECT_EQ(guess->status, 401) << guess->body;
  auto known = Post("/v1/track", deep, "application/json",
                    {{"X-Write-Key", "site-key"}});
  ASSERT_TRUE(known) << "the adapter did not answer";
  EXPECT_EQ(known->status, 400) << known->body.substr(0, 300);
  const json error = json::parse(known->body, nullptr, false);
  ASSERT_TRUE(error.contains("error")) << known->body.substr(0, 300);
  EXPECT_EQ(error["error"].value("field", ""), "track.properties.p");
  EXPECT_THAT(error["error"].value("message", ""),
              ::testing::HasSubstr("the limit of 32"));
  auto batch = Post("/v1/batch",
                    absl::StrCat(R"({"batch":[)", Page("ok-1", "a").dump(), ",",
                                 NestedTrack("deep-2", 100'000), "]}"),
                    "text/plain", {{"X-Write-Key", "site-key"}});
  ASSERT_TRUE(batch) << "the adapter did not answer";
  EXPECT_EQ(batch->status, 400);
  EXPECT_EQ(json::parse(batch->body)["error"].value("field", ""),
            "batch[1].properties.p");

  // Right at the limit (32 deep) is fine; one level more is not.
  auto at_limit = Post("/v1/track", NestedTrack("deep-3", 30),
                       "application/json", {{"X-Write-Key", "site-key"}});
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->status, 202) << at_limit->body;
  auto over = Post("/v1/track", NestedTrack("deep-4", 31), "application/json",
                   {{"X-Write-Key", "site-key"}});
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 400) << over->body;

  EXPECT_FALSE(adapter_->HasExited());
  EXPECT_NE(ReadyzStatus(), 0) << "the adapter stopped answering";
  const std::vector<v1::InteractionEvent> kept =
      Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-deep", 1);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].event_id(), "web:shop:deep-3");
  EXPECT_EQ(kept[0].attributes().at("p"),
            std::string(30, '[') + std::string(30, ']'));
}

// --max_json_depth sets the limit.
class WebAdapterShallowJsonTest : public WebAdapterTest {
 protected:
  WebAdapterShallowJsonTest() : WebAdapterTest({"--max_json_depth=4"}) {}
};

TEST_F(WebAdapterShallowJsonTest, TheDepthLimitIsAFlag) {
  auto at_limit = Post("/v1/track", NestedTrack("flag-1", 2),
                       "application/json", {{"X-Write-Key", "site-key"}});
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->status, 202) << at_limit->body;
  auto over = Post("/v1/track", NestedTrack("flag-2", 3), "application/json",
                   {{"X-Write-Key", "site-key"}});
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 400) << over->body;
  EXPECT_THAT(over->body, ::testing::HasSubstr("the limit of 4"));
}

// A file of server write keys (secret), for --server_write_keys_file.
std::string ServerKeysFile(const std::string& contents) {
  std::string path = ::testing::TempDir() + "web-server-keys-XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
  std::ofstream(path) << contents;
  return path;
}

// A rotated server key: the adapter re-reads --server_write_keys_file on
// SIGHUP, and a file that no longer reads keeps the keys in use.
class WebServerKeysReloadTest : public WebAdapterTest {
 protected:
  WebServerKeysReloadTest()
      : WebServerKeysReloadTest(ServerKeysFile("old-secret=shop\n")) {}
  explicit WebServerKeysReloadTest(const std::string& path)
      : WebAdapterTest({"--server_write_keys_file=" + path}), path_(path) {}

  int Track(const std::string& id, const std::string& key) {
    auto result = PostJson("/v1/track",
                           {{"messageId", id},
                            {"anonymousId", "anon-reload"},
                            {"event", "Viewed"}},
                           {{"X-Write-Key", key}});
    return result ? result->status : 0;
  }

  void Rewrite(const std::string& contents) {
    std::ofstream(path_, std::ios::trunc) << contents;
    ASSERT_TRUE(adapter_->Signal(SIGHUP).ok());
  }

  std::string path_;
};

TEST_F(WebServerKeysReloadTest, ServerKeysAreReReadOnSighup) {
  EXPECT_EQ(Track("r-1", "old-secret"), 202);
  EXPECT_EQ(Track("r-2", "new-secret"), 401);
  ASSERT_NO_FATAL_FAILURE(Rewrite("new-secret=shop\n"));
  ASSERT_TRUE(WaitUntil([&] { return Track("r-3", "old-secret") == 401; },
                        absl::Seconds(10)))
      << "the old server key was still taken after SIGHUP";
  EXPECT_EQ(Track("r-4", "new-secret"), 202);
  // Client keys stay as they were.
  EXPECT_EQ(Track("r-5", "site-key"), 202);
  // A client key among the server keys is refused, as at start.
  ASSERT_NO_FATAL_FAILURE(Rewrite("site-key=shop\n"));
  ASSERT_TRUE(WaitUntil(
      [&] {
        return FileText(directory_ + "/adapter.log")
                   .find("keeping the server write keys in use") !=
               std::string::npos;
      },
      absl::Seconds(10)));
  EXPECT_EQ(Track("r-6", "new-secret"), 202);
}

// Client keys (public, in every page) and server keys (secret, the
// company's backends) side by side.
class WebAdapterTrustTest : public WebAdapterTest {
 protected:
  WebAdapterTrustTest()
      : WebAdapterTest({"--server_write_keys_file=" +
                        ServerKeysFile("# the shop's backend\n"
                                       "backend-secret=shop\n")}) {}

  void SetUp() override {
    WebAdapterTest::SetUp();
    customers_ = v1::CustomerService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", hub_port_),
                            grpc::InsecureChannelCredentials()));
  }

  static json Identify(const std::string& id, const std::string& anonymous_id,
                       json traits) {
    return {{"messageId", id},
            {"anonymousId", anonymous_id},
            {"traits", std::move(traits)}};
  }

  void PostAccepted(const std::string& path, const json& body,
                    const std::string& key) {
    auto result = PostJson(path, body, {{"X-Write-Key", key}});
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 202) << result->body;
  }

  std::vector<v1::MergeRecord> MergeLog(const std::string& customer_id) {
    v1::GetMergeLogRequest request;
    request.mutable_customer()->set_customer_id(customer_id);
    v1::GetMergeLogResponse response;
    grpc::ClientContext context;
    grpc::Status status = customers_->GetMergeLog(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.records().begin(), response.records().end()};
  }

  static std::set<std::string> IdentitiesOf(const v1::CustomerView& view) {
    std::set<std::string> values;
    for (const v1::Identity& identity : view.identities()) {
      values.insert(identity.value());
    }
    return values;
  }

  std::unique_ptr<v1::CustomerService::Stub> customers_;
};

TEST_F(WebAdapterTrustTest, ThePoisoningAttack) {
  // Ann and Bob, each known from their own browser, their e-mail and phone
  // vouched for by the shop's backend when they logged in (claimed from
  // the browser alone, they would be no one's to keep: see
  // untrusted_claims_test's pre-claiming).
  ASSERT_NO_FATAL_FAILURE(PostAccepted(
      "/v1/identify",
      Identify("ann-1", "anon-ann", {{"email", "ann@example.com"}}),
      "backend-secret"));
  ASSERT_NO_FATAL_FAILURE(
      PostAccepted("/v1/identify",
                   Identify("bob-1", "anon-bob", {{"phone", "07700 900123"}}),
                   "backend-secret"));
  ASSERT_EQ(Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-bob", 1).size(),
            1u);
  const std::optional<v1::CustomerView> ann =
      Customer(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  const std::optional<v1::CustomerView> bob =
      Customer(v1::IDENTITY_KIND_PHONE, "+447700900123");
  ASSERT_TRUE(ann && bob);
  ASSERT_NE(ann->customer_id(), bob->customer_id());

  // Someone who knows Ann's e-mail and Bob's phone identifies as both from
  // a browser, with the page's public key.
  ASSERT_NO_FATAL_FAILURE(PostAccepted(
      "/v1/identify",
      Identify("evil-1", "anon-evil",
               {{"email", "ann@example.com"}, {"phone", "07700 900123"}}),
      "site-key"));
  // Delivered (and acknowledged, refusals written) once a later marker is.
  DeliverMarker();
  std::vector<v1::InteractionEvent> evil =
      Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil", 1);
  ASSERT_EQ(evil.size(), 1u);
  // The event carries its claims as such, and stays the visitor's.
  for (const v1::Identity& identity : evil[0].identities()) {
    EXPECT_EQ(identity.unverified(),
              identity.kind() != v1::IDENTITY_KIND_WEB_ANONYMOUS_ID)
        << identity.value();
  }
  const std::string visitor = evil[0].customer_id();
  EXPECT_NE(visitor, ann->customer_id());
  EXPECT_NE(visitor, bob->customer_id());
  // Nothing merged, nothing attached.
  std::optional<v1::CustomerView> ann_now =
      Customer(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  std::optional<v1::CustomerView> bob_now =
      Customer(v1::IDENTITY_KIND_PHONE, "+447700900123");
  ASSERT_TRUE(ann_now && bob_now);
  EXPECT_EQ(ann_now->customer_id(), ann->customer_id());
  EXPECT_EQ(bob_now->customer_id(), bob->customer_id());
  EXPECT_EQ(IdentitiesOf(*ann_now),
            (std::set<std::string>{"anon-ann", "ann@example.com"}));
  EXPECT_EQ(IdentitiesOf(*bob_now),
            (std::set<std::string>{"anon-bob", "+447700900123"}));
  EXPECT_EQ(ann_now->total_interactions(), 1);
  EXPECT_EQ(bob_now->total_interactions(), 1);
  std::optional<v1::CustomerView> attacker =
      Customer(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil");
  ASSERT_TRUE(attacker);
  EXPECT_EQ(IdentitiesOf(*attacker), std::set<std::string>{"anon-evil"});
  // The refusals are in the merge log, for an agent to confirm or not.
  std::vector<v1::MergeRecord> log = MergeLog(visitor);
  ASSERT_EQ(log.size(), 2u);
  for (const v1::MergeRecord& record : log) {
    EXPECT_EQ(record.outcome(), v1::MergeRecord::OUTCOME_REFUSED);
    EXPECT_EQ(record.reason(), "untrusted source");
    EXPECT_EQ(record.event_id(), "web:shop:evil-1");
  }
  ASSERT_EQ(MergeLog(ann->customer_id()).size(), 1u);
  ASSERT_EQ(MergeLog(bob->customer_id()).size(), 1u);

  // The company's backend, with its secret key, says the same: it knows.
  ASSERT_NO_FATAL_FAILURE(PostAccepted(
      "/v1/identify",
      Identify("backend-1", "anon-backend",
               {{"email", "ann@example.com"}, {"phone", "07700 900123"}}),
      "backend-secret"));
  // On the one customer Ann and Bob now are, with both their events.
  ASSERT_EQ(
      Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-backend", 3).size(),
      3u);
  ann_now = Customer(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  bob_now = Customer(v1::IDENTITY_KIND_PHONE, "+447700900123");
  ASSERT_TRUE(ann_now && bob_now);
  EXPECT_EQ(ann_now->customer_id(), bob_now->customer_id());
  EXPECT_EQ(ann_now->total_interactions(), 3);
}

TEST_F(WebAdapterTrustTest, AServerKeysTimestampIsTakenAsGiven) {
  // A historical import: the call happened in 2020 (and the importer's
  // sentAt says it was sent 30 s later).
  const json import = {{"messageId", "import-1"},
                       {"userId", "user-7"},
                       {"event", "Order Completed"},
                       {"timestamp", "2020-03-01T12:00:00Z"},
                       {"sentAt", "2020-03-01T12:00:30Z"}};
  ASSERT_NO_FATAL_FAILURE(PostAccepted("/v1/track", import, "backend-secret"));
  // The same from a browser is corrected for its clock, whose only reliable
  // figure is the 30 s gap: it happened 30 s ago.
  json browser = import;
  browser["messageId"] = "browser-1";
  browser["anonymousId"] = "anon-7";
  browser.erase("userId");
  ASSERT_NO_FATAL_FAILURE(PostAccepted("/v1/track", browser, "site-key"));

  const auto occurred = [](const v1::InteractionEvent& event) {
    return absl::FromUnixMicros(
        google::protobuf::util::TimeUtil::TimestampToMicroseconds(
            event.occurred_at()));
  };
  std::vector<v1::InteractionEvent> imported =
      Timeline(v1::IDENTITY_KIND_LOGIN_ID, "user-7", 1);
  ASSERT_EQ(imported.size(), 1u);
  EXPECT_EQ(occurred(imported[0]),
            absl::FromCivil(absl::CivilSecond(2020, 3, 1, 12, 0, 0),
                            absl::UTCTimeZone()));
  EXPECT_FALSE(imported[0].identities(0).unverified());
  std::vector<v1::InteractionEvent> corrected =
      Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-7", 1);
  ASSERT_EQ(corrected.size(), 1u);
  EXPECT_LT(absl::AbsDuration(occurred(corrected[0]) -
                              (absl::Now() - absl::Seconds(30))),
            absl::Seconds(20));

  // A secret key in a URL is refused: URLs end up in logs.
  auto in_query = Post("/v1/track?writeKey=backend-secret", import.dump(),
                       "application/json");
  ASSERT_TRUE(in_query);
  EXPECT_EQ(in_query->status, 401);
  EXPECT_THAT(in_query->body, ::testing::HasSubstr("not accepted in the URL"));
}

TEST_F(WebAdapterTest, ReplaysAndAnOutageDeliverEachCallOnce) {
  ASSERT_TRUE(hub_->Signal(SIGKILL).ok());
  hub_->Wait(absl::Seconds(10)).IgnoreError();
  for (int i = 0; i < 20; ++i) {
    // Every call is sent twice, as a retrying browser might.
    for (int copy = 0; copy < 2; ++copy) {
      auto result =
          PostJson("/v1/batch",
                   {{"batch", {Page(absl::StrCat("down-", i), "anon-down")}}});
      ASSERT_TRUE(result);
      ASSERT_EQ(result->status, 202) << result->body;
    }
  }
  ASSERT_NO_FATAL_FAILURE(StartHub());
  std::vector<v1::InteractionEvent> events =
      Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-down", 20);
  std::set<std::string> ids;
  for (const auto& event : events) ids.insert(event.event_id());
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(events.size(), 20u);
  std::optional<v1::CustomerView> customer =
      Customer(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-down");
  ASSERT_TRUE(customer);
  EXPECT_EQ(customer->total_interactions(), 20);
}

TEST_F(WebAdapterTest, TheBrowserSnippetWorksAgainstTheRealAdapter) {
  const std::string endpoint = absl::StrCat("http://127.0.0.1:", adapter_port_);
  const std::string storage = directory_ + "/local-storage.json";
  const auto run_snippet = [&](std::vector<std::string> extra) -> json {
    std::vector<std::string> args = {
        OMNIHUB_WEB_SNIPPET_HARNESS, endpoint, "site-key", storage,
        "https://shop.example/boots?utm_source=ad"};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string log = directory_ + "/snippet.log";
    std::remove(log.c_str());
    auto node = ChildProcess::Start(OMNIHUB_NODE_BINARY, args, {}, log);
    EXPECT_TRUE(node.ok()) << node.status();
    if (!node.ok()) return {};
    absl::StatusOr<int> exit_code = (*node)->Wait(absl::Seconds(30));
    std::ifstream file(log);
    const std::string output((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
    EXPECT_TRUE(exit_code.ok() && *exit_code == 0) << output;
    return json::parse(output, nullptr, false);
  };
  // First visit: the page view on load and a call queued before the script.
  const json first = run_snippet({});
  // Second visit of the same browser, who now logs in.
  const json second = run_snippet({"identify", "user-7", "bea@example.com"});
  ASSERT_TRUE(first.is_object() && second.is_object());
  const std::string anonymous_id = first.value("anonymousId", "");
  ASSERT_FALSE(anonymous_id.empty());
  EXPECT_EQ(second.value("anonymousId", ""), anonymous_id)
      << "the anonymous id did not persist";

  std::vector<v1::InteractionEvent> events =
      Timeline(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, anonymous_id, 5);
  ASSERT_EQ(events.size(), 5u);
  std::multiset<int> kinds;
  for (const auto& event : events) {
    kinds.insert(event.kind());
    EXPECT_EQ(event.web().path(), "/boots");
    EXPECT_EQ(event.web().user_agent(), "SnippetHarness/1.0");
    EXPECT_EQ(event.web().campaign().source(), "ad");
  }
  EXPECT_EQ(kinds.count(v1::INTERACTION_KIND_PAGE_VIEW), 2u);
  EXPECT_EQ(kinds.count(v1::INTERACTION_KIND_WEB_ACTION), 2u);
  EXPECT_EQ(kinds.count(v1::INTERACTION_KIND_IDENTIFIED), 1u);
  std::optional<v1::CustomerView> by_email =
      Customer(v1::IDENTITY_KIND_EMAIL, "bea@example.com");
  ASSERT_TRUE(by_email);
  EXPECT_EQ(by_email->customer_id(), events[0].customer_id());
}

// The hub refuses events over 1500 bytes, which the adapter (16 KiB) takes:
// such an event is accepted here and becomes a dead letter there.
class WebAdapterMetricsTest : public WebAdapterTest {
 protected:
  WebAdapterMetricsTest() { hub_flags_ = {"--max_event_bytes=1500"}; }
};

TEST_F(WebAdapterMetricsTest, EveryRequestIsCountedOnceAndPromtoolAgrees) {
  const auto status_of = [](const httplib::Result& result) {
    return result ? result->status : 0;
  };
  const json good = {{"batch", {Page("g-1", "anon-m"), Page("g-2", "anon-m")}}};
  ASSERT_EQ(status_of(PostJson("/v1/batch", good)), 202);
  json oversized = Page("big-1", "anon-big");
  oversized["context"]["page"]["url"] =
      "https://shop.example/" + std::string(1900, 'x');
  ASSERT_EQ(status_of(PostJson("/v1/batch", {{"batch", {oversized}}})), 202);
  ASSERT_EQ(status_of(Post("/v1/batch", "{junk", "application/json",
                           {{"X-Write-Key", "site-key"}})),
            400);
  ASSERT_EQ(status_of(PostJson("/v1/batch", good, {})), 401);
  ASSERT_EQ(
      status_of(Post("/v1/batch", "a=b", "application/x-www-form-urlencoded",
                     {{"X-Write-Key", "site-key"}})),
      415);
  ASSERT_EQ(status_of(Post("/v1/batch", std::string(2 << 20, ' '),
                           "application/json", {{"X-Write-Key", "site-key"}})),
            413);
  ASSERT_EQ(status_of(Post("/v1/nowhere", "{}", "application/json")), 404);
  httplib::Client http("127.0.0.1", adapter_port_);
  ASSERT_EQ(status_of(http.Get("/v1/batch")), 404);  // no GET route there
  httplib::Request preflight;
  preflight.method = "OPTIONS";
  preflight.path = "/v1/batch";
  preflight.headers = {{"Origin", kOrigin}};
  ASSERT_EQ(status_of(http.send(preflight)), 204);
  preflight.headers = {{"Origin", "https://evil.example"}};
  ASSERT_EQ(status_of(http.send(preflight)), 403);
  ASSERT_EQ(status_of(http.Get("/omnihub.js")), 200);

  // The publisher's counters move once the hub has answered.
  std::string text;
  ASSERT_TRUE(WaitUntil([&] {
    text = FetchMetrics();
    return MetricValue(text, "omnihub_publish_dead_letters_total") == 1 &&
           MetricValue(text, "omnihub_publish_delivered_events_total") == 2;
  })) << text;
  EXPECT_THAT(DeadLetters(), ::testing::HasSubstr("web:shop:big-1"));
  EXPECT_THAT(DeadLetters(), ::testing::HasSubstr("the limit is 1500"));
  text = FetchMetrics();
  EXPECT_EQ(PromtoolComplaints(text), "");

  const auto requests = [&](const std::string& route, const std::string& code) {
    return MetricValue(text, "omnihub_http_requests_total",
                       {{"route", route}, {"code", code}})
        .value_or(0);
  };
  EXPECT_EQ(requests("batch", "202"), 2);
  EXPECT_EQ(requests("batch", "400"), 1);
  EXPECT_EQ(requests("batch", "401"), 1);
  EXPECT_EQ(requests("batch", "415"), 1);
  EXPECT_EQ(requests("batch", "413"), 1);  // refused before any handler ran
  EXPECT_EQ(requests("other", "404"), 2);  // unknown paths share one label
  EXPECT_EQ(requests("batch_preflight", "204"), 1);
  EXPECT_EQ(requests("batch_preflight", "403"), 1);
  EXPECT_EQ(requests("snippet", "200"), 1);
  EXPECT_GE(requests("metrics", "200"), 1);  // the fetches while waiting
  EXPECT_EQ(requests("healthz", "200"), 1);  // the fixture's start-up check
  // Each request once: the labelled counts add up to what was sent.
  double total = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "omnihub_http_requests_total{")) {
      total += MetricValue(std::string(line), "omnihub_http_requests_total")
                   .value_or(0);
    }
  }
  // The 11 above, the fixture's /healthz and the earlier /metrics fetches
  // (the fetch that produced `text` is counted once it is answered).
  EXPECT_EQ(total, 11 + 1 + requests("metrics", "200"));
  EXPECT_EQ(MetricValue(text, "omnihub_http_validation_failures_total",
                        {{"reason", "too_large"}}),
            1);
  EXPECT_EQ(MetricValue(text, "omnihub_http_validation_failures_total",
                        {{"reason", "no_route"}}),
            2);
  EXPECT_TRUE(MetricValue(text, "omnihub_http_request_duration_seconds_count",
                          {{"route", "batch"}}));
  EXPECT_TRUE(MetricValue(text, "omnihub_build_info"));
}

// The web adapter's own flags, checked as every adapter flag is: before,
// --max_batch_calls below 1 quietly became 1 and the others' messages did
// not name their flag.
TEST(WebAdapterFlagsTest, NonsenseStopsTheAdapterNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--max_batch_calls=0", "--max_batch_calls: "},
      {"--write_keys=key=bad site!", "--write_keys: "},
      {"--trusted_proxies=not-an-address", "--trusted_proxies: "},
      {"--ip_privacy=hide", "--ip_privacy: "},
      {"--server_write_keys_file=/nonexistent/keys",
       "--server_write_keys_file: "},
      {"--server_write_keys_file=" + ServerKeysFile("key=bad site!\n"),
       "--server_write_keys_file: "},
      // One key both public and secret.
      {"--flagfile=" + ServerKeysFile("--write_keys=both=shop\n"
                                      "--server_write_keys_file=" +
                                      ServerKeysFile("both=shop\n") + "\n"),
       "--server_write_keys_file: "},
  };
  ExpectEachFlagStopsTheAdapter(OMNIHUB_WEB_ADAPTER_BINARY, cases);
}

}  // namespace
}  // namespace omnihub::testing

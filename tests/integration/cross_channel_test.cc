// The single view across channels, end to end: a real redis-server, the real
// hub and all three real adapters, real HTTP in. A person browses the website
// anonymously, calls from their mobile, logs in (which proves the visitor and
// the caller are one person), then walks into a store with their loyalty
// card: one customer, one timeline, and the merge on record.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/customer.grpc.pb.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {
namespace {

using nlohmann::json;

class CrossChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = absl::StrCat(::testing::TempDir(), "/e2e-cross-channel");
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto hub_port = PickFreeLoopbackPort();
    auto metrics_port = PickFreeLoopbackPort();
    ASSERT_TRUE(hub_port.ok() && metrics_port.ok());
    hub_port_ = *hub_port;
    auto hub = ChildProcess::Start(
        OMNIHUB_TIMELINE_BINARY,
        {absl::StrCat("--listen=127.0.0.1:", hub_port_),
         absl::StrCat("--metrics_listen=127.0.0.1:", *metrics_port),
         "--redis_address=" + redis_->address(), "--default_region=GB"},
        {}, directory_ + "/hub.log");
    ASSERT_TRUE(hub.ok()) << hub.status();
    hub_ = *std::move(hub);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", hub_port_),
                                       grpc::InsecureChannelCredentials());
    timeline_ = v1::TimelineService::NewStub(channel);
    customers_ = v1::CustomerService::NewStub(channel);

    // The shop's pages use the public key; its backend the secret one.
    const std::string server_keys = directory_ + "/server-write-keys";
    std::ofstream(server_keys) << "backend-key=shop\n";
    ASSERT_NO_FATAL_FAILURE(
        StartAdapter(OMNIHUB_WEB_ADAPTER_BINARY, "web",
                     {"--write_keys=site-key=shop",
                      "--server_write_keys_file=" + server_keys},
                     &web_port_));
    ASSERT_NO_FATAL_FAILURE(
        StartAdapter(OMNIHUB_PHONE_ADAPTER_BINARY, "phone", {}, &phone_port_));
    ASSERT_NO_FATAL_FAILURE(
        StartAdapter(OMNIHUB_VISIT_ADAPTER_BINARY, "visit", {}, &visit_port_));
  }

  void StartAdapter(const std::string& binary, const std::string& name,
                    std::vector<std::string> flags, int* port) {
    auto free_port = PickFreeLoopbackPort();
    ASSERT_TRUE(free_port.ok());
    *port = *free_port;
    flags.insert(flags.end(),
                 {absl::StrCat("--listen=127.0.0.1:", *port),
                  // /healthz beside the routes, on the port known here.
                  "--admin_listen=intake",
                  absl::StrCat("--hub_address=127.0.0.1:", hub_port_),
                  absl::StrCat("--spool_dir=", directory_, "/spool-", name),
                  "--default_region=GB"});
    auto adapter = ChildProcess::Start(
        binary, flags, {}, absl::StrCat(directory_, "/", name, ".log"));
    ASSERT_TRUE(adapter.ok()) << adapter.status();
    adapters_.push_back(*std::move(adapter));
    httplib::Client http("127.0.0.1", *port);
    for (int i = 0; i < 100; ++i) {
      if (auto result = http.Get("/healthz"); result && result->status == 200) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << name << " adapter never answered /healthz";
  }

  void PostAccepted(int port, const std::string& path, const json& body,
                    httplib::Headers headers = {}) {
    httplib::Client http("127.0.0.1", port);
    http.set_read_timeout(10, 0);
    auto result =
        http.Post(path.c_str(), headers, body.dump(), "application/json");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 202) << result->body;
  }

  static v1::CustomerSelector ByIdentity(v1::IdentityKind kind,
                                         const std::string& value) {
    v1::CustomerSelector selector;
    selector.mutable_identity()->set_kind(kind);
    selector.mutable_identity()->set_value(value);
    return selector;
  }

  std::optional<v1::GetCustomerResponse> Customer(
      v1::CustomerSelector selector) {
    v1::GetCustomerRequest request;
    *request.mutable_customer() = std::move(selector);
    v1::GetCustomerResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    if (!timeline_->GetCustomer(&context, request, &response).ok()) {
      return std::nullopt;
    }
    return response;
  }

  // The customer with this identity once it has `interactions` (or after
  // 30 s: whatever it has then).
  std::optional<v1::CustomerView> WaitForCustomer(v1::IdentityKind kind,
                                                  const std::string& value,
                                                  int interactions) {
    std::optional<v1::GetCustomerResponse> found;
    for (int attempt = 0; attempt < 300; ++attempt) {
      found = Customer(ByIdentity(kind, value));
      if (found && found->customer().total_interactions() >= interactions) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (!found) return std::nullopt;
    return found->customer();
  }

  std::string directory_;
  std::unique_ptr<RedisServer> redis_;
  int hub_port_ = 0;
  int web_port_ = 0;
  int phone_port_ = 0;
  int visit_port_ = 0;
  std::unique_ptr<ChildProcess> hub_;
  std::vector<std::unique_ptr<ChildProcess>> adapters_;
  std::unique_ptr<v1::TimelineService::Stub> timeline_;
  std::unique_ptr<v1::CustomerService::Stub> customers_;
};

TEST_F(CrossChannelTest, OnePersonAcrossWebPhoneAndStoreIsOneCustomer) {
  const httplib::Headers write_key = {{"X-Write-Key", "site-key"}};
  // 1. An anonymous visitor looks at boots.
  ASSERT_NO_FATAL_FAILURE(PostAccepted(
      web_port_, "/v1/page",
      {{"messageId", "page-1"},
       {"anonymousId", "anon-77"},
       {"timestamp", "2026-11-20T10:00:00Z"},
       {"context", {{"page", {{"url", "https://shop.example/boots"}}}}}},
      write_key));
  std::optional<v1::CustomerView> visitor =
      WaitForCustomer(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-77", 1);
  ASSERT_TRUE(visitor.has_value());

  // 2. Someone calls from a mobile the hub has never seen.
  ASSERT_NO_FATAL_FAILURE(PostAccepted(phone_port_, "/v1/calls",
                                       {{"call_id", "call-1"},
                                        {"direction", "inbound"},
                                        {"caller", "07700 900123"},
                                        {"callee", "020 7946 0000"},
                                        {"started_at", "2026-11-20T11:00:00Z"},
                                        {"answered_at", "2026-11-20T11:00:10Z"},
                                        {"ended_at", "2026-11-20T11:05:00Z"},
                                        {"disposition", "answered"},
                                        {"agent", "maria"}}));
  std::optional<v1::CustomerView> caller =
      WaitForCustomer(v1::IDENTITY_KIND_PHONE, "+447700900123", 1);
  ASSERT_TRUE(caller.has_value());
  ASSERT_NE(caller->customer_id(), visitor->customer_id());

  // 3. The visitor logs in; their profile has that mobile number, which the
  // shop's backend (its secret key: a browser's word would be a claim that
  // never merges two customers) reports.
  ASSERT_NO_FATAL_FAILURE(PostAccepted(
      web_port_, "/v1/identify",
      {{"messageId", "identify-1"},
       {"anonymousId", "anon-77"},
       {"userId", "user-42"},
       {"timestamp", "2026-11-20T12:00:00Z"},
       {"traits", {{"email", "Ann@Example.com"}, {"phone", "07700 900123"}}}},
      {{"X-Write-Key", "backend-key"}}));
  std::optional<v1::CustomerView> merged =
      WaitForCustomer(v1::IDENTITY_KIND_LOGIN_ID, "user-42", 3);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(merged->total_interactions(), 3);

  // 4. They walk into a store and show their loyalty card.
  ASSERT_NO_FATAL_FAILURE(PostAccepted(
      visit_port_, "/v1/visits",
      {{"visit_id", "v-1"},
       {"store_id", "london-01"},
       {"checked_in_at", "2026-11-20T15:00:00Z"},
       {"purpose", "purchase"},
       {"purchase_amount", "129.90"},
       {"currency", "GBP"},
       {"identities",
        {{"loyalty_card", "L-77"}, {"email", "ann@example.com"}}}}));
  std::optional<v1::CustomerView> one =
      WaitForCustomer(v1::IDENTITY_KIND_LOYALTY_CARD, "L-77", 4);
  ASSERT_TRUE(one.has_value());

  // Whichever identity is asked, it is the same customer with the whole
  // history: the older of the two customers survived.
  const std::string survivor =
      std::min(visitor->customer_id(), caller->customer_id());
  const std::string merged_away =
      std::max(visitor->customer_id(), caller->customer_id());
  EXPECT_EQ(one->customer_id(), survivor);
  EXPECT_EQ(one->total_interactions(), 4);
  EXPECT_EQ(one->channels_size(), 3);
  ASSERT_EQ(one->total_value_size(), 1);
  EXPECT_EQ(one->total_value(0).amount_micros(), 129'900'000);
  std::set<std::string> identities;
  for (const v1::Identity& identity : one->identities()) {
    identities.insert(identity.value());
  }
  EXPECT_EQ(identities,
            (std::set<std::string>{"anon-77", "+447700900123", "user-42",
                                   "ann@example.com", "L-77"}));
  for (const auto& [kind, value] :
       std::vector<std::pair<v1::IdentityKind, std::string>>{
           {v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-77"},
           {v1::IDENTITY_KIND_PHONE, "+447700900123"},
           {v1::IDENTITY_KIND_LOGIN_ID, "user-42"},
           {v1::IDENTITY_KIND_EMAIL, "ann@example.com"}}) {
    std::optional<v1::GetCustomerResponse> found =
        Customer(ByIdentity(kind, value));
    ASSERT_TRUE(found.has_value()) << value;
    EXPECT_EQ(found->customer().customer_id(), survivor) << value;
  }
  v1::CustomerSelector by_old_id;
  by_old_id.set_customer_id(merged_away);
  std::optional<v1::GetCustomerResponse> via_alias = Customer(by_old_id);
  ASSERT_TRUE(via_alias.has_value());
  EXPECT_EQ(via_alias->customer().customer_id(), survivor);
  EXPECT_EQ(via_alias->merged_from(), merged_away);

  // The timeline, newest first, holds every contact once.
  v1::GetTimelineRequest request;
  *request.mutable_customer() =
      ByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  v1::GetTimelineResponse timeline;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(timeline_->GetTimeline(&context, request, &timeline).ok());
  }
  ASSERT_EQ(timeline.events_size(), 4);
  EXPECT_EQ(timeline.events(0).channel(), v1::CHANNEL_IN_PERSON);
  EXPECT_EQ(timeline.events(1).kind(), v1::INTERACTION_KIND_IDENTIFIED);
  EXPECT_EQ(timeline.events(2).channel(), v1::CHANNEL_PHONE);
  EXPECT_EQ(timeline.events(3).kind(), v1::INTERACTION_KIND_PAGE_VIEW);

  // The merge is on record: which event proved it, and what each side had.
  v1::GetMergeLogRequest log_request;
  *log_request.mutable_customer() =
      ByIdentity(v1::IDENTITY_KIND_LOYALTY_CARD, "L-77");
  v1::GetMergeLogResponse log;
  grpc::ClientContext context;
  ASSERT_TRUE(customers_->GetMergeLog(&context, log_request, &log).ok());
  ASSERT_EQ(log.records_size(), 1);
  EXPECT_EQ(log.records(0).outcome(), v1::MergeRecord::OUTCOME_MERGED);
  EXPECT_EQ(log.records(0).survivor_id(), survivor);
  EXPECT_EQ(log.records(0).merged_id(), merged_away);
  EXPECT_EQ(log.records(0).event_id(), timeline.events(1).event_id());
  EXPECT_EQ(log.records(0).survivor().total_interactions(), 1);
  EXPECT_EQ(log.records(0).merged().total_interactions(), 1);
}

}  // namespace
}  // namespace omnihub::testing

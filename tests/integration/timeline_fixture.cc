#include "tests/integration/timeline_fixture.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/blocking_calls.h"
#include "services/timeline/stored_event.h"

namespace omnihub::testing {

void TimelineFixture::SetUp() {
  registry_ = std::make_shared<prometheus::Registry>();
  redis::RedisClientOptions options;
  options.command_timeout = absl::Seconds(5);
  const char* on_cluster = std::getenv("OMNIHUB_TEST_REDIS_CLUSTER");
  if (on_cluster != nullptr && std::string(on_cluster) == "1") {
    absl::StatusOr<std::unique_ptr<RedisCluster>> cluster =
        RedisCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    redis_cluster_ = *std::move(cluster);
    redis_cluster::ClusterOptions cluster_options;
    cluster_options.seeds = redis_cluster_->Seeds();
    cluster_options.node = options;
    auto client =
        redis_cluster::ClusterRedisClient::Create(cluster_options, nullptr);
    ASSERT_TRUE(client.ok()) << client.status();
    cluster_client_ = *std::move(client);
    store_redis_ = cluster_client_.get();
  } else {
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    redis_server_ = *std::move(server);
    options.host = redis_server_->host();
    options.port = redis_server_->port();
    auto client = redis::PipelinedRedisClient::Create(options, nullptr);
    ASSERT_TRUE(client.ok()) << client.status();
    redis_ = *std::move(client);
    store_redis_ = redis_.get();
  }
  for (int i = 0; i < 100 && !store_redis_->connected(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(store_redis_->connected());

  normalizer_ = std::make_unique<identity::IdentityNormalizer>(
      identity::IdentityNormalizerOptions{.default_region = "GB"});
  validator_ =
      std::make_unique<timeline::EventValidator>(limits_, normalizer_.get());
  metrics_ = std::make_unique<timeline::TimelineMetrics>(*registry_);
  identity_metrics_ = std::make_unique<timeline::IdentityMetrics>(*registry_);
  store_ = std::make_unique<timeline::TimelineStore>(
      store_redis_, store_options_, identity_metrics_.get());
  service_ = std::make_unique<timeline::TimelineService>(
      store_.get(), validator_.get(), normalizer_.get(), metrics_.get(),
      /*replicas=*/nullptr, caller_may_verify_);
  customer_service_ = std::make_unique<timeline::CustomerService>(
      store_.get(), validator_.get(), normalizer_.get(),
      timeline::CustomerServiceLimits{});
  insights_metrics_ = std::make_unique<insights::InsightsMetrics>(*registry_);
  engine_ = std::make_unique<insights::InsightsEngine>(
      &store_->context(), insights_options_, insights_metrics_.get());
  observers_.Add(&engine_->keeper());
  segment_metrics_ = std::make_unique<segments::SegmentMetrics>(*registry_);
  segment_engine_ = std::make_unique<segments::SegmentEngine>(
      &store_->context(), engine_.get(), segment_options_,
      segment_metrics_.get());
  observers_.Add(&segment_engine_->keeper());
  observers_.Add(&engine_->ranking());
  cross_sell_metrics_ =
      std::make_unique<recommendations::CrossSellMetrics>(*registry_);
  cross_sell_ = std::make_unique<recommendations::CrossSellKeeper>(
      &store_->context(), cross_sell_options_, cross_sell_metrics_.get());
  observers_.Add(cross_sell_.get());
  recommendation_service_ =
      std::make_unique<recommendations::RecommendationService>(
          cross_sell_.get(), store_.get(), validator_.get());
  store_->SetObserver(&observers_);
  insights_service_ = std::make_unique<insights::InsightsService>(
      engine_.get(), store_.get(), validator_.get(), insights_limits_,
      segment_engine_.get());
  segment_service_ = std::make_unique<segments::SegmentService>(
      segment_engine_.get(), store_.get(), validator_.get());

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(service_.get());
  builder.RegisterService(customer_service_.get());
  builder.RegisterService(insights_service_.get());
  builder.RegisterService(segment_service_.get());
  builder.RegisterService(recommendation_service_.get());
  server_ = builder.BuildAndStart();
  ASSERT_NE(server_, nullptr);
  ASSERT_NE(port, 0);
  channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                 grpc::InsecureChannelCredentials());
  stub_ = v1::TimelineService::NewStub(channel_);
  customers_ = v1::CustomerService::NewStub(channel_);
  insights_ = v1::InsightsService::NewStub(channel_);
  segments_ = v1::SegmentService::NewStub(channel_);
  recommendations_ = v1::RecommendationService::NewStub(channel_);
}

void TimelineFixture::TearDown() {
  if (server_) server_->Shutdown();
  // The engine's and the store's worker threads finish before the client
  // they use goes.
  segment_service_.reset();
  segment_engine_.reset();
  engine_.reset();
  cross_sell_.reset();
  store_.reset();
  if (redis_) redis_->Shutdown();
  if (cluster_client_) cluster_client_->Shutdown();
}

v1::Identity TimelineFixture::Identity(v1::IdentityKind kind,
                                       const std::string& value) {
  v1::Identity identity;
  identity.set_kind(kind);
  identity.set_value(value);
  return identity;
}

v1::InteractionEvent TimelineFixture::Event(const std::string& event_id,
                                            v1::IdentityKind kind,
                                            const std::string& value,
                                            int64_t occurred_micros,
                                            v1::Channel channel) {
  v1::InteractionEvent event;
  event.set_event_id(event_id);
  event.set_channel(channel);
  switch (channel) {
    case v1::CHANNEL_WEB:
      event.set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
      event.mutable_web()->set_url("https://shop.example/" + event_id);
      break;
    case v1::CHANNEL_IN_PERSON:
      event.set_kind(v1::INTERACTION_KIND_STORE_VISIT);
      event.mutable_in_person()->set_location_id("store-7");
      break;
    default:
      event.set_kind(v1::INTERACTION_KIND_INBOUND_CALL);
      event.mutable_call()->set_call_id(event_id);
      break;
  }
  *event.mutable_occurred_at() = timeline::FromMicros(occurred_micros);
  *event.add_identities() = Identity(kind, value);
  event.set_source("integration-test");
  return event;
}

grpc::Status TimelineFixture::Ingest(std::vector<v1::InteractionEvent> events,
                                     v1::IngestResponse* response) {
  v1::IngestRequest request;
  for (auto& event : events) *request.add_events() = std::move(event);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  return stub_->Ingest(&context, request, response);
}

v1::IngestResult TimelineFixture::IngestOne(v1::InteractionEvent event) {
  v1::IngestResponse response = IngestOk({std::move(event)});
  EXPECT_EQ(response.results_size(), 1);
  return response.results_size() == 1 ? response.results(0)
                                      : v1::IngestResult();
}

std::string TimelineFixture::DumpRedis(const std::string& skip) {
  std::string dump;
  for (const std::string& key : AllKeys()) {
    if (!skip.empty() && absl::StrContains(key, skip)) continue;
    absl::StatusOr<redis::Reply> type = RedisCommand({"TYPE", key});
    EXPECT_TRUE(type.ok());
    if (!type.ok()) continue;
    std::vector<std::string> read;
    if (type->str == "string") read = {"GET", key};
    if (type->str == "hash") read = {"HGETALL", key};
    if (type->str == "set") read = {"SMEMBERS", key};
    if (type->str == "zset") read = {"ZRANGE", key, "0", "-1"};
    absl::StrAppend(&dump, "\n", key, " =");
    if (read.empty()) continue;
    absl::StatusOr<redis::Reply> value = RedisCommand(read);
    EXPECT_TRUE(value.ok());
    if (!value.ok()) continue;
    absl::StrAppend(&dump, " ", value->str);
    for (const redis::Reply& element : value->elements) {
      absl::StrAppend(&dump, " ", element.str);
    }
  }
  return dump;
}

v1::CustomerSelector TimelineFixture::ById(const std::string& customer_id) {
  v1::CustomerSelector selector;
  selector.set_customer_id(customer_id);
  return selector;
}

v1::CustomerSelector TimelineFixture::ByIdentity(v1::IdentityKind kind,
                                                 const std::string& value) {
  v1::CustomerSelector selector;
  *selector.mutable_identity() = Identity(kind, value);
  return selector;
}

grpc::Status TimelineFixture::Forget(v1::CustomerSelector selector,
                                     v1::ForgetCustomerResponse* response,
                                     const std::string& requested_by) {
  v1::ForgetCustomerRequest request;
  *request.mutable_customer() = std::move(selector);
  request.set_requested_by(requested_by);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  return customers_->ForgetCustomer(&context, request, response);
}

v1::ForgetCustomerResponse TimelineFixture::ForgetOk(
    v1::CustomerSelector selector, const std::string& requested_by) {
  v1::ForgetCustomerResponse response;
  grpc::Status status = Forget(std::move(selector), &response, requested_by);
  EXPECT_TRUE(status.ok()) << status.error_code() << ": "
                           << status.error_message();
  return response;
}

v1::IngestResponse TimelineFixture::IngestOk(
    std::vector<v1::InteractionEvent> events) {
  v1::IngestResponse response;
  grpc::Status status = Ingest(std::move(events), &response);
  EXPECT_TRUE(status.ok()) << status.error_code() << ": "
                           << status.error_message();
  return response;
}

v1::CustomerView TimelineFixture::CustomerByIdentity(v1::IdentityKind kind,
                                                     const std::string& value) {
  v1::GetCustomerRequest request;
  *request.mutable_customer()->mutable_identity() = Identity(kind, value);
  v1::GetCustomerResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->GetCustomer(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.customer();
}

std::vector<v1::InteractionEvent> TimelineFixture::WholeTimeline(
    v1::GetTimelineRequest request, int page_size) {
  std::vector<v1::InteractionEvent> events;
  request.set_page_size(page_size);
  for (int page = 0; page < 10000; ++page) {
    v1::GetTimelineResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->GetTimeline(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    EXPECT_LE(response.events_size(), page_size);
    for (const auto& event : response.events()) events.push_back(event);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return events;
}

std::vector<std::string> TimelineFixture::AllKeys() {
  std::vector<absl::StatusOr<redis::Reply>> replies;
  if (cluster_client_) {
    for (redis::RedisClient* master : cluster_client_->Masters()) {
      replies.push_back(redis::CallAndWait(*master, {"KEYS", "*"}));
    }
  } else {
    replies.push_back(redis_server_->Command({"KEYS", "*"}));
  }
  std::vector<std::string> keys;
  for (const auto& reply : replies) {
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) continue;
    for (const auto& element : reply->elements) keys.push_back(element.str);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

absl::StatusOr<redis::Reply> TimelineFixture::RedisCommand(
    std::vector<std::string> argv) {
  if (cluster_client_) return redis::CallAndWait(*cluster_client_, argv);
  return redis_server_->Command(argv);
}

}  // namespace omnihub::testing

// A timeline service, with its customer and insights services, wired to a
// real redis-server and served over a real gRPC socket on a free loopback
// port, for integration tests. The insights engine's background thread is
// not started: tests run its ticks themselves (engine_->Tick()).
//
// With OMNIHUB_TEST_REDIS_CLUSTER=1 in the environment the store talks to a
// real 3-master, 3-replica Redis Cluster through ClusterRedisClient instead
// (redis_server_ and redis_ are then null: tests that reach into the one
// Redis cannot run so; tests/integration/CMakeLists.txt picks those that can).
#ifndef OMNIHUB_TESTS_INTEGRATION_TIMELINE_FIXTURE_H_
#define OMNIHUB_TESTS_INTEGRATION_TIMELINE_FIXTURE_H_

#include <memory>
#include <string>

#include "common/event_validation/event_validator.h"
#include "common/identity/identity_normalizer.h"
#include "common/redis/pipelined_redis_client.h"
#include "common/redis_cluster/cluster_redis_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "omnihub/v1/customer.grpc.pb.h"
#include "omnihub/v1/insights.grpc.pb.h"
#include "omnihub/v1/recommendations.grpc.pb.h"
#include "omnihub/v1/segments.grpc.pb.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "prometheus/registry.h"
#include "services/insights/insights_service.h"
#include "services/insights/store/insights_engine.h"
#include "services/insights/store/insights_metrics.h"
#include "services/recommendations/cross_sell_keeper.h"
#include "services/recommendations/recommendation_service.h"
#include "services/segments/segment_service.h"
#include "services/segments/store/segment_engine.h"
#include "services/segments/store/segment_metrics.h"
#include "services/timeline/customer_observer.h"
#include "services/timeline/customer_service.h"
#include "services/timeline/identity_metrics.h"
#include "services/timeline/timeline_metrics.h"
#include "services/timeline/timeline_service.h"
#include "services/timeline/timeline_store.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {

class TimelineFixture : public ::testing::Test {
 protected:
  // The population pass (RFM, rankings) runs only when a test asks
  // (engine_->RunPopulationPass()), not from the ticks tests run.
  TimelineFixture() { insights_options_.rfm_interval = absl::ZeroDuration(); }

  void SetUp() override;
  void TearDown() override;

  // Override before SetUp runs (in the test's constructor) to change them.
  timeline::TimelineStoreOptions store_options_;
  timeline::IngestLimits limits_;
  insights::InsightsOptions insights_options_;
  segments::SegmentOptions segment_options_;
  insights::InsightsServiceLimits insights_limits_;
  recommendations::CrossSellOptions cross_sell_options_;
  // Null: every caller may vouch for identities.
  timeline::CallerMayVerify caller_may_verify_;

  // An event of `channel` for the identity (kind, value), at `occurred_micros`.
  static v1::InteractionEvent Event(const std::string& event_id,
                                    v1::IdentityKind kind,
                                    const std::string& value,
                                    int64_t occurred_micros,
                                    v1::Channel channel = v1::CHANNEL_PHONE);
  static v1::Identity Identity(v1::IdentityKind kind, const std::string& value);
  static v1::CustomerSelector ById(const std::string& customer_id);
  static v1::CustomerSelector ByIdentity(v1::IdentityKind kind,
                                         const std::string& value);

  // Sends the events in one Ingest call; fails the test on a non-OK status.
  v1::IngestResponse IngestOk(std::vector<v1::InteractionEvent> events);
  // One event's result; fails the test on a non-OK call.
  v1::IngestResult IngestOne(v1::InteractionEvent event);
  grpc::Status Ingest(std::vector<v1::InteractionEvent> events,
                      v1::IngestResponse* response);
  // Erases the customer `selector` picks (ForgetCustomer), as asked by
  // `requested_by`.
  grpc::Status Forget(v1::CustomerSelector selector,
                      v1::ForgetCustomerResponse* response,
                      const std::string& requested_by = "test");
  // The same; fails the test on a non-OK status.
  v1::ForgetCustomerResponse ForgetOk(v1::CustomerSelector selector,
                                      const std::string& requested_by = "test");
  v1::CustomerView CustomerByIdentity(v1::IdentityKind kind,
                                      const std::string& value);
  // Every page of the timeline, with `page_size`, newest first.
  std::vector<v1::InteractionEvent> WholeTimeline(
      v1::GetTimelineRequest request, int page_size);
  // Keys currently in Redis (the test's own server, or every master of the
  // cluster), sorted.
  std::vector<std::string> AllKeys();
  // Every key and everything every key holds, as text to search in or
  // compare; keys containing `skip` (when given) left out.
  std::string DumpRedis(const std::string& skip = "");
  // One command to the Redis the store uses, for checks reaching into it: on
  // a cluster it goes to the master of its key's slot.
  absl::StatusOr<redis::Reply> RedisCommand(std::vector<std::string> argv);

  std::unique_ptr<RedisServer> redis_server_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<redis::PipelinedRedisClient> redis_;
  std::unique_ptr<RedisCluster> redis_cluster_;
  std::unique_ptr<redis_cluster::ClusterRedisClient> cluster_client_;
  redis::RedisClient* store_redis_ = nullptr;  // redis_ or cluster_client_
  std::unique_ptr<identity::IdentityNormalizer> normalizer_;
  std::unique_ptr<timeline::EventValidator> validator_;
  std::unique_ptr<timeline::TimelineMetrics> metrics_;
  std::unique_ptr<timeline::IdentityMetrics> identity_metrics_;
  std::unique_ptr<timeline::TimelineStore> store_;
  std::unique_ptr<timeline::TimelineService> service_;
  std::unique_ptr<timeline::CustomerService> customer_service_;
  std::unique_ptr<insights::InsightsMetrics> insights_metrics_;
  std::unique_ptr<insights::InsightsEngine> engine_;
  std::unique_ptr<segments::SegmentMetrics> segment_metrics_;
  std::unique_ptr<segments::SegmentEngine> segment_engine_;
  timeline::CustomerObserverList observers_;
  std::unique_ptr<insights::InsightsService> insights_service_;
  std::unique_ptr<segments::SegmentService> segment_service_;
  std::unique_ptr<recommendations::CrossSellMetrics> cross_sell_metrics_;
  std::unique_ptr<recommendations::CrossSellKeeper> cross_sell_;
  std::unique_ptr<recommendations::RecommendationService>
      recommendation_service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TimelineService::Stub> stub_;
  std::unique_ptr<v1::CustomerService::Stub> customers_;
  std::unique_ptr<v1::InsightsService::Stub> insights_;
  std::unique_ptr<v1::SegmentService::Stub> segments_;
  std::unique_ptr<v1::RecommendationService::Stub> recommendations_;
};

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_INTEGRATION_TIMELINE_FIXTURE_H_

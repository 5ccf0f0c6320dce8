// Runs a real gRPC server (the standard health service) with the metrics
// interceptor installed, calls it through a generic stub and reads the
// recorded series back from the registry.
#include "common/metrics/grpc_server_metrics.h"

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace omnihub::metrics {
namespace {

constexpr char kHealthService[] = "grpc.health.v1.Health";
constexpr char kCheck[] = "/grpc.health.v1.Health/Check";
constexpr char kWatch[] = "/grpc.health.v1.Health/Watch";

// A grpc.health.v1.HealthCheckRequest, encoded by hand: field 1 (service) is
// a length-delimited string. Avoids generating the health proto here.
grpc::ByteBuffer HealthCheckRequest(const std::string& service) {
  std::string bytes;
  if (!service.empty()) {
    bytes.push_back('\x0a');
    bytes.push_back(static_cast<char>(service.size()));
    bytes += service;
  }
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// The series of `family` whose labels include all of `want`, if any.
std::optional<prometheus::ClientMetric> FindSeries(
    const std::vector<prometheus::MetricFamily>& families,
    const std::string& family, const prometheus::Labels& want) {
  for (const prometheus::MetricFamily& f : families) {
    if (f.name != family) continue;
    for (const prometheus::ClientMetric& metric : f.metric) {
      int matched = 0;
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        auto it = want.find(label.name);
        if (it != want.end() && it->second == label.value) ++matched;
      }
      if (matched == static_cast<int>(want.size())) return metric;
    }
  }
  return std::nullopt;
}

// Polls `condition` for up to five seconds: some bookkeeping (the interceptor's
// destruction) happens after the client has its status.
template <typename Condition>
bool WaitFor(Condition condition) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

class GrpcServerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    // Reflection is a sync service: with it the server also takes the sync
    // path, as the timeline service does.
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        creators;
    creators.push_back(MakeGrpcServerMetricsInterceptorFactory(&metrics_));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
    stub_ = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                            grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  grpc::Status Call(const std::string& method,
                    const grpc::ByteBuffer& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub_->UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                     [&done](grpc::Status status) { done.set_value(status); });
    return done.get_future().get();
  }

  double Handled(const std::string& service, const std::string& method,
                 const std::string& code) {
    const std::optional<prometheus::ClientMetric> series =
        FindSeries(registry_.Collect(), "omnihub_grpc_server_handled_total",
                   {{"grpc_service", service},
                    {"grpc_method", method},
                    {"grpc_code", code}});
    return !series.has_value() ? -1 : series->counter.value;
  }

  // Summed over every grpc_code.
  double HandledByMethod(const std::string& service,
                         const std::string& method) {
    double total = 0;
    for (const prometheus::MetricFamily& family : registry_.Collect()) {
      if (family.name != "omnihub_grpc_server_handled_total") continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        int matched = 0;
        for (const prometheus::ClientMetric::Label& label : metric.label) {
          if ((label.name == "grpc_service" && label.value == service) ||
              (label.name == "grpc_method" && label.value == method)) {
            ++matched;
          }
        }
        if (matched == 2) total += metric.counter.value;
      }
    }
    return total;
  }

  double HandlingCount(const std::string& service, const std::string& method,
                       const std::string& code) {
    const std::optional<prometheus::ClientMetric> series =
        FindSeries(registry_.Collect(), "omnihub_grpc_server_handling_seconds",
                   {{"grpc_service", service},
                    {"grpc_method", method},
                    {"grpc_code", code}});
    return !series.has_value()
               ? -1
               : static_cast<double>(series->histogram.sample_count);
  }

  double InFlight() {
    const std::optional<prometheus::ClientMetric> series = FindSeries(
        registry_.Collect(), "omnihub_grpc_server_in_flight_rpcs", {});
    return !series.has_value() ? -1 : series->gauge.value;
  }

  prometheus::Registry registry_;
  GrpcServerMetrics metrics_{registry_};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

TEST_F(GrpcServerMetricsTest, CountsEachMethodAndCode) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Call(kCheck, HealthCheckRequest("")).ok());
  }
  const grpc::Status not_found = Call(kCheck, HealthCheckRequest("nope"));
  EXPECT_EQ(not_found.error_code(), grpc::StatusCode::NOT_FOUND);

  EXPECT_EQ(Handled(kHealthService, "Check", "OK"), 3);
  EXPECT_EQ(HandlingCount(kHealthService, "Check", "OK"), 3);
  EXPECT_EQ(Handled(kHealthService, "Check", "NOT_FOUND"), 1);
  EXPECT_EQ(HandlingCount(kHealthService, "Check", "NOT_FOUND"), 1);
  EXPECT_EQ(Handled(kHealthService, "Check", "UNIMPLEMENTED"), -1)
      << "no series for a code that never happened";
}

TEST_F(GrpcServerMetricsTest, UnknownMethodsShareOneSeries) {
  EXPECT_EQ(Call("/omnihub.test.Nothing/Missing", HealthCheckRequest(""))
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Call("/scanner/probe-1234", HealthCheckRequest("")).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);

  EXPECT_EQ(Handled("unknown", "unknown", "UNIMPLEMENTED"), 2);
  EXPECT_EQ(HandlingCount("unknown", "unknown", "UNIMPLEMENTED"), 2);
  EXPECT_EQ(Handled("omnihub.test.Nothing", "Missing", "UNIMPLEMENTED"), -1);
}

TEST_F(GrpcServerMetricsTest, StreamingCallIsInFlightUntilCancelled) {
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream =
      stub_->PrepareCall(&context, kWatch, &queue);
  auto await = [&queue](const char* step) {
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(queue.Next(&tag, &ok)) << step;
    EXPECT_TRUE(ok) << step;
  };
  stream->StartCall(nullptr);
  await("start");
  stream->Write(HealthCheckRequest(""), nullptr);
  await("write");
  stream->WritesDone(nullptr);
  await("writes done");
  grpc::ByteBuffer first_status;
  stream->Read(&first_status, nullptr);
  await("read");
  EXPECT_TRUE(WaitFor([&] { return InFlight() == 1; })) << InFlight();

  context.TryCancel();
  grpc::Status status;
  stream->Finish(&status, nullptr);
  void* tag = nullptr;
  bool ok = false;
  ASSERT_TRUE(queue.Next(&tag, &ok));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return InFlight() == 0; })) << InFlight();
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  // Recorded once, under the code the handler finished with (the health
  // service says UNKNOWN when its watcher is cancelled).
  EXPECT_EQ(HandledByMethod(kHealthService, "Watch"), 1);
}

TEST_F(GrpcServerMetricsTest, NothingInFlightOnceCallsAreDone) {
  EXPECT_EQ(InFlight(), 0);
  EXPECT_TRUE(Call(kCheck, HealthCheckRequest("")).ok());
  server_->Shutdown();
  server_->Wait();
  EXPECT_EQ(InFlight(), 0);
}

TEST(StatusCodeNameTest, CanonicalNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::INVALID_ARGUMENT),
            "INVALID_ARGUMENT");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED),
            "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(20)), "UNKNOWN");
}

}  // namespace
}  // namespace omnihub::metrics

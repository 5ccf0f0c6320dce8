#include "common/metrics/grpc_server_metrics.h"

#include <chrono>
#include <utility>

namespace omnihub::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Counts the RPC in flight for its lifetime (gRPC makes one per call and
// deletes it with the call) and records the status the server sends. A call
// that ends with no status sent (aborted before the handler finished) is
// recorded as CANCELLED.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcServerMetrics* metrics, const char* method)
      : metrics_(metrics),
        method_(method == nullptr ? "" : method),
        start_(std::chrono::steady_clock::now()) {
    metrics_->in_flight().Increment();
  }
  ~MetricsInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
    metrics_->in_flight().Decrement();
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    const std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start_;
    metrics_->Record(method_, code, elapsed.count());
    recorded_ = true;
  }

  GrpcServerMetrics* metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(GrpcServerMetrics* metrics)
      : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, info->method());
  }

 private:
  GrpcServerMetrics* metrics_;
};

constexpr absl::string_view kCodeNames[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

static_assert(std::size(kCodeNames) == 17);

// 100µs .. 10s, roughly 1-2.5-5 per decade.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const kBuckets =
      new prometheus::Histogram::BucketBoundaries{
          0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *kBuckets;
}

}  // namespace

absl::string_view StatusCodeName(grpc::StatusCode code) {
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(std::size(kCodeNames))) {
    return "UNKNOWN";
  }
  return kCodeNames[index];
}

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry)
    : handled_(&prometheus::BuildCounter()
                    .Name("omnihub_grpc_server_handled_total")
                    .Help("RPCs completed on the server, by service, method "
                          "and status code.")
                    .Register(registry)),
      seconds_(&prometheus::BuildHistogram()
                    .Name("omnihub_grpc_server_handling_seconds")
                    .Help("Time from an RPC's arrival to its status, by "
                          "service, method and status code.")
                    .Register(registry)),
      in_flight_(&prometheus::BuildGauge()
                      .Name("omnihub_grpc_server_in_flight_rpcs")
                      .Help("RPCs started on the server and not yet finished.")
                      .Register(registry)
                      .Add({})),
      unknown_method_{
          .service = "unknown", .method = "unknown", .by_code = {}} {}

void GrpcServerMetrics::Record(absl::string_view full_method,
                               grpc::StatusCode code, double seconds) {
  if (static_cast<int>(code) < 0 || static_cast<int>(code) >= kCodeCount) {
    code = grpc::StatusCode::UNKNOWN;
  }
  Series series;
  {
    absl::MutexLock lock(&mutex_);
    series = SeriesFor(MethodFor(full_method, code), code);
  }
  series.handled->Increment();
  series.seconds->Observe(seconds);
}

GrpcServerMetrics::MethodSeries& GrpcServerMetrics::MethodFor(
    absl::string_view full_method, grpc::StatusCode code) {
  auto it = methods_.find(full_method);
  if (it != methods_.end()) return it->second;
  // gRPC answers a path no service registered with UNIMPLEMENTED; such paths
  // are whatever clients send and must not each make a series.
  if (code == grpc::StatusCode::UNIMPLEMENTED ||
      methods_.size() >= kMaxMethods) {
    return unknown_method_;
  }
  // "/omnihub.v1.TimelineService/Ingest" -> service and method.
  absl::string_view name = full_method;
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  const size_t slash = name.rfind('/');
  MethodSeries series;
  if (slash == absl::string_view::npos) {
    series.method = std::string(name);
  } else {
    series.service = std::string(name.substr(0, slash));
    series.method = std::string(name.substr(slash + 1));
  }
  return methods_.try_emplace(std::string(full_method), std::move(series))
      .first->second;
}

GrpcServerMetrics::Series& GrpcServerMetrics::SeriesFor(MethodSeries& method,
                                                        grpc::StatusCode code) {
  Series& series = method.by_code[static_cast<int>(code)];
  if (series.handled == nullptr) {
    const prometheus::Labels labels = {
        {"grpc_service", method.service},
        {"grpc_method", method.method},
        {"grpc_code", std::string(StatusCodeName(code))}};
    series.handled = &handled_->Add(labels);
    series.seconds = &seconds_->Add(labels, LatencyBuckets());
  }
  return series;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcServerMetricsInterceptorFactory(GrpcServerMetrics* metrics) {
  return std::make_unique<MetricsInterceptorFactory>(metrics);
}

}  // namespace omnihub::metrics

#include "common/metrics/grpc_server_metrics.h"

#include "absl/time/clock.h"

namespace omnihub::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcServerMetrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(absl::Now()) {
    metrics_->in_flight().Increment();
  }
  ~MetricsInterceptor() override { metrics_->in_flight().Decrement(); }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->Record(method_, methods->GetSendStatus().error_code(),
                       absl::ToDoubleSeconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  GrpcServerMetrics* metrics_;
  std::string method_;
  absl::Time start_;
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

}  // namespace

absl::string_view StatusCodeName(grpc::StatusCode code) {
  static constexpr absl::string_view kNames[] = {
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
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(std::size(kNames))) {
    return "UNKNOWN";
  }
  return kNames[index];
}

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry) {
  handled_ = &prometheus::BuildCounter()
                  .Name("omnihub_grpc_server_handled_total")
                  .Help("RPCs completed, by service, method and status code.")
                  .Register(registry);
  seconds_ = &prometheus::BuildHistogram()
                  .Name("omnihub_grpc_server_handling_seconds")
                  .Help(
                      "Time from an RPC's start to its status, by service, "
                      "method and status code.")
                  .Register(registry);
  in_flight_ = &prometheus::BuildGauge()
                    .Name("omnihub_grpc_server_in_flight_rpcs")
                    .Help("RPCs started and not yet finished.")
                    .Register(registry)
                    .Add({});
}

void GrpcServerMetrics::Record(absl::string_view full_method,
                               grpc::StatusCode code, double seconds) {
  Children children;
  {
    absl::MutexLock lock(&mutex_);
    auto key = std::make_pair(std::string(full_method), static_cast<int>(code));
    auto it = children_.find(key);
    if (it == children_.end()) {
      // "/omnihub.v1.TimelineService/Ingest" -> service and method labels.
      absl::string_view name = full_method;
      if (!name.empty() && name[0] == '/') name.remove_prefix(1);
      const size_t slash = name.rfind('/');
      const std::string service(name.substr(0, slash));
      const std::string method(
          slash == absl::string_view::npos ? name : name.substr(slash + 1));
      const prometheus::Labels labels = {
          {"grpc_service", service},
          {"grpc_method", method},
          {"grpc_code", std::string(StatusCodeName(code))}};
      static const prometheus::Histogram::BucketBoundaries kBuckets = {
          0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
      it = children_
               .emplace(std::move(key),
                        Children{&handled_->Add(labels),
                                 &seconds_->Add(labels, kBuckets)})
               .first;
    }
    children = it->second;
  }
  children.handled->Increment();
  children.seconds->Observe(seconds);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcServerMetricsInterceptorFactory(GrpcServerMetrics* metrics) {
  return std::make_unique<MetricsInterceptorFactory>(metrics);
}

}  // namespace omnihub::metrics

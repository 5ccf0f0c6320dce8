// RPC count, latency and concurrency of a gRPC server, by service, method and
// status code, recorded by a server interceptor (unary and streaming calls,
// sync and callback services alike).
//
//   GrpcServerMetrics grpc_metrics(*registry);  // outlives the server
//   std::vector<std::unique_ptr<
//       grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(MakeGrpcServerMetricsInterceptorFactory(&grpc_metrics));
//   builder.experimental().SetInterceptorCreators(std::move(creators));
//
// Series: omnihub_grpc_server_handled_total and
// omnihub_grpc_server_handling_seconds (histogram), both labelled
// {grpc_service="omnihub.v1.TimelineService", grpc_method="Ingest",
// grpc_code="OK"}, and omnihub_grpc_server_in_flight_rpcs.
//
// The method path comes from the client, so its cardinality is bounded: an
// UNIMPLEMENTED call on a method never seen with another code, and any method
// past the first kMaxMethods, is recorded as grpc_service="unknown",
// grpc_method="unknown".
#ifndef OMNIHUB_COMMON_METRICS_GRPC_SERVER_METRICS_H_
#define OMNIHUB_COMMON_METRICS_GRPC_SERVER_METRICS_H_

#include <array>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace omnihub::metrics {

// The metric families of one gRPC server, built once. Thread-safe.
class GrpcServerMetrics {
 public:
  // Distinct method paths given their own series; later ones are "unknown".
  static constexpr size_t kMaxMethods = 256;

  explicit GrpcServerMetrics(prometheus::Registry& registry);
  GrpcServerMetrics(const GrpcServerMetrics&) = delete;
  GrpcServerMetrics& operator=(const GrpcServerMetrics&) = delete;

  // One finished RPC. `full_method` as gRPC names it:
  // "/omnihub.v1.TimelineService/Ingest".
  void Record(absl::string_view full_method, grpc::StatusCode code,
              double seconds);
  prometheus::Gauge& in_flight() { return *in_flight_; }

 private:
  static constexpr int kCodeCount = 17;  // OK .. UNAUTHENTICATED
  struct Series {
    prometheus::Counter* handled = nullptr;
    prometheus::Histogram* seconds = nullptr;
  };
  struct MethodSeries {
    std::string service;
    std::string method;
    std::array<Series, kCodeCount> by_code;  // made on first use
  };

  MethodSeries& MethodFor(absl::string_view full_method, grpc::StatusCode code)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  Series& SeriesFor(MethodSeries& method, grpc::StatusCode code)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* seconds_;
  prometheus::Gauge* in_flight_;
  absl::Mutex mutex_;
  // Children are looked up here, not by Family::Add per RPC (which is slow);
  // the lookup by string_view does not allocate.
  absl::flat_hash_map<std::string, MethodSeries> methods_
      ABSL_GUARDED_BY(mutex_);
  MethodSeries unknown_method_ ABSL_GUARDED_BY(mutex_);
};

// For ServerBuilder::experimental().SetInterceptorCreators(). `metrics` must
// outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcServerMetricsInterceptorFactory(GrpcServerMetrics* metrics);

// "INVALID_ARGUMENT" for grpc::StatusCode::INVALID_ARGUMENT, and so on;
// "UNKNOWN" for a value outside the canonical codes.
absl::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace omnihub::metrics

#endif  // OMNIHUB_COMMON_METRICS_GRPC_SERVER_METRICS_H_

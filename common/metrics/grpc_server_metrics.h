// RPC count and latency of a gRPC server, by service, method and status code,
// recorded by a server interceptor (works for unary and streaming calls, sync
// and callback services alike).
//
//   GrpcServerMetrics metrics(*registry);
//   std::vector<std::unique_ptr<
//       grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(MakeGrpcServerMetricsInterceptorFactory(&metrics));
//   builder.experimental().SetInterceptorCreators(std::move(creators));
#ifndef OMNIHUB_COMMON_METRICS_GRPC_SERVER_METRICS_H_
#define OMNIHUB_COMMON_METRICS_GRPC_SERVER_METRICS_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace omnihub::metrics {

class GrpcServerMetrics {
 public:
  explicit GrpcServerMetrics(prometheus::Registry& registry);

  // `full_method` as gRPC names it: "/omnihub.v1.TimelineService/Ingest".
  void Record(absl::string_view full_method, grpc::StatusCode code,
              double seconds);
  prometheus::Gauge& in_flight() { return *in_flight_; }

 private:
  struct Children {
    prometheus::Counter* handled;
    prometheus::Histogram* seconds;
  };
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* seconds_;
  prometheus::Gauge* in_flight_;
  absl::Mutex mutex_;
  // Made on first use of a (method, code) pair and kept: Family::Add per RPC
  // would be slow.
  absl::flat_hash_map<std::pair<std::string, int>, Children> children_
      ABSL_GUARDED_BY(mutex_);
};

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcServerMetricsInterceptorFactory(GrpcServerMetrics* metrics);

// "INVALID_ARGUMENT" for grpc::StatusCode::INVALID_ARGUMENT, and so on.
absl::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace omnihub::metrics

#endif  // OMNIHUB_COMMON_METRICS_GRPC_SERVER_METRICS_H_

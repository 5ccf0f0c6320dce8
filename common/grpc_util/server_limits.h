// The bounds of a gRPC server, applied to its builder in one place: most
// concurrent calls per connection, memory for calls in flight, and the
// retry hint sent with every UNAVAILABLE answer.
//
//   grpc::ServerBuilder builder;
//   ApplyServerLimits({.max_concurrent_streams = 256}, builder, interceptors);
#ifndef OMNIHUB_COMMON_GRPC_UTIL_SERVER_LIMITS_H_
#define OMNIHUB_COMMON_GRPC_UTIL_SERVER_LIMITS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"

namespace omnihub::grpc_util {

// The trailer of gRPC's retry design (gRFC A6) that tells a client how long
// to wait before sending again; gRPC clients with a retry policy honour it.
inline constexpr char kRetryPushbackTrailer[] = "grpc-retry-pushback-ms";

struct ServerLimits {
  // Calls (HTTP/2 streams) at once on one connection; the client queues
  // the rest until one ends. 0: gRPC's default (no limit).
  int max_concurrent_streams = 0;
  // Bytes gRPC may use for calls in flight (buffers, messages); past it it
  // refuses new work. 0: no quota of our own.
  int64_t memory_quota_bytes = 0;
  // Sent as grpc-retry-pushback-ms with every UNAVAILABLE answer (overload,
  // Redis unreachable or full); zero sends none.
  absl::Duration retry_pushback = absl::ZeroDuration();
};

// Sets the limits on `builder`; the pushback interceptor is added to
// `interceptors`, which the caller hands to the builder with its own.
void ApplyServerLimits(
    const ServerLimits& limits, grpc::ServerBuilder& builder,
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>&
        interceptors);

}  // namespace omnihub::grpc_util

#endif  // OMNIHUB_COMMON_GRPC_UTIL_SERVER_LIMITS_H_

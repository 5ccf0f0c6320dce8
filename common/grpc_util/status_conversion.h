// The one place statuses cross the gRPC edge. absl::StatusCode values are the
// gRPC codes, so the mapping is one for one and keeps the message (absl
// payloads and gRPC error details are not carried across).
//
//   reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError("events: empty")));
#ifndef OMNIHUB_COMMON_GRPC_UTIL_STATUS_CONVERSION_H_
#define OMNIHUB_COMMON_GRPC_UTIL_STATUS_CONVERSION_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace omnihub::grpc_util {

// A code outside the canonical 0..16 becomes UNKNOWN, in both directions.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace omnihub::grpc_util

#endif  // OMNIHUB_COMMON_GRPC_UTIL_STATUS_CONVERSION_H_

// The one place statuses cross the gRPC edge. absl::StatusCode values are the
// gRPC codes, so the mapping is one for one and keeps the message.
//
//   reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError("events: empty")));
#ifndef OMNIHUB_COMMON_GRPC_UTIL_STATUS_CONVERSION_H_
#define OMNIHUB_COMMON_GRPC_UTIL_STATUS_CONVERSION_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace omnihub::grpc_util {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace omnihub::grpc_util

#endif  // OMNIHUB_COMMON_GRPC_UTIL_STATUS_CONVERSION_H_

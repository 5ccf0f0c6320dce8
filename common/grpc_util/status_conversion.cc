#include "common/grpc_util/status_conversion.h"

#include <string>

namespace omnihub::grpc_util {
namespace {

// The canonical codes run from OK (0) to UNAUTHENTICATED (16); anything else
// (a code made by casting) goes over the wire as UNKNOWN.
constexpr int kMaxCanonicalCode = 16;

int Canonical(int code) {
  return code < 0 || code > kMaxCanonicalCode
             ? static_cast<int>(absl::StatusCode::kUnknown)
             : code;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(
      static_cast<grpc::StatusCode>(Canonical(static_cast<int>(status.code()))),
      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(
                          Canonical(static_cast<int>(status.error_code()))),
                      status.error_message());
}

}  // namespace omnihub::grpc_util

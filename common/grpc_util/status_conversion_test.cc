#include "common/grpc_util/status_conversion.h"

#include "gtest/gtest.h"

namespace omnihub::grpc_util {
namespace {

TEST(StatusConversionTest, EveryCodeRoundTripsWithItsMessage) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code),
                              code == 0 ? "" : "what went wrong");
    const grpc::Status wire = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(FromGrpcStatus(wire), status);
  }
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("Redis down")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("Redis down")).error_message(),
            "Redis down");
}

}  // namespace
}  // namespace omnihub::grpc_util

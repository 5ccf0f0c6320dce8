#include "common/grpc_util/server_limits.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/resource_quota.h"

namespace omnihub::grpc_util {
namespace {

using grpc::experimental::InterceptionHookPoints;

class RetryPushbackInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit RetryPushbackInterceptor(std::string millis)
      : millis_(std::move(millis)) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() ==
            grpc::StatusCode::UNAVAILABLE) {
      methods->GetSendTrailingMetadata()->emplace(kRetryPushbackTrailer,
                                                  millis_);
    }
    methods->Proceed();
  }

 private:
  const std::string millis_;
};

class RetryPushbackFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RetryPushbackFactory(absl::Duration pushback)
      : millis_(absl::StrCat(absl::ToInt64Milliseconds(pushback))) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new RetryPushbackInterceptor(millis_);
  }

 private:
  const std::string millis_;
};

}  // namespace

void ApplyServerLimits(
    const ServerLimits& limits, grpc::ServerBuilder& builder,
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>&
        interceptors) {
  if (limits.max_concurrent_streams > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               limits.max_concurrent_streams);
  }
  if (limits.memory_quota_bytes > 0) {
    grpc::ResourceQuota quota("omnihub-server");
    quota.Resize(static_cast<size_t>(limits.memory_quota_bytes));
    builder.SetResourceQuota(quota);
  }
  if (limits.retry_pushback > absl::ZeroDuration()) {
    interceptors.push_back(
        std::make_unique<RetryPushbackFactory>(limits.retry_pushback));
  }
}

}  // namespace omnihub::grpc_util

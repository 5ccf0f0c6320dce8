#include "common/redis/call_scope.h"

#include "absl/time/clock.h"

namespace omnihub::redis {
namespace {

const CallScope kNoScope;
thread_local const CallScope* current_scope = &kNoScope;

}  // namespace

const CallScope& CurrentCallScope() { return *current_scope; }

absl::Status CurrentCallStatus() {
  const CallScope& scope = *current_scope;
  if (scope.cancelled && scope.cancelled()) {
    return absl::CancelledError(
        "the caller cancelled the call; the rest of it was not done");
  }
  if (absl::Now() >= scope.deadline) {
    return absl::DeadlineExceededError(
        "the caller's deadline passed; the rest of the call was not done");
  }
  return absl::OkStatus();
}

ScopedCall::ScopedCall(CallScope scope)
    : scope_(std::move(scope)), previous_(current_scope) {
  current_scope = &scope_;
}

ScopedCall::~ScopedCall() { current_scope = previous_; }

absl::Status DeadlinePassedBeforeSending() {
  return absl::DeadlineExceededError(
      "the caller's deadline passed while the command waited to be sent to "
      "Redis; it was not sent");
}

}  // namespace omnihub::redis

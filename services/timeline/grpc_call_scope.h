// The call scope (deadline, cancellation; see common/redis/call_scope.h) of
// a gRPC call, for the store's work on its behalf.
//
//   redis::ScopedCall call(CallScopeOf(context));
#ifndef OMNIHUB_SERVICES_TIMELINE_GRPC_CALL_SCOPE_H_
#define OMNIHUB_SERVICES_TIMELINE_GRPC_CALL_SCOPE_H_

#include <chrono>

#include "absl/time/time.h"
#include "common/redis/call_scope.h"
#include "grpcpp/server_context.h"

namespace omnihub::timeline {

// The call's deadline only: safe to outlive the call (a handler's scope,
// whose commands may finish the call inline and go on after it).
inline redis::CallScope DeadlineOf(const grpc::CallbackServerContext* context) {
  redis::CallScope scope;
  const std::chrono::system_clock::time_point deadline = context->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    scope.deadline = absl::FromChrono(deadline);
  }
  return scope;
}

// The deadline and whether the client cancelled: `cancelled` asks the
// context, so the scope may be used only until the call is finished (a
// worker job checks it before it answers).
inline redis::CallScope CallScopeOf(grpc::CallbackServerContext* context) {
  redis::CallScope scope = DeadlineOf(context);
  scope.cancelled = [context] { return context->IsCancelled(); };
  return scope;
}

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_GRPC_CALL_SCOPE_H_

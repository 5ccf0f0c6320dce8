// The deadline and cancellation of the call a thread is working for, so that
// Redis commands sent for a call its client has given up on are not sent.
//
// A gRPC handler (or a worker running a call's job) opens a ScopedCall; every
// command the thread queues meanwhile carries the deadline, and one still
// queued when it passes fails with DEADLINE_EXCEEDED without reaching Redis.
// Blocking calls (blocking_calls.h) also check `cancelled` before each
// command, so a long operation stops between its steps.
//
//   redis::ScopedCall call({.deadline = deadline,
//                           .cancelled = [ctx] { return ctx->IsCancelled();
//                           }});
//   store.Ingest(...);  // its first commands carry the deadline
//
// The scope is not carried into reply callbacks: an operation once started
// goes on to its end, so it never stops between steps that belong together
// (identities claimed, event not stored) because of the deadline alone.
#ifndef OMNIHUB_COMMON_REDIS_CALL_SCOPE_H_
#define OMNIHUB_COMMON_REDIS_CALL_SCOPE_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace omnihub::redis {

struct CallScope {
  absl::Time deadline = absl::InfiniteFuture();
  // True once the caller has gone away; called only on the scope's thread,
  // while the scope is open. May be empty.
  std::function<bool()> cancelled = nullptr;
};

// The scope of the calling thread (no deadline, never cancelled when none
// is open).
const CallScope& CurrentCallScope();

// OK while the current call is still wanted; CANCELLED or DEADLINE_EXCEEDED
// (saying so) once it is not.
absl::Status CurrentCallStatus();

// Opens a scope for the lifetime of the object, restoring the one before.
class ScopedCall {
 public:
  explicit ScopedCall(CallScope scope);
  ~ScopedCall();
  ScopedCall(const ScopedCall&) = delete;
  ScopedCall& operator=(const ScopedCall&) = delete;

 private:
  CallScope scope_;
  const CallScope* previous_;
};

// DEADLINE_EXCEEDED for a command that waited past its call's deadline.
absl::Status DeadlinePassedBeforeSending();

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_CALL_SCOPE_H_

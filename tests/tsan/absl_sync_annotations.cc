// Debian's Abseil is not built with ThreadSanitizer, so TSan cannot see that
// absl::Mutex, absl::CondVar and absl::Notification order memory: every field
// they guard would be reported as a race. The ThreadSanitizer build links
// this file into each test and wraps (ld --wrap, see wrapped_symbols.txt) the
// entry points our code calls, telling TSan of the happens-before edge each
// one makes: an unlock (or a notify) releases, the lock (or the wait) that
// follows acquires.
//
// Only calls from our own code are wrapped; gRPC's calls into Abseil stay
// unseen, as the rest of gRPC (also not instrumented) is.
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

void Release(const void* object) { __tsan_release(const_cast<void*>(object)); }
void Acquire(const void* object) { __tsan_acquire(const_cast<void*>(object)); }

// HasBeenNotified is inline: an instrumented acquire load of the flag that
// follows the notification's mutex. A notify releases on that address too.
const void* NotifiedFlag(const absl::Notification* n) {
  static_assert(sizeof(absl::Notification) >= sizeof(absl::Mutex) + 1);
  return reinterpret_cast<const char*>(n) + sizeof(absl::Mutex);
}

}  // namespace

extern "C" {

void __real__ZN4absl7debian35Mutex4LockEv(absl::Mutex* mu);
void __wrap__ZN4absl7debian35Mutex4LockEv(absl::Mutex* mu) {
  __real__ZN4absl7debian35Mutex4LockEv(mu);
  Acquire(mu);
}
void __real__ZN4absl7debian35Mutex10ReaderLockEv(absl::Mutex* mu);
void __wrap__ZN4absl7debian35Mutex10ReaderLockEv(absl::Mutex* mu) {
  __real__ZN4absl7debian35Mutex10ReaderLockEv(mu);
  Acquire(mu);
}
bool __real__ZN4absl7debian35Mutex7TryLockEv(absl::Mutex* mu);
bool __wrap__ZN4absl7debian35Mutex7TryLockEv(absl::Mutex* mu) {
  const bool locked = __real__ZN4absl7debian35Mutex7TryLockEv(mu);
  if (locked) Acquire(mu);
  return locked;
}
bool __real__ZN4absl7debian35Mutex13ReaderTryLockEv(absl::Mutex* mu);
bool __wrap__ZN4absl7debian35Mutex13ReaderTryLockEv(absl::Mutex* mu) {
  const bool locked = __real__ZN4absl7debian35Mutex13ReaderTryLockEv(mu);
  if (locked) Acquire(mu);
  return locked;
}
void __real__ZN4absl7debian35Mutex6UnlockEv(absl::Mutex* mu);
void __wrap__ZN4absl7debian35Mutex6UnlockEv(absl::Mutex* mu) {
  Release(mu);
  __real__ZN4absl7debian35Mutex6UnlockEv(mu);
}
void __real__ZN4absl7debian35Mutex12ReaderUnlockEv(absl::Mutex* mu);
void __wrap__ZN4absl7debian35Mutex12ReaderUnlockEv(absl::Mutex* mu) {
  Release(mu);
  __real__ZN4absl7debian35Mutex12ReaderUnlockEv(mu);
}
void __real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(
    absl::Mutex* mu, const absl::Condition& c);
void __wrap__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(
    absl::Mutex* mu, const absl::Condition& c) {
  Acquire(mu);
  __real__ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(mu, c);
  Acquire(mu);
}
void __real__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(
    absl::Mutex* mu, const absl::Condition& c);
void __wrap__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(
    absl::Mutex* mu, const absl::Condition& c) {
  Acquire(mu);
  __real__ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(mu, c);
  Acquire(mu);
}
bool __real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    absl::Mutex* mu, const absl::Condition& c, absl::Duration d);
bool __wrap__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    absl::Mutex* mu, const absl::Condition& c, absl::Duration d) {
  Acquire(mu);
  const bool result =
      __real__ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
          mu, c, d);
  Acquire(mu);
  return result;
}
bool __real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    absl::Mutex* mu, const absl::Condition& c, absl::Time t);
bool __wrap__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    absl::Mutex* mu, const absl::Condition& c, absl::Time t) {
  Acquire(mu);
  const bool result =
      __real__ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
          mu, c, t);
  Acquire(mu);
  return result;
}
bool __real__ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    absl::Mutex* mu, const absl::Condition& c, absl::Duration d);
bool __wrap__ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    absl::Mutex* mu, const absl::Condition& c, absl::Duration d) {
  Acquire(mu);
  const bool result =
      __real__ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
          mu, c, d);
  Acquire(mu);
  return result;
}
bool __real__ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    absl::Mutex* mu, const absl::Condition& c, absl::Time t);
bool __wrap__ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    absl::Mutex* mu, const absl::Condition& c, absl::Time t) {
  Acquire(mu);
  const bool result =
      __real__ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
          mu, c, t);
  Acquire(mu);
  return result;
}
void __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(
    absl::Mutex* mu, const absl::Condition& c);
void __wrap__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(
    absl::Mutex* mu, const absl::Condition& c) {
  Release(mu);
  __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(mu, c);
  Acquire(mu);
}
bool __real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    absl::Mutex* mu, const absl::Condition& c, absl::Duration d);
bool __wrap__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    absl::Mutex* mu, const absl::Condition& c, absl::Duration d) {
  Release(mu);
  const bool result =
      __real__ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
          mu, c, d);
  Acquire(mu);
  return result;
}
bool __real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    absl::Mutex* mu, const absl::Condition& c, absl::Time t);
bool __wrap__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    absl::Mutex* mu, const absl::Condition& c, absl::Time t) {
  Release(mu);
  const bool result =
      __real__ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
          mu, c, t);
  Acquire(mu);
  return result;
}
void __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(absl::CondVar* cv,
                                                       absl::Mutex* mu);
void __wrap__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(absl::CondVar* cv,
                                                       absl::Mutex* mu) {
  Release(mu);
  __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(cv, mu);
  Acquire(mu);
}
bool __real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
    absl::CondVar* cv, absl::Mutex* mu, absl::Duration d);
bool __wrap__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
    absl::CondVar* cv, absl::Mutex* mu, absl::Duration d) {
  Release(mu);
  const bool result =
      __real__ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
          cv, mu, d);
  Acquire(mu);
  return result;
}
bool __real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(
    absl::CondVar* cv, absl::Mutex* mu, absl::Time t);
bool __wrap__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(
    absl::CondVar* cv, absl::Mutex* mu, absl::Time t) {
  Release(mu);
  const bool result =
      __real__ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(
          cv, mu, t);
  Acquire(mu);
  return result;
}
void __real__ZN4absl7debian312Notification6NotifyEv(absl::Notification* n);
void __wrap__ZN4absl7debian312Notification6NotifyEv(absl::Notification* n) {
  Release(n);
  Release(NotifiedFlag(n));
  __real__ZN4absl7debian312Notification6NotifyEv(n);
}
void __real__ZNK4absl7debian312Notification19WaitForNotificationEv(
    const absl::Notification* n);
void __wrap__ZNK4absl7debian312Notification19WaitForNotificationEv(
    const absl::Notification* n) {
  __real__ZNK4absl7debian312Notification19WaitForNotificationEv(n);
  Acquire(n);
}
bool __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const absl::Notification* n, absl::Duration d);
bool __wrap__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const absl::Notification* n, absl::Duration d) {
  const bool notified =
      __real__ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
          n, d);
  if (notified) Acquire(n);
  return notified;
}
bool __real__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const absl::Notification* n, absl::Time t);
bool __wrap__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const absl::Notification* n, absl::Time t) {
  const bool notified =
      __real__ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
          n, t);
  if (notified) Acquire(n);
  return notified;
}

}  // extern "C"

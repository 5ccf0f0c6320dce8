// What the store tells the code that keeps derived state beside a customer's
// single view (the insights' lifecycle) when the customer's purchases may
// have changed: a purchase stored, updated or sent again, or another customer
// merged into it; and when a customer is being erased, so that what that
// code keeps elsewhere about it goes too.
//
// The store acknowledges the write only once `done` reports success, so a
// failure there fails the write, and the sender's retry (a duplicate, which
// is reported too) finishes the job.
#ifndef OMNIHUB_SERVICES_TIMELINE_CUSTOMER_OBSERVER_H_
#define OMNIHUB_SERVICES_TIMELINE_CUSTOMER_OBSERVER_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/notification.h"

namespace omnihub::timeline {

class CustomerObserver {
 public:
  virtual ~CustomerObserver() = default;

  // Asynchronous: `done` runs once, on any thread, and must not block.
  virtual void PurchasesChanged(
      const std::string& customer_id,
      absl::AnyInvocable<void(absl::Status) &&> done) = 0;

  // The customer is being erased (its data is deleted next; called again
  // when an interrupted erasure is resumed). Asynchronous, as above.
  virtual void Forgetting(const std::string& customer_id,
                          absl::AnyInvocable<void(absl::Status) &&> done) = 0;
};

// Runs `call` with a `done` and waits until it has run: for the blocking
// code of merges and erasures, on worker threads.
inline absl::Status WaitForObserver(
    absl::FunctionRef<void(absl::AnyInvocable<void(absl::Status) &&>)> call) {
  absl::Notification told;
  absl::Status status;
  call([&told, &status](absl::Status result) {
    status = std::move(result);
    told.Notify();
  });
  told.WaitForNotification();
  return status;
}

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_CUSTOMER_OBSERVER_H_

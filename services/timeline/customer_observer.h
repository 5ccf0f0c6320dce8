// What the store tells the code that keeps derived state beside a customer's
// single view (the insights' lifecycle, segment memberships) when the
// customer's purchases may have changed: a purchase stored, updated or sent
// again, or another customer merged into it; when any of its events may
// have changed (every event stored, updated or sent again, and merges); and
// when a customer is being erased, so that what that code keeps elsewhere
// about it goes too.
//
// The store acknowledges the write only once `done` reports success, so a
// failure there fails the write, and the sender's retry (a duplicate, which
// is reported too) finishes the job.
#ifndef OMNIHUB_SERVICES_TIMELINE_CUSTOMER_OBSERVER_H_
#define OMNIHUB_SERVICES_TIMELINE_CUSTOMER_OBSERVER_H_

#include <string>
#include <utility>
#include <vector>

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

  // Any event of the customer stored, updated or sent again, or another
  // customer merged into it; after PurchasesChanged when both apply.
  // Asynchronous, as above. Code that only follows purchases ignores it.
  virtual void EventsChanged(const std::string& customer_id,
                             absl::AnyInvocable<void(absl::Status) &&> done) {
    (void)customer_id;
    std::move(done)(absl::OkStatus());
  }
};

// Tells several observers, in turn (the next once the one before reported
// success; the first failure is the answer). The observers must outlive it.
class CustomerObserverList : public CustomerObserver {
 public:
  void Add(CustomerObserver* observer) { observers_.push_back(observer); }

  void PurchasesChanged(
      const std::string& customer_id,
      absl::AnyInvocable<void(absl::Status) &&> done) override {
    TellFrom(0, &CustomerObserver::PurchasesChanged, customer_id,
             std::move(done));
  }
  void Forgetting(const std::string& customer_id,
                  absl::AnyInvocable<void(absl::Status) &&> done) override {
    TellFrom(0, &CustomerObserver::Forgetting, customer_id, std::move(done));
  }
  void EventsChanged(const std::string& customer_id,
                     absl::AnyInvocable<void(absl::Status) &&> done) override {
    TellFrom(0, &CustomerObserver::EventsChanged, customer_id, std::move(done));
  }

 private:
  using Call = void (CustomerObserver::*)(
      const std::string&, absl::AnyInvocable<void(absl::Status) &&>);

  void TellFrom(size_t index, Call call, const std::string& customer_id,
                absl::AnyInvocable<void(absl::Status) &&> done) {
    if (index == observers_.size()) {
      return std::move(done)(absl::OkStatus());
    }
    (observers_[index]->*call)(
        customer_id, [this, index, call, customer_id,
                      done = std::move(done)](absl::Status status) mutable {
          if (!status.ok()) return std::move(done)(std::move(status));
          TellFrom(index + 1, call, customer_id, std::move(done));
        });
  }

  std::vector<CustomerObserver*> observers_;
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

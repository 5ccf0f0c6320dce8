// Every purchase of a simulated customer base, as events: customers drawn
// from the BG/NBD model with the parameters published for CDNOW, first
// purchases spread over a cohort of days up to yesterday, each customer with
// the identity the event mix gives it. For benchmarks of the insights on a
// base of any size.
//
//   SyntheticPurchases purchases(1'000'000, 365, absl::Now());
//   v1::InteractionEvent event;
//   while (purchases.Next(&event)) { ... }
#ifndef OMNIHUB_TESTS_BENCH_SYNTHETIC_PURCHASES_H_
#define OMNIHUB_TESTS_BENCH_SYNTHETIC_PURCHASES_H_

#include <cstdint>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "omnihub/v1/event.pb.h"
#include "services/insights/purchase_model/synthetic_customers.h"

namespace omnihub::bench {

class SyntheticPurchases {
 public:
  SyntheticPurchases(int customers, int cohort_days, absl::Time now);

  // Purchases in all.
  int64_t events() const { return events_; }
  // The next purchase, customer by customer; false once all were given.
  // Thread-safe.
  bool Next(v1::InteractionEvent* event);

 private:
  std::vector<insights::SimulatedCustomer> customers_;
  int64_t last_day_;  // yesterday, the end of observation
  int64_t events_ = 0;
  absl::Mutex mutex_;
  size_t customer_ ABSL_GUARDED_BY(mutex_) = 0;
  size_t purchase_ ABSL_GUARDED_BY(mutex_) = 0;  // 0: the first
};

}  // namespace omnihub::bench

#endif  // OMNIHUB_TESTS_BENCH_SYNTHETIC_PURCHASES_H_

// The events a benchmark sends: a typical mix of channels over a population
// of customers chosen uniformly or Zipf-skewed (a few customers very active,
// most rarely seen), each customer always with the same identities.
#ifndef OMNIHUB_TESTS_BENCH_EVENT_MIX_H_
#define OMNIHUB_TESTS_BENCH_EVENT_MIX_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::bench {

struct EventMixOptions {
  int64_t customers = 100000;
  double zipf = 0;  // exponent; 0 picks customers uniformly
  // Percent of events per channel; the rest is in person.
  int phone_percent = 40;
  int web_percent = 45;
  // Percent of events, on any channel, that are purchases with a value
  // (what the insights keep purchase statistics and a lifecycle for).
  int purchase_percent = 10;
  // Purchases carry 1 to this many line items (0: none), products drawn
  // Zipf-skewed from `catalogue`, each in one of 100 categories.
  int line_items = 0;
  int64_t catalogue = 10000;
  std::string run_id;  // makes event ids unique per run
};

class EventMix {
 public:
  explicit EventMix(EventMixOptions options);

  // Thread-safe.
  int64_t NextCustomer();
  v1::InteractionEvent NextEvent();
  // The identity every event of customer `index` carries.
  static v1::Identity CrmIdentity(int64_t index);

 private:
  EventMixOptions options_;
  absl::Mutex mutex_;
  absl::BitGen random_ ABSL_GUARDED_BY(mutex_);
  int64_t sequence_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace omnihub::bench

#endif  // OMNIHUB_TESTS_BENCH_EVENT_MIX_H_

// Latencies in a log-linear histogram (the HdrHistogram idea): each power of
// two is split into 64 equal buckets, so any recorded value is known to
// within 1/64 (1.6%) from 1 us to over an hour, in fixed memory, and merging
// two histograms is adding counts.
#ifndef OMNIHUB_TESTS_BENCH_LATENCY_HISTOGRAM_H_
#define OMNIHUB_TESTS_BENCH_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstdint>

#include "absl/time/time.h"

namespace omnihub::bench {

class LatencyHistogram {
 public:
  void Record(absl::Duration latency);
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  // The latency at or below which `fraction` (0 to 1) of the recordings lie;
  // zero when nothing was recorded.
  absl::Duration Percentile(double fraction) const;
  absl::Duration max() const { return absl::Nanoseconds(max_ns_); }

 private:
  static constexpr int kSubBits = 6;  // 64 buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (42 - kSubBits + 1) * kSub;  // up to ~73 min

  static int BucketOf(int64_t ns);
  static int64_t UpperBoundOf(int bucket);

  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  int64_t max_ns_ = 0;
};

}  // namespace omnihub::bench

#endif  // OMNIHUB_TESTS_BENCH_LATENCY_HISTOGRAM_H_

#include "tests/bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace omnihub::bench {

// Values below 64 ns get one bucket each; above, bucket = 64 * (octave) +
// the 6 bits after the leading one.
int LatencyHistogram::BucketOf(int64_t ns) {
  if (ns < kSub) return static_cast<int>(std::max<int64_t>(ns, 0));
  const int octave = std::bit_width(static_cast<uint64_t>(ns)) - kSubBits;
  const int sub = static_cast<int>((ns >> (octave - 1)) & (kSub - 1));
  return std::min(octave * kSub + sub, kBuckets - 1);
}

int64_t LatencyHistogram::UpperBoundOf(int bucket) {
  if (bucket < kSub) return bucket;
  const int octave = bucket / kSub;
  const int64_t sub = bucket % kSub;
  return ((kSub + sub + 1) << (octave - 1)) - 1;
}

void LatencyHistogram::Record(absl::Duration latency) {
  const int64_t ns = absl::ToInt64Nanoseconds(latency);
  ++counts_[BucketOf(ns)];
  ++count_;
  max_ns_ = std::max(max_ns_, ns);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
}

absl::Duration LatencyHistogram::Percentile(double fraction) const {
  if (count_ == 0) return absl::ZeroDuration();
  const int64_t rank = std::max<int64_t>(
      1,
      static_cast<int64_t>(std::ceil(fraction * static_cast<double>(count_))));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return absl::Nanoseconds(std::min(UpperBoundOf(i), max_ns_));
    }
  }
  return max();
}

}  // namespace omnihub::bench

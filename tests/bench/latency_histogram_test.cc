#include "tests/bench/latency_histogram.h"

#include <random>

#include "gtest/gtest.h"

namespace omnihub::bench {
namespace {

TEST(LatencyHistogramTest, PercentilesOfAUniformSpreadAreWithinTwoPercent) {
  LatencyHistogram histogram;
  for (int us = 1; us <= 10000; ++us) histogram.Record(absl::Microseconds(us));
  EXPECT_EQ(histogram.count(), 10000);
  for (double p : {0.5, 0.9, 0.99, 0.999}) {
    const double expected = p * 10000;
    const double got = absl::ToDoubleMicroseconds(histogram.Percentile(p));
    EXPECT_NEAR(got, expected, expected * 0.02) << p;
  }
  EXPECT_EQ(histogram.max(), absl::Microseconds(10000));
  EXPECT_EQ(histogram.Percentile(1.0), absl::Microseconds(10000));
}

TEST(LatencyHistogramTest, TailIsNotHiddenByTheBody) {
  LatencyHistogram histogram;
  for (int i = 0; i < 990; ++i) histogram.Record(absl::Microseconds(100));
  for (int i = 0; i < 10; ++i) histogram.Record(absl::Milliseconds(50));
  EXPECT_LT(histogram.Percentile(0.5), absl::Microseconds(102));
  EXPECT_GT(histogram.Percentile(0.995), absl::Microseconds(49000));
}

TEST(LatencyHistogramTest, MergeAddsAndEmptyIsZero) {
  LatencyHistogram a, b;
  EXPECT_EQ(a.Percentile(0.99), absl::ZeroDuration());
  a.Record(absl::Nanoseconds(10));
  b.Record(absl::Seconds(3));
  a.Merge(b);
  EXPECT_EQ(a.count(), 2);
  EXPECT_EQ(a.Percentile(0.5), absl::Nanoseconds(10));
  EXPECT_NEAR(absl::ToDoubleSeconds(a.Percentile(1.0)), 3.0, 0.05);
  // Beyond the range it saturates instead of overflowing.
  a.Record(absl::Hours(5));
  EXPECT_EQ(a.count(), 3);
}

}  // namespace
}  // namespace omnihub::bench

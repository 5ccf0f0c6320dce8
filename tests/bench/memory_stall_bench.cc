// How often this machine stalls a process that only reads its own memory at
// random: what any in-memory store here (Redis) meets before doing any work.
// It touches --gib GiB up front, then reads one random 8-byte word at a
// time for --seconds and reports the reads' latency and how many stalled
// past 1 ms and 10 ms. Run it on 4 KiB pages and on transparent huge pages
// (--huge_pages, MADV_HUGEPAGE) to see what the page size does.
//
//   memory_stall_bench --gib=5 --seconds=60
//   memory_stall_bench --gib=5 --seconds=60 --huge_pages
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"

ABSL_FLAG(double, gib, 5, "GiB to allocate, touch and then read at random.");
ABSL_FLAG(int, seconds, 60, "Seconds of random reads.");
ABSL_FLAG(bool, huge_pages, false,
          "Ask for transparent huge pages (madvise MADV_HUGEPAGE).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Reads its own memory at random and reports how often the machine "
      "stalls it.\n  memory_stall_bench --gib=5 --seconds=60 [--huge_pages]");
  absl::ParseCommandLine(argc, argv);
  const size_t words =
      static_cast<size_t>(absl::GetFlag(FLAGS_gib) * (1ull << 30)) / 8;
  if (words == 0) {
    std::fprintf(stderr, "--gib must be above 0\n");
    return 2;
  }
  const size_t bytes = words * 8;
  void* mapped = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  if (absl::GetFlag(FLAGS_huge_pages) &&
      madvise(mapped, bytes, MADV_HUGEPAGE) != 0) {
    std::perror("madvise(MADV_HUGEPAGE)");
    return 1;
  }
  auto* memory = static_cast<volatile uint64_t*>(mapped);
  for (size_t i = 0; i < words; i += 512) memory[i] = i;  // every 4 KiB page

  using Clock = std::chrono::steady_clock;
  std::mt19937_64 random(1);
  // A sample of every read's latency for the percentiles (bounded); the
  // stall counts and the maximum cover every read.
  std::vector<float> sample;
  sample.reserve(size_t{1} << 24);
  size_t reads = 0, over_1ms = 0, over_10ms = 0;
  double max_us = 0;
  uint64_t sum = 0;
  const Clock::time_point end =
      Clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_seconds));
  while (Clock::now() < end) {
    for (int k = 0; k < 1000; ++k) {
      const size_t i = random() % words;
      const Clock::time_point start = Clock::now();
      sum += memory[i];
      const double us =
          std::chrono::duration<double, std::micro>(Clock::now() - start)
              .count();
      ++reads;
      if (us > 1000) ++over_1ms;
      if (us > 10000) ++over_10ms;
      max_us = std::max(max_us, us);
      if (sample.size() < sample.capacity()) {
        sample.push_back(static_cast<float>(us));
      }
    }
  }
  std::sort(sample.begin(), sample.end());
  auto at = [&](double q) {
    return sample[static_cast<size_t>(q * (sample.size() - 1))];
  };
  std::printf(
      "%.1f GiB on %s pages, %zu random reads in %d s: p50 %.2f us, p99 %.2f "
      "us, p99.99 %.1f us, max %.1f ms; %zu reads stalled > 1 ms, %zu > 10 "
      "ms (checksum %llu)\n",
      absl::GetFlag(FLAGS_gib),
      absl::GetFlag(FLAGS_huge_pages) ? "huge" : "4 KiB", reads,
      absl::GetFlag(FLAGS_seconds), at(0.5), at(0.99), at(0.9999),
      max_us / 1000, over_1ms, over_10ms,
      static_cast<unsigned long long>(sum % 10));
  munmap(mapped, bytes);
  return 0;
}

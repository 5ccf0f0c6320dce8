#include "common/sharded_page/sharded_page.h"

#include <algorithm>
#include <cmath>

namespace omnihub::sharded_page {
namespace {

// With a small share the binomial's tail is longer than four deviations
// allow for: over 64 shards, asking 7 for a page of 101 would leave a second
// read for ~1.3 % of pages, 8 for ~0.2 %.
constexpr size_t kMinimumAsk = 8;

}  // namespace

// A shard's count in a page of `wanted` is binomial: mean the share, standard
// deviation under its square root. Asking for the share and four deviations
// leaves a second read for under 0.1 % of pages of 101 over 16 shards (twice
// the share, 13, left one for ~7 % by this count; the top customers'
// benchmark saw 804-1,608 scripts per 10,000 pages) and about 0.2 % over 64
// shards (8, the minimum). No shard can give a page more than `wanted`.
int FirstAsk(size_t wanted, size_t shards) {
  if (shards <= 1) return static_cast<int>(wanted);
  const double share =
      static_cast<double>(wanted) / static_cast<double>(shards);
  const size_t ask =
      static_cast<size_t>(std::ceil(share + 4 * std::sqrt(share)));
  return static_cast<int>(std::min(wanted, std::max(ask, kMinimumAsk)));
}

}  // namespace omnihub::sharded_page

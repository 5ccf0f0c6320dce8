#include "common/sharded_page/sharded_page.h"

#include <algorithm>

namespace omnihub::sharded_page {
namespace {

// A shard's count in a page varies: with 64 shards and pages of 100 (a share
// of ~1.6), asking for 4 would need a second read for most pages, 8 for
// well under 1%.
constexpr size_t kMinimumAsk = 8;

}  // namespace

int FirstAsk(size_t wanted, size_t shards) {
  const size_t share =
      shards == 0 ? wanted : (2 * wanted + shards - 1) / shards;
  return static_cast<int>(std::max(share, kMinimumAsk));
}

}  // namespace omnihub::sharded_page

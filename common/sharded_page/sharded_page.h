// One page of a list kept in shards (a sorted set per shard, each entry in
// exactly one shard), read with few entries per shard. Asking every shard
// for a whole page costs the store shards × page entries to give a page;
// instead each shard is asked for a few (FirstAsk), the reads are merged,
// and only a shard whose last entry read still falls before the merged
// page's end, and that may hold more, is read again (after that entry).
// The page is then exactly the first entries of the whole list, as if every
// shard had been asked for a whole page.
//
//   std::vector<ShardRead<std::string>> reads(kShards);
//   ... each shard: reads[s].entries = its first FirstAsk(101, kShards)
//       entries after the token; reads[s].more = it gave as many as asked.
//   while (true) {
//     MergeStep<std::string> step = MergeShards(reads, 101, std::less<>());
//     if (step.reads.empty()) return step.page;  // up to 101 entries
//     ... for each {shard, count} of step.reads: append `count` more entries
//         after reads[shard].entries.back() (or after the token when it
//         has none), and set reads[shard].more again.
//   }
//
// Asking for a page's size + 1 tells whether a page follows.
#ifndef OMNIHUB_COMMON_SHARDED_PAGE_SHARDED_PAGE_H_
#define OMNIHUB_COMMON_SHARDED_PAGE_SHARDED_PAGE_H_

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace omnihub::sharded_page {

// What one shard gave so far.
template <typename Entry>
struct ShardRead {
  // In the list's order, every one after the page's start.
  std::vector<Entry> entries;
  // The last read gave as many entries as asked: the shard may hold more
  // after the last of `entries` (after the page's start when none).
  bool more = false;
};

struct MoreOf {
  int shard = 0;
  int count = 0;

  bool operator==(const MoreOf&) const = default;
};

template <typename Entry>
struct MergeStep {
  // Empty when the page is decided; else the shards to read further, after
  // their last entry, and how many entries each.
  std::vector<MoreOf> reads;
  // When decided: the first `wanted` entries of all the shards, in order
  // (fewer when the shards hold fewer).
  std::vector<Entry> page;
};

// Entries each shard is asked for first for a page of `wanted`: its share
// and four standard deviations, at least a few and at most `wanted`, so that
// one read of each shard nearly always decides the page.
int FirstAsk(size_t wanted, size_t shards);

// `before(a, b)`: a comes before b in the list. Entries are distinct.
// When it asks for more, reading exactly what it asks (with nothing changed
// meanwhile) decides the page at the next call: a shard read again gives
// at least as many entries as can still come before the page's end.
template <typename Entry, typename Before>
MergeStep<Entry> MergeShards(const std::vector<ShardRead<Entry>>& shards,
                             size_t wanted, Before before) {
  MergeStep<Entry> step;
  if (wanted == 0) return step;
  std::vector<const Entry*> merged;
  for (const ShardRead<Entry>& shard : shards) {
    for (const Entry& entry : shard.entries) merged.push_back(&entry);
  }
  auto by_order = [&](const Entry* a, const Entry* b) {
    return before(*a, *b);
  };
  const size_t kept = std::min(wanted, merged.size());
  // Only the page's entries need their order; past its end, only which
  // entries lie there.
  std::partial_sort(merged.begin(), merged.begin() + kept, merged.end(),
                    by_order);
  for (size_t index = 0; index < shards.size(); ++index) {
    const ShardRead<Entry>& shard = shards[index];
    if (!shard.more) continue;
    size_t known = 0;  // entries of all shards up to this one's last
    if (!shard.entries.empty()) {
      const Entry& last = shard.entries.back();
      if (kept == wanted && !before(last, *merged[kept - 1])) continue;
      // Every entry not after `last`: the first ones of the page.
      known = static_cast<size_t>(std::upper_bound(merged.begin(),
                                                   merged.begin() + kept, &last,
                                                   by_order) -
                                  merged.begin());
    }
    step.reads.push_back({.shard = static_cast<int>(index),
                          .count = static_cast<int>(wanted - known)});
  }
  if (!step.reads.empty()) return step;
  step.page.reserve(kept);
  for (size_t i = 0; i < kept; ++i) step.page.push_back(*merged[i]);
  return step;
}

}  // namespace omnihub::sharded_page

#endif  // OMNIHUB_COMMON_SHARDED_PAGE_SHARDED_PAGE_H_

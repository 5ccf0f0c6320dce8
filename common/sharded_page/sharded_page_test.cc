// The merge of few-entries-per-shard reads against the whole sorted list:
// shards read as MergeShards asks, until the page is decided, every page
// walked to the end, for even, skewed and one-shard lists.
#include "common/sharded_page/sharded_page.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace omnihub::sharded_page {
namespace {

// A sharded list of ints in ascending order, read as a store would.
class Shards {
 public:
  explicit Shards(int count) : shards_(count) {}

  void Add(int shard, int value) { shards_[shard].insert(value); }
  void Remove(int value) {
    for (std::set<int>& shard : shards_) shard.erase(value);
  }

  // Up to `count` entries after `after` (nullptr: from the start).
  std::vector<int> Read(int shard, const int* after, int count) const {
    const std::set<int>& entries = shards_[shard];
    auto it = after == nullptr ? entries.begin() : entries.upper_bound(*after);
    std::vector<int> read;
    for (; it != entries.end() && static_cast<int>(read.size()) < count; ++it) {
      read.push_back(*it);
    }
    return read;
  }

  std::vector<int> All() const {
    std::vector<int> all;
    for (const std::set<int>& shard : shards_) {
      all.insert(all.end(), shard.begin(), shard.end());
    }
    std::sort(all.begin(), all.end());
    return all;
  }

  int size() const { return static_cast<int>(shards_.size()); }

 private:
  std::vector<std::set<int>> shards_;
};

struct Page {
  std::vector<int> entries;
  int rounds = 0;  // reads of the shards, the first included
  int entries_read = 0;
};

// The first `wanted` entries after `after`, read as MergeShards asks.
Page ReadPage(const Shards& shards, const int* after, size_t wanted) {
  Page page;
  std::vector<ShardRead<int>> reads(shards.size());
  const int first = FirstAsk(wanted, shards.size());
  for (int shard = 0; shard < shards.size(); ++shard) {
    reads[shard].entries = shards.Read(shard, after, first);
    reads[shard].more = static_cast<int>(reads[shard].entries.size()) == first;
    page.entries_read += static_cast<int>(reads[shard].entries.size());
  }
  for (page.rounds = 1;; ++page.rounds) {
    MergeStep<int> step = MergeShards(reads, wanted, std::less<int>());
    if (step.reads.empty()) {
      page.entries = std::move(step.page);
      return page;
    }
    for (const MoreOf& more : step.reads) {
      EXPECT_GT(more.count, 0);
      ShardRead<int>& read = reads[more.shard];
      const int* from = read.entries.empty() ? after : &read.entries.back();
      std::vector<int> next = shards.Read(more.shard, from, more.count);
      read.more = static_cast<int>(next.size()) == more.count;
      page.entries_read += static_cast<int>(next.size());
      read.entries.insert(read.entries.end(), next.begin(), next.end());
    }
    if (page.rounds > 10) {
      ADD_FAILURE() << "the page is not decided after 10 rounds";
      return page;
    }
  }
}

// Walks every page of `page_size` (asking for one more to know whether a
// page follows) and checks each against the whole sorted list.
void ExpectEveryPageExact(const Shards& shards, int page_size) {
  const std::vector<int> all = shards.All();
  std::vector<int> walked;
  std::optional<int> after;
  while (true) {
    Page page = ReadPage(shards, after ? &*after : nullptr, page_size + 1);
    // Never more than one read again, with nothing changed meanwhile.
    EXPECT_LE(page.rounds, 2);
    const auto start =
        after ? std::upper_bound(all.begin(), all.end(), *after) : all.begin();
    const std::vector<int> expected(
        start, start + std::min<ptrdiff_t>(page_size + 1, all.end() - start));
    ASSERT_EQ(page.entries, expected) << "page size " << page_size;
    const bool next = static_cast<int>(page.entries.size()) > page_size;
    if (next) page.entries.pop_back();
    walked.insert(walked.end(), page.entries.begin(), page.entries.end());
    if (!next) break;
    after = page.entries.back();
  }
  EXPECT_EQ(walked, all);
}

TEST(ShardedPageTest, FirstAskIsTheSharePlusFourDeviationsWithinBounds) {
  EXPECT_EQ(FirstAsk(101, 64), 8);    // 1.6 + 5.0, the minimum
  EXPECT_EQ(FirstAsk(101, 16), 17);   // 6.3 + 10.0
  EXPECT_EQ(FirstAsk(1001, 64), 32);  // 15.6 + 15.8
  EXPECT_EQ(FirstAsk(1001, 16), 95);  // 62.6 + 31.6
  EXPECT_EQ(FirstAsk(2, 16), 2);      // never more than the page
  EXPECT_EQ(FirstAsk(5, 1), 5);       // one shard holds the whole page
}

TEST(ShardedPageTest, EvenlySpreadListsArePagedExactly) {
  std::mt19937 random(7);
  for (int shard_count : {1, 16, 64}) {
    Shards shards(shard_count);
    std::uniform_int_distribution<int> shard_of(0, shard_count - 1);
    for (int value = 0; value < 3000; ++value) {
      if (random() % 3 != 0) shards.Add(shard_of(random), value);
    }
    for (int page_size : {1, 7, 100, 1000}) {
      SCOPED_TRACE(shard_count);
      ExpectEveryPageExact(shards, page_size);
    }
  }
}

TEST(ShardedPageTest, ListsOnOneShardArePagedExactly) {
  for (int home : {0, 37, 63}) {
    Shards shards(64);
    for (int value = 0; value < 2500; ++value) shards.Add(home, value * 3);
    for (int page_size : {1, 7, 100, 1000}) {
      SCOPED_TRACE(home);
      ExpectEveryPageExact(shards, page_size);
    }
  }
}

TEST(ShardedPageTest, SkewedListsArePagedExactly) {
  std::mt19937 random(11);
  Shards shards(64);
  // Half on shard 5, a run of consecutive values on shard 9, a few here
  // and there: some shards empty, some with one entry.
  for (int value = 0; value < 4000; ++value) {
    if (value % 2 == 0) {
      shards.Add(5, value);
    } else if (value > 1000 && value < 1600) {
      shards.Add(9, value);
    } else if (random() % 5 == 0) {
      shards.Add(static_cast<int>(random() % 64), value);
    }
  }
  shards.Add(63, 100000);  // the very last, alone on its shard
  for (int page_size : {1, 7, 100, 1000})
    ExpectEveryPageExact(shards, page_size);
}

TEST(ShardedPageTest, EmptyAndShortLists) {
  Shards empty(16);
  Page page = ReadPage(empty, nullptr, 101);
  EXPECT_TRUE(page.entries.empty());
  EXPECT_EQ(page.rounds, 1);
  Shards few(16);
  few.Add(3, 5);
  few.Add(12, 2);
  page = ReadPage(few, nullptr, 101);
  EXPECT_EQ(page.entries, (std::vector<int>{2, 5}));
  EXPECT_EQ(page.rounds, 1);
  // Exactly as many as asked on one shard: it may hold more, and is asked.
  Shards exact(16);
  for (int value = 0; value < FirstAsk(101, 16); ++value) exact.Add(4, value);
  page = ReadPage(exact, nullptr, 101);
  EXPECT_EQ(page.entries.size(), static_cast<size_t>(FirstAsk(101, 16)));
  EXPECT_EQ(page.rounds, 2);
}

// A page needing more of a shard asks it for at most what can still come
// before the page's end, and only shards that can.
TEST(ShardedPageTest, AsksOnlyShardsThatCanStillBeInThePage) {
  std::vector<ShardRead<int>> reads(4);
  reads[0] = {.entries = {1, 2, 3}, .more = true};     // 3 before the end
  reads[1] = {.entries = {10, 11, 12}, .more = true};  // past the end
  reads[2] = {.entries = {4}, .more = false};          // holds no more
  reads[3] = {.entries = {}, .more = true};            // e.g. all skipped
  MergeStep<int> step = MergeShards(reads, 5, std::less<int>());
  EXPECT_EQ(step.reads, (std::vector<MoreOf>{{.shard = 0, .count = 2},
                                             {.shard = 3, .count = 5}}));
  EXPECT_TRUE(step.page.empty());
  reads[3].more = false;
  reads[0] = {.entries = {1, 2, 3, 5, 6}, .more = true};
  step = MergeShards(reads, 5, std::less<int>());
  EXPECT_TRUE(step.reads.empty());
  EXPECT_EQ(step.page, (std::vector<int>{1, 2, 3, 4, 5}));
  // Descending order, as the rankings.
  std::vector<ShardRead<int>> descending(2);
  descending[0] = {.entries = {9, 4}, .more = false};
  descending[1] = {.entries = {8, 7}, .more = true};
  step = MergeShards(descending, 3, std::greater<int>());
  EXPECT_TRUE(step.reads.empty());
  EXPECT_EQ(step.page, (std::vector<int>{9, 8, 7}));
  step = MergeShards(descending, 4, std::greater<int>());
  EXPECT_EQ(step.reads, (std::vector<MoreOf>{{.shard = 1, .count = 1}}));
}

// Entries added and removed between pages: every page is the list as it is
// then, after the last entry of the page before.
TEST(ShardedPageTest, PagesFollowTheListAsItChanges) {
  std::mt19937 random(3);
  Shards shards(64);
  std::set<int> present;
  for (int value = 0; value < 5000; value += 2) {
    shards.Add(static_cast<int>(random() % 64), value);
    present.insert(value);
  }
  std::optional<int> after;
  std::vector<int> walked;
  while (true) {
    Page page = ReadPage(shards, after ? &*after : nullptr, 101);
    const std::vector<int> all = shards.All();
    const auto start =
        after ? std::upper_bound(all.begin(), all.end(), *after) : all.begin();
    ASSERT_EQ(page.entries,
              std::vector<int>(
                  start, start + std::min<ptrdiff_t>(101, all.end() - start)));
    if (page.entries.size() <= 100) break;
    page.entries.pop_back();
    walked.insert(walked.end(), page.entries.begin(), page.entries.end());
    after = page.entries.back();
    // Between pages: odd values come anywhere (before and after the
    // cursor), and some entries leave.
    for (int k = 0; k < 20; ++k) {
      const int value = 2 * static_cast<int>(random() % 2500) + 1;
      if (present.insert(value).second) {
        shards.Add(static_cast<int>(random() % 64), value);
      }
      const int gone = 2 * static_cast<int>(random() % 2500);
      shards.Remove(gone);
      present.erase(gone);
    }
  }
  EXPECT_TRUE(std::is_sorted(walked.begin(), walked.end()));
  EXPECT_EQ(std::set<int>(walked.begin(), walked.end()).size(), walked.size());
}

}  // namespace
}  // namespace omnihub::sharded_page

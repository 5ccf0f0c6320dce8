// The two paged reads over sharded indexes, through the real gRPC services
// against a real redis-server (or cluster): ListSegmentMembers (64 shards)
// and ListTopCustomers (16 shards) read each shard for a few entries and
// go back only where the page needs more, so every page is checked against
// the whole sorted list: members or ranked customers all on one shard,
// heavily skewed, spread evenly, with runs of equal values, for pages of
// 1, 7, 100 and 1000, and with entries added and removed between pages.
// The indexes are written directly, to place entries on chosen shards.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "services/insights/store/insights_keys.h"
#include "services/segments/store/segment_keys.h"
#include "services/timeline/key_schema.h"
#include "tests/integration/segment_pages.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

constexpr int kPageSizes[] = {1, 7, 100, 1000};

struct Ranked {
  int64_t micros = 0;
  std::string customer_id;

  // The ranking's order: value descending, then id descending.
  bool operator<(const Ranked& other) const {
    return std::tie(micros, customer_id) >
           std::tie(other.micros, other.customer_id);
  }
  bool operator==(const Ranked&) const = default;
};

void PrintTo(const Ranked& entry, std::ostream* out) {
  *out << entry.customer_id << "=" << entry.micros;
}

class PagedReadsTest : public TimelineFixture {
 protected:
  // A well-formed customer id (c and 24 hex digits) for which `shard_of`
  // gives `shard` (any shard when negative).
  std::string IdOn(int shard,
                   const std::function<int(const std::string&)>& shard_of) {
    while (true) {
      std::string id =
          absl::StrFormat("c%08x%08x%08x", random_(), random_(), random_());
      if (shard < 0 || shard_of(id) == shard) return id;
    }
  }

  static int SegmentShardOf(const std::string& id) {
    return segments::SegmentKeys::ShardOf(id);
  }
  static int RankingShardOf(const std::string& id) {
    return static_cast<int>(timeline::StableHash(id) %
                            insights::kRankingShards);
  }

  void Command(std::vector<std::string> argv) {
    absl::StatusOr<redis::Reply> reply = RedisCommand(argv);
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_NE(reply->type, redis::Reply::Type::kError) << reply->str;
  }

  int64_t CreateSegment(const std::string& name) {
    v1::CreateSegmentRequest request;
    request.mutable_segment()->set_name(name);
    request.mutable_segment()
        ->mutable_condition()
        ->mutable_channel_count()
        ->set_channel(v1::CHANNEL_PHONE);
    request.mutable_segment()
        ->mutable_condition()
        ->mutable_channel_count()
        ->set_at_least(1);
    v1::Segment created;
    grpc::ClientContext context;
    grpc::Status status = segments_->CreateSegment(&context, request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.version();
  }

  void AddMember(const std::string& name, int64_t version,
                 const std::string& id) {
    Command({"ZADD", segment_engine_->keys().MembersOf(id, name, version), "0",
             id});
  }
  void RemoveMember(const std::string& name, int64_t version,
                    const std::string& id) {
    Command({"ZREM", segment_engine_->keys().MembersOf(id, name, version), id});
  }

  // Every page of `page_size`, each the next ids of the sorted members, the
  // last one (only) without a token.
  void ExpectMemberPagesExact(const std::string& name,
                              const std::set<std::string>& members,
                              int page_size) {
    SCOPED_TRACE(absl::StrCat(name, ", pages of ", page_size));
    const std::vector<std::string> all(members.begin(), members.end());
    std::string token;
    size_t at = 0;
    do {
      v1::ListSegmentMembersResponse page =
          MembersPage(*segments_, name, page_size, token);
      const size_t end = std::min(all.size(), at + page_size);
      ASSERT_EQ(std::vector<std::string>(page.customer_ids().begin(),
                                         page.customer_ids().end()),
                std::vector<std::string>(all.begin() + at, all.begin() + end))
          << "at " << at;
      at = end;
      EXPECT_EQ(page.next_page_token().empty(), at == all.size()) << at;
      token = page.next_page_token();
    } while (!token.empty());
    EXPECT_EQ(at, all.size());
  }

  void Rank(const std::vector<std::string>& shards, const Ranked& entry) {
    Command({"ZADD", shards[RankingShardOf(entry.customer_id)],
             absl::StrCat(entry.micros), entry.customer_id});
  }
  void Unrank(const std::vector<std::string>& shards, const Ranked& entry) {
    Command(
        {"ZREM", shards[RankingShardOf(entry.customer_id)], entry.customer_id});
  }

  v1::ListTopCustomersResponse TopPage(const std::string& currency, int limit,
                                       const std::string& token) {
    v1::ListTopCustomersRequest request;
    request.set_currency(currency);
    request.set_limit(limit);
    request.set_page_token(token);
    v1::ListTopCustomersResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        insights_->ListTopCustomers(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The next `limit` of `ranking` after `after` (from the top when null).
  static std::vector<Ranked> Slice(const std::set<Ranked>& ranking,
                                   const Ranked* after, int limit) {
    auto it = after == nullptr ? ranking.begin() : ranking.upper_bound(*after);
    std::vector<Ranked> slice;
    for (; it != ranking.end() && static_cast<int>(slice.size()) < limit;
         ++it) {
      slice.push_back(*it);
    }
    return slice;
  }

  static std::vector<Ranked> EntriesOf(
      const v1::ListTopCustomersResponse& page) {
    std::vector<Ranked> entries;
    for (const v1::TopCustomer& customer : page.customers()) {
      entries.push_back({.micros = customer.value().amount_micros(),
                         .customer_id = customer.customer_id()});
    }
    return entries;
  }

  void ExpectTopPagesExact(const std::string& currency,
                           const std::set<Ranked>& ranking, int limit) {
    SCOPED_TRACE(absl::StrCat(currency, ", pages of ", limit));
    std::string token;
    std::optional<Ranked> after;
    int64_t rank = 0;
    do {
      v1::ListTopCustomersResponse page = TopPage(currency, limit, token);
      const std::vector<Ranked> expected =
          Slice(ranking, after ? &*after : nullptr, limit);
      ASSERT_EQ(EntriesOf(page), expected) << "after rank " << rank;
      for (const v1::TopCustomer& customer : page.customers()) {
        EXPECT_EQ(customer.rank(), ++rank);
      }
      if (!expected.empty()) after = expected.back();
      EXPECT_EQ(page.next_page_token().empty(),
                rank == static_cast<int64_t>(ranking.size()))
          << rank;
      token = page.next_page_token();
    } while (!token.empty());
    EXPECT_EQ(rank, static_cast<int64_t>(ranking.size()));
  }

  // A random number in [0, n).
  int64_t Below(int64_t n) { return static_cast<int64_t>(random_() % n); }

  std::mt19937 random_{20261201};
};

TEST_F(PagedReadsTest, MemberPagesAreTheSortedMembersWhateverTheirShards) {
  // All on one shard; most on two shards and a few elsewhere; even.
  std::map<std::string, std::set<std::string>> segments;
  const int64_t one = CreateSegment("one-shard");
  const int64_t skewed = CreateSegment("skewed");
  const int64_t even = CreateSegment("even");
  for (int i = 0; i < 120; ++i) {
    segments["one-shard"].insert(IdOn(41, SegmentShardOf));
  }
  for (int i = 0; i < 240; ++i) {
    const int shard = i % 10 < 6 ? 3 : (i % 10 < 9 ? 60 : -1);
    segments["skewed"].insert(IdOn(shard, SegmentShardOf));
  }
  for (int i = 0; i < 150; ++i) {
    segments["even"].insert(IdOn(-1, SegmentShardOf));
  }
  for (const std::string& id : segments["one-shard"]) {
    AddMember("one-shard", one, id);
  }
  for (const std::string& id : segments["skewed"]) {
    AddMember("skewed", skewed, id);
  }
  for (const std::string& id : segments["even"]) AddMember("even", even, id);
  for (const auto& [name, members] : segments) {
    for (int page_size : kPageSizes) {
      ExpectMemberPagesExact(name, members, page_size);
    }
  }
  // Exactly a page's worth on one shard: no token, no empty page after.
  const int64_t exact = CreateSegment("exact");
  std::set<std::string> members;
  for (int i = 0; i < 7; ++i) members.insert(IdOn(9, SegmentShardOf));
  for (const std::string& id : members) AddMember("exact", exact, id);
  ExpectMemberPagesExact("exact", members, 7);
}

TEST_F(PagedReadsTest, MemberPagesFollowMembersAddedAndRemovedBetweenPages) {
  const int64_t version = CreateSegment("moving");
  std::set<std::string> members;
  for (int i = 0; i < 500; ++i) {
    const std::string id = IdOn(i % 2 == 0 ? 12 : -1, SegmentShardOf);
    members.insert(id);
    AddMember("moving", version, id);
  }
  for (int page_size : {7, 100}) {
    SCOPED_TRACE(page_size);
    std::string token;
    std::vector<std::string> listed;
    do {
      v1::ListSegmentMembersResponse page =
          MembersPage(*segments_, "moving", page_size, token);
      // The page is the members as they are now, after the token.
      auto start = token.empty() ? members.begin() : members.upper_bound(token);
      std::vector<std::string> expected;
      for (; start != members.end() &&
             static_cast<int>(expected.size()) < page_size;
           ++start) {
        expected.push_back(*start);
      }
      ASSERT_EQ(std::vector<std::string>(page.customer_ids().begin(),
                                         page.customer_ids().end()),
                expected);
      listed.insert(listed.end(), expected.begin(), expected.end());
      token = page.next_page_token();
      // Between pages: members come (most on the crowded shard) and go.
      for (int k = 0; k < 4; ++k) {
        const std::string id = IdOn(k < 3 ? 12 : -1, SegmentShardOf);
        members.insert(id);
        AddMember("moving", version, id);
        auto gone = members.begin();
        std::advance(gone, random_() % members.size());
        RemoveMember("moving", version, *gone);
        members.erase(gone);
      }
    } while (!token.empty());
    EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
    EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(),
              listed.size());
  }
}

TEST_F(PagedReadsTest, TopPagesAreTheRankingWhateverTheShards) {
  const auto shards_of = [&](const std::string& currency) {
    return engine_->keys().RankingShards(insights::Ranking::kHistorical,
                                         currency);
  };
  std::map<std::string, std::set<Ranked>> rankings;
  // EUR: every customer on one shard.
  for (int i = 0; i < 150; ++i) {
    rankings["EUR"].insert({.micros = 1000000 + 7919LL * Below(5000),
                            .customer_id = IdOn(11, RankingShardOf)});
  }
  // GBP: most on one shard, the rest anywhere, and runs of equal values:
  // 45 customers of 25.00 on one shard (more than a shard's first read),
  // 30 of 10.00 anywhere.
  for (int i = 0; i < 200; ++i) {
    rankings["GBP"].insert(
        {.micros = 500000 + 1000LL * Below(100000),
         .customer_id = IdOn(i % 4 == 0 ? -1 : 2, RankingShardOf)});
  }
  for (int i = 0; i < 45; ++i) {
    rankings["GBP"].insert(
        {.micros = 25000000, .customer_id = IdOn(7, RankingShardOf)});
  }
  for (int i = 0; i < 30; ++i) {
    rankings["GBP"].insert(
        {.micros = 10000000, .customer_id = IdOn(-1, RankingShardOf)});
  }
  // USD: even.
  for (int i = 0; i < 150; ++i) {
    rankings["USD"].insert({.micros = 1 + Below(100000000),
                            .customer_id = IdOn(-1, RankingShardOf)});
  }
  for (const auto& [currency, ranking] : rankings) {
    const std::vector<std::string> shards = shards_of(currency);
    for (const Ranked& entry : ranking) Rank(shards, entry);
    for (int limit : kPageSizes) ExpectTopPagesExact(currency, ranking, limit);
  }
}

TEST_F(PagedReadsTest, TopPagesFollowTheRankingAsItChanges) {
  const std::vector<std::string> shards =
      engine_->keys().RankingShards(insights::Ranking::kHistorical, "EUR");
  std::set<Ranked> ranking;
  const auto add = [&](const Ranked& entry) {
    ranking.insert(entry);
    Rank(shards, entry);
  };
  for (int i = 0; i < 400; ++i) {
    add({.micros = 1000000LL * (1 + Below(300)),  // many equal values
         .customer_id = IdOn(i % 3 == 0 ? 5 : -1, RankingShardOf)});
  }
  for (int limit : {7, 100}) {
    SCOPED_TRACE(limit);
    std::string token;
    std::optional<Ranked> after;
    std::vector<Ranked> listed;
    do {
      v1::ListTopCustomersResponse page = TopPage("EUR", limit, token);
      const std::vector<Ranked> expected =
          Slice(ranking, after ? &*after : nullptr, limit);
      ASSERT_EQ(EntriesOf(page), expected);
      if (!expected.empty()) after = expected.back();
      listed.insert(listed.end(), expected.begin(), expected.end());
      token = page.next_page_token();
      // Between pages: customers come (some with the value the page ended
      // on, on either side of its last id) and go.
      for (int k = 0; k < 4; ++k) {
        add({.micros =
                 k < 2 && after ? after->micros : 1000000LL * (1 + Below(300)),
             .customer_id = IdOn(k % 2 == 0 ? 5 : -1, RankingShardOf)});
        auto gone = ranking.begin();
        std::advance(gone, random_() % ranking.size());
        Unrank(shards, *gone);
        ranking.erase(gone);
      }
    } while (!token.empty());
    EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  }
}

}  // namespace
}  // namespace omnihub::testing

#include "services/insights/store/top_customers.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/reply_gatherer.h"
#include "common/sharded_page/sharded_page.h"

namespace omnihub::insights {
namespace {

using redis::Reply;

constexpr absl::string_view kTokenVersion = "t1";

absl::Status BadToken(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("page_token: ", why));
}

struct Entry {
  int64_t micros = 0;
  std::string customer_id;
};

// The ranking's order: value descending, then id descending.
bool Before(const Entry& a, const Entry& b) {
  return std::tie(a.micros, a.customer_id) > std::tie(b.micros, b.customer_id);
}

}  // namespace

std::string EncodeTopCursor(Ranking ranking, const std::string& currency,
                            const TopCursor& cursor) {
  return absl::WebSafeBase64Escape(absl::StrCat(
      kTokenVersion, "|", std::string(1, static_cast<char>(ranking)), "|",
      currency, "|", cursor.micros, "|", cursor.rank, "|", cursor.customer_id));
}

absl::StatusOr<TopCursor> DecodeTopCursor(const std::string& token,
                                          Ranking ranking,
                                          const std::string& currency) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return BadToken("not a page token of ListTopCustomers");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 5));
  TopCursor cursor;
  if (parts.size() != 6 || parts[0] != kTokenVersion ||
      !absl::SimpleAtoi(parts[3], &cursor.micros) ||
      !absl::SimpleAtoi(parts[4], &cursor.rank) || cursor.rank < 1 ||
      parts[5].empty()) {
    return BadToken("not a page token of ListTopCustomers");
  }
  if (parts[1] != std::string(1, static_cast<char>(ranking)) ||
      parts[2] != currency) {
    return BadToken("was given for another currency or ranking");
  }
  cursor.customer_id = std::move(parts[5]);
  return cursor;
}

namespace {

// One page being read: the shards' entries so far, read again where the
// merge asks (sharded_page), then the response. Each round's commands go
// out together and its replies come back together (ReplyGatherer), so only
// one round is ever out: the round's callback holds the read, and nothing
// else touches it meanwhile.
class TopPageRead : public std::enable_shared_from_this<TopPageRead> {
 public:
  TopPageRead(const timeline::StoreContext& context,
              const InsightsScripts& scripts, std::vector<std::string> shards,
              TopCustomersQuery query,
              timeline::Done<v1::ListTopCustomersResponse> done)
      : context_(context),
        scripts_(scripts),
        shards_(std::move(shards)),
        query_(std::move(query)),
        done_(std::move(done)),
        wanted_(static_cast<size_t>(query_.limit) + 1),
        reads_(shards_.size()) {
    if (query_.after.has_value()) {
      cursor_ = Entry{.micros = query_.after->micros,
                      .customer_id = query_.after->customer_id};
    }
  }

  // Each shard's first entries after the cursor: natively, with no script,
  // from the cursor's value down (so the entries of that value at or above
  // the cursor's id come too, and are dropped here).
  void Start() {
    const int first = sharded_page::FirstAsk(wanted_, shards_.size());
    std::vector<std::vector<std::string>> commands;
    std::vector<sharded_page::MoreOf> reads;
    for (size_t shard = 0; shard < shards_.size(); ++shard) {
      if (cursor_.has_value()) {
        commands.push_back({"ZRANGE", shards_[shard],
                            absl::StrCat(cursor_->micros), "-inf", "BYSCORE",
                            "REV", "LIMIT", "0", absl::StrCat(first),
                            "WITHSCORES"});
      } else {
        commands.push_back({"ZREVRANGE", shards_[shard], "0",
                            absl::StrCat(first - 1), "WITHSCORES"});
      }
      reads.push_back({.shard = static_cast<int>(shard), .count = first});
    }
    redis::ExecuteGathered(
        *context_.redis, std::move(commands),
        [self = shared_from_this(),
         reads = std::move(reads)](redis::Replies replies) mutable {
          self->OnRound(std::move(reads), std::move(replies));
        });
  }

 private:
  void OnRound(std::vector<sharded_page::MoreOf> reads,
               redis::Replies replies) {
    for (size_t i = 0; i < reads.size(); ++i) {
      absl::StatusOr<Reply> reply =
          redis::ErrorReplyAsStatus(std::move(replies[i]), "a ranking");
      if (!reply.ok()) return std::move(done_)(reply.status());
      if (absl::Status added = Add(reads[i], *reply); !added.ok()) {
        return std::move(done_)(added);
      }
    }
    Next();
  }

  absl::Status Add(sharded_page::MoreOf read, const Reply& reply) {
    sharded_page::ShardRead<Entry>& shard = reads_[read.shard];
    const std::vector<Reply>& flat = reply.elements;
    shard.more = static_cast<int>(flat.size() / 2) == read.count;
    for (size_t i = 0; i + 1 < flat.size(); i += 2) {
      double micros = 0;
      if (!absl::SimpleAtod(flat[i + 1].str, &micros)) {
        return absl::DataLossError(absl::StrCat(
            "a ranking holds an unreadable value \"", flat[i + 1].str, "\""));
      }
      Entry entry{.micros = std::llround(micros), .customer_id = flat[i].str};
      // The cursor's own entry and its value's entries above it.
      if (cursor_.has_value() && !Before(*cursor_, entry)) continue;
      shard.entries.push_back(std::move(entry));
    }
    return absl::OkStatus();
  }

  // Decides the page, or reads further the shards the merge asks for.
  void Next() {
    sharded_page::MergeStep<Entry> step =
        sharded_page::MergeShards(reads_, wanted_, Before);
    if (step.reads.empty()) return Finish(std::move(step.page));
    // Rare: a shard holding more of the page than its first read gave.
    auto gatherer = redis::ReplyGatherer::Create(
        step.reads.size(), [self = shared_from_this(), reads = step.reads](
                               redis::Replies replies) mutable {
          self->OnRound(std::move(reads), std::move(replies));
        });
    for (size_t i = 0; i < step.reads.size(); ++i) {
      const sharded_page::MoreOf& read = step.reads[i];
      const std::vector<Entry>& entries = reads_[read.shard].entries;
      const std::optional<Entry> after =
          entries.empty() ? cursor_ : entries.back();
      const std::string& shard = shards_[read.shard];
      if (!after.has_value()) {
        context_.redis->Execute({"ZREVRANGE", shard, "0",
                                 absl::StrCat(read.count - 1), "WITHSCORES"},
                                gatherer->Slot(i));
      } else {
        // After an entry, the script finds where the shard goes on (past
        // any entries of the same value above it).
        scripts_.ranking_page.Run(
            *context_.redis, {shard},
            {absl::StrCat(after->micros), after->customer_id,
             absl::StrCat(read.count)},
            gatherer->Slot(i));
      }
    }
  }

  void Finish(std::vector<Entry> entries) {
    v1::ListTopCustomersResponse response;
    const int64_t first_rank =
        query_.after.has_value() ? query_.after->rank + 1 : 1;
    const size_t kept =
        std::min(entries.size(), static_cast<size_t>(query_.limit));
    for (size_t i = 0; i < kept; ++i) {
      v1::TopCustomer* customer = response.add_customers();
      customer->set_customer_id(entries[i].customer_id);
      customer->set_rank(first_rank + static_cast<int64_t>(i));
      customer->mutable_value()->set_currency(query_.currency);
      customer->mutable_value()->set_amount_micros(entries[i].micros);
    }
    // The page is of limit + 1: more entries than a page means a next one.
    if (entries.size() > kept) {
      response.set_next_page_token(EncodeTopCursor(
          query_.ranking, query_.currency,
          {.micros = entries[kept - 1].micros,
           .customer_id = entries[kept - 1].customer_id,
           .rank = first_rank + static_cast<int64_t>(kept) - 1}));
    }
    std::move(done_)(std::move(response));
  }

  const timeline::StoreContext& context_;
  const InsightsScripts& scripts_;
  const std::vector<std::string> shards_;
  const TopCustomersQuery query_;
  timeline::Done<v1::ListTopCustomersResponse> done_;
  const size_t wanted_;
  std::optional<Entry> cursor_;
  std::vector<sharded_page::ShardRead<Entry>> reads_;
};

}  // namespace

void ListTopCustomers(const timeline::StoreContext& context,
                      const InsightsKeys& keys, const InsightsScripts& scripts,
                      TopCustomersQuery query,
                      timeline::Done<v1::ListTopCustomersResponse> done) {
  std::vector<std::string> shards =
      keys.RankingShards(query.ranking, query.currency);
  std::make_shared<TopPageRead>(context, scripts, std::move(shards),
                                std::move(query), std::move(done))
      ->Start();
}

namespace {

// The top members of a segment being read: a ranking page, then which of its
// customers are members, then the next page, until the answer is decided.
// One read is out at a time, and its callback holds this.
class TopMembersRead : public std::enable_shared_from_this<TopMembersRead> {
 public:
  TopMembersRead(const timeline::StoreContext& context,
                 const InsightsKeys& keys, const InsightsScripts& scripts,
                 SegmentLookup& segments, std::string segment,
                 TopCustomersQuery query, int batch, int64_t max_scanned,
                 timeline::Done<v1::ListTopCustomersResponse> done)
      : context_(context),
        keys_(keys),
        scripts_(scripts),
        segments_(segments),
        segment_(std::move(segment)),
        query_(std::move(query)),
        wanted_(query_.limit),
        batch_(std::max(batch, 1)),
        max_scanned_(max_scanned),
        done_(std::move(done)) {}

  void ReadPage() {
    TopCustomersQuery page_query = query_;
    page_query.limit = batch_;
    ListTopCustomers(context_, keys_, scripts_, std::move(page_query),
                     [self = shared_from_this()](
                         absl::StatusOr<v1::ListTopCustomersResponse> page) {
                       self->OnPage(std::move(page));
                     });
  }

 private:
  // Asked even of an empty page, so an unknown segment is NOT_FOUND however
  // the ranking stands.
  void OnPage(absl::StatusOr<v1::ListTopCustomersResponse> page) {
    if (!page.ok()) return std::move(done_)(page.status());
    std::vector<std::string> ids;
    for (const v1::TopCustomer& customer : page->customers()) {
      ids.push_back(customer.customer_id());
    }
    auto shared =
        std::make_shared<v1::ListTopCustomersResponse>(*std::move(page));
    segments_.MembersAmong(
        segment_, std::move(ids),
        [self = shared_from_this(),
         page = std::move(shared)](absl::StatusOr<std::vector<bool>> members) {
          self->OnMembers(*page, std::move(members));
        });
  }

  void OnMembers(const v1::ListTopCustomersResponse& page,
                 absl::StatusOr<std::vector<bool>> members) {
    if (!members.ok()) return std::move(done_)(members.status());
    if (page.customers_size() == 0) return Finish();
    for (int i = 0; i < page.customers_size(); ++i) {
      const v1::TopCustomer& customer = page.customers(i);
      ++scanned_;
      query_.after = TopCursor{.micros = customer.value().amount_micros(),
                               .customer_id = customer.customer_id(),
                               .rank = customer.rank()};
      if ((*members)[i]) *response_.add_customers() = customer;
      const bool last_of_ranking =
          i + 1 == page.customers_size() && page.next_page_token().empty();
      if (last_of_ranking) return Finish();
      if (response_.customers_size() == wanted_ || scanned_ >= max_scanned_) {
        response_.set_next_page_token(
            EncodeTopCursor(query_.ranking, query_.currency, *query_.after));
        return Finish();
      }
    }
    ReadPage();
  }

  void Finish() { std::move(done_)(std::move(response_)); }

  const timeline::StoreContext& context_;
  const InsightsKeys& keys_;
  const InsightsScripts& scripts_;
  SegmentLookup& segments_;
  const std::string segment_;
  TopCustomersQuery query_;
  const int wanted_;
  const int batch_;
  const int64_t max_scanned_;
  timeline::Done<v1::ListTopCustomersResponse> done_;
  int64_t scanned_ = 0;
  v1::ListTopCustomersResponse response_;
};

}  // namespace

void ListTopMembers(const timeline::StoreContext& context,
                    const InsightsKeys& keys, const InsightsScripts& scripts,
                    SegmentLookup& segments, const std::string& segment,
                    TopCustomersQuery query, int batch, int64_t max_scanned,
                    timeline::Done<v1::ListTopCustomersResponse> done) {
  std::make_shared<TopMembersRead>(context, keys, scripts, segments, segment,
                                   std::move(query), batch, max_scanned,
                                   std::move(done))
      ->ReadPage();
}

}  // namespace omnihub::insights

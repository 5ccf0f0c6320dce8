#include "services/insights/store/top_customers.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/redis/blocking_calls.h"

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

void ListTopCustomers(const timeline::StoreContext& context,
                      const InsightsKeys& keys, const InsightsScripts& scripts,
                      TopCustomersQuery query,
                      timeline::Done<v1::ListTopCustomersResponse> done) {
  struct Merge {
    absl::Mutex mutex;
    size_t left = 0;
    absl::Status error;
    std::vector<Entry> entries;
    TopCustomersQuery query;
    timeline::Done<v1::ListTopCustomersResponse> done;

    void Finish() {
      if (!error.ok()) return std::move(done)(error);
      std::sort(entries.begin(), entries.end(), Before);
      v1::ListTopCustomersResponse response;
      const int64_t first_rank =
          query.after.has_value() ? query.after->rank + 1 : 1;
      const size_t kept =
          std::min(entries.size(), static_cast<size_t>(query.limit));
      for (size_t i = 0; i < kept; ++i) {
        v1::TopCustomer* customer = response.add_customers();
        customer->set_customer_id(entries[i].customer_id);
        customer->set_rank(first_rank + static_cast<int64_t>(i));
        customer->mutable_value()->set_currency(query.currency);
        customer->mutable_value()->set_amount_micros(entries[i].micros);
      }
      // Each shard gave one more than a page: more entries than a page
      // means a next one.
      if (entries.size() > kept) {
        response.set_next_page_token(EncodeTopCursor(
            query.ranking, query.currency,
            {.micros = entries[kept - 1].micros,
             .customer_id = entries[kept - 1].customer_id,
             .rank = first_rank + static_cast<int64_t>(kept) - 1}));
      }
      std::move(done)(std::move(response));
    }
  };
  auto merge = std::make_shared<Merge>();
  const std::vector<std::string> shards =
      keys.RankingShards(query.ranking, query.currency);
  merge->left = shards.size();
  const std::string wanted = absl::StrCat(query.limit + 1);
  const std::optional<TopCursor> after = query.after;
  merge->query = std::move(query);
  merge->done = std::move(done);
  auto on_reply = [merge](absl::StatusOr<Reply> reply) {
    reply = redis::ErrorReplyAsStatus(std::move(reply), "a ranking");
    {
      absl::MutexLock lock(&merge->mutex);
      if (!reply.ok()) {
        if (merge->error.ok()) merge->error = reply.status();
      } else {
        const std::vector<Reply>& flat = reply->elements;
        for (size_t i = 0; i + 1 < flat.size(); i += 2) {
          double micros = 0;
          if (!absl::SimpleAtod(flat[i + 1].str, &micros)) {
            if (merge->error.ok()) {
              merge->error = absl::DataLossError(
                  absl::StrCat("a ranking holds an unreadable value \"",
                               flat[i + 1].str, "\""));
            }
            continue;
          }
          merge->entries.push_back(
              {.micros = std::llround(micros), .customer_id = flat[i].str});
        }
      }
      if (--merge->left > 0) return;
    }
    // The last reply: nothing else touches the merge now.
    merge->Finish();
  };
  for (const std::string& shard : shards) {
    if (!after.has_value()) {
      context.redis->Execute({"ZREVRANGE", shard, "0",
                              absl::StrCat(merge->query.limit), "WITHSCORES"},
                             on_reply);
    } else {
      scripts.ranking_page.Run(
          *context.redis, {shard},
          {absl::StrCat(after->micros), after->customer_id, wanted}, on_reply);
    }
  }
}

absl::StatusOr<v1::ListTopCustomersResponse> ListTopMembers(
    const timeline::StoreContext& context, const InsightsKeys& keys,
    const InsightsScripts& scripts, SegmentLookup& segments,
    const std::string& segment, TopCustomersQuery query, int batch,
    int64_t max_scanned) {
  v1::ListTopCustomersResponse response;
  const int wanted = query.limit;
  int64_t scanned = 0;
  while (true) {
    TopCustomersQuery page_query = query;
    page_query.limit = std::max(batch, 1);
    absl::Notification read;
    absl::StatusOr<v1::ListTopCustomersResponse> page;
    ListTopCustomers(context, keys, scripts, std::move(page_query),
                     [&](absl::StatusOr<v1::ListTopCustomersResponse> answer) {
                       page = std::move(answer);
                       read.Notify();
                     });
    read.WaitForNotification();
    if (!page.ok()) return page.status();
    std::vector<std::string> ids;
    for (const v1::TopCustomer& customer : page->customers()) {
      ids.push_back(customer.customer_id());
    }
    absl::StatusOr<std::vector<bool>> members =
        segments.MembersAmong(segment, ids);
    if (!members.ok()) return members.status();
    if (page->customers_size() == 0) return response;
    for (int i = 0; i < page->customers_size(); ++i) {
      const v1::TopCustomer& customer = page->customers(i);
      ++scanned;
      query.after = TopCursor{.micros = customer.value().amount_micros(),
                              .customer_id = customer.customer_id(),
                              .rank = customer.rank()};
      if ((*members)[i]) *response.add_customers() = customer;
      const bool last_of_ranking =
          i + 1 == page->customers_size() && page->next_page_token().empty();
      if (last_of_ranking) return response;
      if (response.customers_size() == wanted || scanned >= max_scanned) {
        response.set_next_page_token(
            EncodeTopCursor(query.ranking, query.currency, *query.after));
        return response;
      }
    }
  }
}

}  // namespace omnihub::insights

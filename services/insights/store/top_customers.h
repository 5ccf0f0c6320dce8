// The top customers of one currency, a page at a time: each of the ranking's
// shards gives its first few entries after the page token's (one ZREVRANGE,
// or after a cursor one ZRANGE … BYSCORE REV from the cursor's value), the
// shards' tops are merged, and a shard that may hold more of the page is
// read again after its last entry (the ranking_page script; sharded_page).
// A page token names the last entry of the page before (its value and id),
// so the next page goes on exactly after it while customers come and go.
//
//   ListTopCustomers(context, keys, scripts,
//       {.ranking = Ranking::kHistorical, .currency = "EUR", .limit = 100},
//       [](absl::StatusOr<v1::ListTopCustomersResponse> page) {...});
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_TOP_CUSTOMERS_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_TOP_CUSTOMERS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "omnihub/v1/insights.pb.h"
#include "services/insights/store/customer_read.h"
#include "services/insights/store/insights_keys.h"
#include "services/insights/store/segment_lookup.h"
#include "services/timeline/store_context.h"

namespace omnihub::insights {

// Where a page ends: its last entry, and that entry's rank.
struct TopCursor {
  int64_t micros = 0;
  std::string customer_id;
  int64_t rank = 0;
};

std::string EncodeTopCursor(Ranking ranking, const std::string& currency,
                            const TopCursor& cursor);
// INVALID_ARGUMENT (naming page_token) when `token` is not one of ours, or
// is of another ranking or currency.
absl::StatusOr<TopCursor> DecodeTopCursor(const std::string& token,
                                          Ranking ranking,
                                          const std::string& currency);

struct TopCustomersQuery {
  Ranking ranking = Ranking::kHistorical;
  std::string currency;
  int limit = 100;
  std::optional<TopCursor> after;
};

// Asynchronous; `done` runs on a Redis client thread. The context and the
// scripts must outlive `done` (a page may take a second round of reads).
void ListTopCustomers(const timeline::StoreContext& context,
                      const InsightsKeys& keys, const InsightsScripts& scripts,
                      TopCustomersQuery query,
                      timeline::Done<v1::ListTopCustomersResponse> done);

// The members of `segment` among the top customers: the ranking walked a
// page (`batch` entries) at a time after `query.after`, each page's
// customers checked at once, until `query.limit` members are found, the
// ranking ends, or `max_scanned` entries were looked at (the page then
// holds fewer, and its token goes on after the last entry looked at).
// Ranks and tokens are the whole ranking's, so a page token of one is a
// page token of the other. Without blocking: `done` runs once, on a Redis
// reply's thread (or at once, on a failure to send).
void ListTopMembers(const timeline::StoreContext& context,
                    const InsightsKeys& keys, const InsightsScripts& scripts,
                    SegmentLookup& segments, const std::string& segment,
                    TopCustomersQuery query, int batch, int64_t max_scanned,
                    timeline::Done<v1::ListTopCustomersResponse> done);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_TOP_CUSTOMERS_H_

#include "services/insights/store/customer_scan.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/keyspace_scan.h"
#include "services/timeline/key_schema.h"
#include "services/timeline/store_context.h"

namespace omnihub::insights {

namespace {

// Cursors of this file begin with a letter that no SCAN cursor does (those
// are hex, redis/keyspace_scan.h). A walk of the customer index:
// "x<shard, hex>:<last id given>".
constexpr absl::string_view kIndexCursor = "x";
// A SCAN that lists what it finds in the index, begun by this code: when it
// ends, the index lists every customer (see ScanAndList).
constexpr absl::string_view kListingCursor = "L";

absl::StatusOr<CustomerIdsStep> ReadIndex(const timeline::StoreContext& context,
                                          int shard, const std::string& after,
                                          int count) {
  absl::StatusOr<redis::Reply> read = timeline::Expect(
      redis::CallAndWait(
          *context.redis,
          {"ZRANGEBYLEX", context.keys.ForCustomerIndex(shard),
           after.empty() ? std::string("-") : absl::StrCat("(", after), "+",
           "LIMIT", "0", absl::StrCat(count)}),
      redis::Reply::Type::kArray, "the customer index");
  if (!read.ok()) return read.status();
  CustomerIdsStep step;
  for (redis::Reply& id : read->elements) step.ids.push_back(std::move(id.str));
  // A full shard may have more; the next shard begins from its start.
  const bool full = static_cast<int>(step.ids.size()) >= count;
  const int next = full ? shard : shard + 1;
  step.cursor = next < timeline::kCustomerIndexShards
                    ? absl::StrFormat("%s%02x:%s", kIndexCursor, next,
                                      full ? step.ids.back() : std::string())
                    : std::string("0");
  return step;
}

// One SCAN step over the view keys; what it finds is listed in the customer
// index too. Customers created since this code runs are listed by their
// first event, so once a walk begun by it (`listing`) has ended, every
// customer older than that walk was found by it (SCAN returns every key
// there for the whole walk) and the index is marked complete. A walk with
// a cursor of older code goes on without that mark.
absl::StatusOr<CustomerIdsStep> ScanAndList(
    const timeline::StoreContext& context, const InsightsKeys& keys,
    absl::string_view cursor, bool listing, int count) {
  absl::StatusOr<redis::KeyspaceScanStep> scanned =
      redis::ScanKeyspace(*context.redis, cursor,
                          {"MATCH", keys.ViewPattern(), "COUNT",
                           absl::StrCat(count), "TYPE", "hash"});
  if (!scanned.ok()) {
    return absl::Status(
        scanned.status().code(),
        absl::StrCat("scanning the customers: ", scanned.status().message()));
  }
  CustomerIdsStep step;
  step.restarted = scanned->restarted;
  if (scanned->restarted) listing = true;
  std::map<int, std::vector<std::string>> listed;  // shard -> ZADD
  for (const std::string& key : scanned->keys) {
    std::string id = keys.CustomerOfViewKey(key);
    if (id.empty()) continue;
    const int shard = static_cast<int>(timeline::StableHash(id) %
                                       timeline::kCustomerIndexShards);
    std::vector<std::string>& add = listed[shard];
    if (add.empty()) add = {"ZADD", context.keys.ForCustomerIndex(shard)};
    add.insert(add.end(), {"0", id});
    step.ids.push_back(std::move(id));
  }
  std::vector<std::vector<std::string>> writes;
  for (auto& [shard, add] : listed) writes.push_back(std::move(add));
  if (scanned->cursor == "0" && listing) {
    writes.push_back({"SET", context.keys.ForCustomerIndexComplete(), "1"});
  }
  for (absl::StatusOr<redis::Reply>& reply :
       redis::CallAllAndWait(*context.redis, std::move(writes))) {
    reply = redis::ErrorReplyAsStatus(std::move(reply), "the customer index");
    if (!reply.ok()) return reply.status();
  }
  step.cursor =
      scanned->cursor == "0"
          ? std::string("0")
          : absl::StrCat(listing ? kListingCursor : "", scanned->cursor);
  return step;
}

}  // namespace

absl::StatusOr<CustomerIdsStep> ScanCustomerIds(
    const timeline::StoreContext& context, const InsightsKeys& keys,
    const std::string& cursor, int count) {
  count = std::max(count, 1);
  if (absl::StartsWith(cursor, kIndexCursor)) {
    const std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(absl::string_view(cursor).substr(kIndexCursor.size()),
                       absl::MaxSplits(':', 1));
    int shard = 0;
    if (absl::SimpleHexAtoi(parts.first, &shard) && shard >= 0 &&
        shard < timeline::kCustomerIndexShards) {
      return ReadIndex(context, shard, std::string(parts.second), count);
    }
    // Not a cursor of this code: a walk of the index from its start.
    absl::StatusOr<CustomerIdsStep> step = ReadIndex(context, 0, "", count);
    if (step.ok()) step->restarted = true;
    return step;
  }
  if (cursor == "0") {
    absl::StatusOr<redis::Reply> complete = redis::ErrorReplyAsStatus(
        redis::CallAndWait(*context.redis,
                           {"EXISTS", context.keys.ForCustomerIndexComplete()}),
        "the customer index");
    if (!complete.ok()) return complete.status();
    if (complete->integer == 1) return ReadIndex(context, 0, "", count);
    return ScanAndList(context, keys, "0", /*listing=*/true, count);
  }
  if (absl::StartsWith(cursor, kListingCursor)) {
    return ScanAndList(context, keys,
                       absl::string_view(cursor).substr(kListingCursor.size()),
                       /*listing=*/true, count);
  }
  return ScanAndList(context, keys, cursor, /*listing=*/false, count);
}

namespace {

redis::PendingReplies StartReading(const timeline::StoreContext& context,
                                   const std::vector<std::string>& ids) {
  std::vector<std::vector<std::string>> reads;
  reads.reserve(ids.size());
  for (const std::string& id : ids) {
    reads.push_back(ReadCustomerCommand(context.keys.ForCustomer(id).view));
  }
  return redis::CallAll(*context.redis, std::move(reads));
}

// Gives the live customers among `replies` (those of `ids`) to `visit`;
// returns how many were live.
absl::StatusOr<int64_t> VisitRead(const std::vector<std::string>& ids,
                                  redis::Replies replies,
                                  const CustomerVisitor& visit) {
  int64_t live = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    absl::StatusOr<CustomerRead> read =
        ParseCustomerRead(std::move(replies[i]));
    if (!read.ok()) {
      return absl::Status(
          read.status().code(),
          absl::StrCat("customer ", ids[i], ": ", read.status().message()));
    }
    if (!read->record.has_value()) continue;  // merged away, erased
    ++live;
    if (absl::Status status = visit(ids[i], *read->record); !status.ok()) {
      return status;
    }
  }
  return live;
}

}  // namespace

absl::StatusOr<ScanResult> ScanCustomers(const timeline::StoreContext& context,
                                         const InsightsKeys& keys,
                                         const ScanOptions& options,
                                         const CustomerVisitor& visit) {
  ScanResult result;
  std::vector<std::string> pending;
  std::vector<std::string> reservoir;
  int64_t seen = 0;
  absl::BitGen random;
  // One batch is read by Redis while the one before is visited here.
  std::vector<std::string> reading;
  std::optional<redis::PendingReplies> in_flight;
  auto finish_reading = [&]() -> absl::Status {
    if (!in_flight.has_value()) return absl::OkStatus();
    absl::StatusOr<int64_t> live = VisitRead(reading, in_flight->Wait(), visit);
    in_flight.reset();
    if (!live.ok()) return live.status();
    result.visited += *live;
    return absl::OkStatus();
  };
  auto flush = [&]() -> absl::Status {
    // The replies go to a handover the pending read shares, so returning
    // early leaves nothing to write into freed memory.
    redis::PendingReplies next = StartReading(context, pending);
    if (absl::Status status = finish_reading(); !status.ok()) return status;
    reading = std::move(pending);
    pending.clear();
    in_flight = std::move(next);
    return absl::OkStatus();
  };
  std::string cursor = "0";
  do {
    absl::StatusOr<CustomerIdsStep> step =
        ScanCustomerIds(context, keys, cursor, options.scan_count);
    if (!step.ok()) return step.status();
    if (step->restarted) {
      return absl::AbortedError(
          "scanning the customers: the Redis Cluster's masters changed during "
          "the scan (a failover?); scan again");
    }
    cursor = std::move(step->cursor);
    for (std::string& id : step->ids) {
      ++seen;
      if (options.sample <= 0) {
        pending.push_back(std::move(id));
        if (static_cast<int>(pending.size()) >= options.read_batch) {
          if (absl::Status status = flush(); !status.ok()) return status;
        }
      } else if (static_cast<int64_t>(reservoir.size()) < options.sample) {
        reservoir.push_back(std::move(id));
      } else {
        // Algorithm R: the seen-th id replaces a kept one with probability
        // sample / seen.
        const int64_t slot = absl::Uniform<int64_t>(random, 0, seen);
        if (slot < options.sample) reservoir[slot] = std::move(id);
      }
    }
  } while (cursor != "0");
  for (std::string& id : reservoir) {
    pending.push_back(std::move(id));
    if (static_cast<int>(pending.size()) >= options.read_batch) {
      if (absl::Status status = flush(); !status.ok()) return status;
    }
  }
  if (!pending.empty()) {
    if (absl::Status status = flush(); !status.ok()) return status;
  }
  if (absl::Status status = finish_reading(); !status.ok()) return status;
  // View keys of merged-away customers stay (their alias); `seen` counts
  // them, so the base is what was read when it was read whole.
  result.customers = options.sample <= 0 ? result.visited : seen;
  return result;
}

}  // namespace omnihub::insights

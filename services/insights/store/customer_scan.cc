#include "services/insights/store/customer_scan.h"

#include <optional>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/keyspace_scan.h"

namespace omnihub::insights {

absl::StatusOr<CustomerIdsStep> ScanCustomerIds(
    const timeline::StoreContext& context, const InsightsKeys& keys,
    const std::string& cursor, int count) {
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
  step.cursor = std::move(scanned->cursor);
  step.restarted = scanned->restarted;
  for (const std::string& key : scanned->keys) {
    std::string id = keys.CustomerOfViewKey(key);
    if (!id.empty()) step.ids.push_back(std::move(id));
  }
  return step;
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

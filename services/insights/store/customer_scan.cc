#include "services/insights/store/customer_scan.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"

namespace omnihub::insights {

absl::StatusOr<std::string> ScanCustomerIds(
    const timeline::StoreContext& context, const InsightsKeys& keys,
    const std::string& cursor, int count, std::vector<std::string>* ids) {
  absl::StatusOr<redis::Reply> reply = timeline::Expect(
      redis::CallAndWait(*context.redis,
                         {"SCAN", cursor, "MATCH", keys.ViewPattern(), "COUNT",
                          absl::StrCat(count), "TYPE", "hash"}),
      redis::Reply::Type::kArray, "scanning the customers");
  if (!reply.ok()) return reply.status();
  if (reply->elements.size() != 2) {
    return absl::InternalError("scanning the customers: unexpected reply");
  }
  for (const redis::Reply& key : reply->elements[1].elements) {
    std::string id = keys.CustomerOfViewKey(key.str);
    if (!id.empty()) ids->push_back(std::move(id));
  }
  return reply->elements[0].str;
}

absl::StatusOr<int64_t> ReadCustomers(const timeline::StoreContext& context,
                                      const InsightsScripts& scripts,
                                      const std::vector<std::string>& ids,
                                      const CustomerVisitor& visit) {
  std::vector<redis::ScriptCall> calls;
  calls.reserve(ids.size());
  for (const std::string& id : ids) {
    calls.push_back({.keys = {context.keys.ForCustomer(id).view}, .args = {}});
  }
  redis::Replies replies =
      redis::RunAllAndWait(*context.redis, scripts.read_lifecycle, calls);
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

absl::StatusOr<ScanResult> ScanCustomers(const timeline::StoreContext& context,
                                         const InsightsKeys& keys,
                                         const InsightsScripts& scripts,
                                         const ScanOptions& options,
                                         const CustomerVisitor& visit) {
  ScanResult result;
  std::vector<std::string> pending;
  std::vector<std::string> reservoir;
  int64_t seen = 0;
  absl::BitGen random;
  auto flush = [&]() -> absl::Status {
    absl::StatusOr<int64_t> live =
        ReadCustomers(context, scripts, pending, visit);
    pending.clear();
    if (!live.ok()) return live.status();
    result.visited += *live;
    return absl::OkStatus();
  };
  std::string cursor = "0";
  do {
    std::vector<std::string> ids;
    absl::StatusOr<std::string> next =
        ScanCustomerIds(context, keys, cursor, options.scan_count, &ids);
    if (!next.ok()) return next.status();
    cursor = *std::move(next);
    for (std::string& id : ids) {
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
  // View keys of merged-away customers stay (their alias); `seen` counts
  // them, so the base is what was read when it was read whole.
  result.customers = options.sample <= 0 ? result.visited : seen;
  return result;
}

}  // namespace omnihub::insights

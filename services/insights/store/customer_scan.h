// Reads every customer of the base, a batch at a time: a walk of the
// customer index (timeline/key_schema.h) once it is complete, else SCAN over
// the view keys (node by node on a Redis Cluster, redis/keyspace_scan.h),
// which completes it; then the read script for each batch, pipelined.
// Nothing is read through a key that every event writes. Blocking: run it
// on a worker thread.
//
//   absl::Status status = ScanCustomers(context, keys, {},
//       [](const std::string& id, const CustomerRecord& record) {
//         ...; return absl::OkStatus();
//       });
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_SCAN_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_SCAN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/insights/store/customer_read.h"
#include "services/insights/store/insights_keys.h"
#include "services/timeline/store_context.h"

namespace omnihub::insights {

using CustomerVisitor = std::function<absl::Status(
    const std::string& customer_id, const CustomerRecord& record)>;

struct ScanOptions {
  // Keys asked of each SCAN call, and customers read per pipelined batch.
  int scan_count = 1000;
  int read_batch = 256;
  // At most this many customers, chosen uniformly at random from all
  // (reservoir sampling over the ids); 0: all.
  int64_t sample = 0;
};

struct ScanResult {
  int64_t customers = 0;  // live customers in the base
  int64_t visited = 0;    // of them, given to the visitor
};

// ABORTED when the cluster's masters changed during the scan (a failover):
// what was visited is incomplete, and the caller may scan again.
absl::StatusOr<ScanResult> ScanCustomers(const timeline::StoreContext& context,
                                         const InsightsKeys& keys,
                                         const ScanOptions& options,
                                         const CustomerVisitor& visit);

struct CustomerIdsStep {
  std::vector<std::string> ids;
  std::string cursor;  // the next cursor; "0": every customer was scanned
  // `cursor` could not be continued (the cluster's masters changed since
  // the scan began, or it is no cursor of this function): these are the
  // first ids of a new scan.
  bool restarted = false;
};

// The ids of the customers from `cursor` on ("0": from the start): up to
// `count` ids of one shard of the customer index, or, until the index is
// complete, one SCAN call (COUNT `count` keys) on one node, whose view keys
// are listed in the index. Ids may repeat and may name customers merged
// away or never stored (their view tells); no customer present for the
// whole walk is missed.
absl::StatusOr<CustomerIdsStep> ScanCustomerIds(
    const timeline::StoreContext& context, const InsightsKeys& keys,
    const std::string& cursor, int count);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_SCAN_H_

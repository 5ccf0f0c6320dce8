// The customer's data rights: erasure of everything stored about a customer
// (ForgetCustomer) and an export of it (ExportCustomer), with the merge log
// reader they share. Blocking: run on a worker thread (see WorkerPool).
//
// An erasure first finishes any merge under way that involves the customer
// (so nothing of the person is left on the other side), then marks the
// customer as being erased (writes to it resolve afresh from then on),
// remembers a hash of every erased event id (so a resend stores nothing),
// lets go of its identity keys and aliases, and deletes its data. Running it
// again after a crash finishes the job.
#ifndef OMNIHUB_SERVICES_TIMELINE_CUSTOMER_DATA_RIGHTS_H_
#define OMNIHUB_SERVICES_TIMELINE_CUSTOMER_DATA_RIGHTS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "omnihub/v1/customer.pb.h"
#include "services/timeline/customer_merger.h"
#include "services/timeline/store_context.h"

namespace omnihub::timeline {

class CustomerDataRights {
 public:
  CustomerDataRights(const StoreContext* context, const CustomerMerger* merger);

  // NOT_FOUND when the customer does not exist (or is already erased). Given
  // the id of a customer whose erasure was interrupted, finishes it.
  absl::StatusOr<v1::ForgetCustomerResponse> Forget(
      const std::string& customer_id) const;

  // `customer_id` is live: what CustomerMerger::Resolve answered.
  absl::StatusOr<v1::CustomerExport> Export(
      const std::string& customer_id) const;
  absl::StatusOr<v1::GetMergeLogResponse> MergeLog(
      const std::string& customer_id) const;

 private:
  const StoreContext* context_;
  const CustomerMerger* merger_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_CUSTOMER_DATA_RIGHTS_H_

// The customer's data rights: erasure of everything stored about a customer
// (ForgetCustomer) and an export of it (ExportCustomer), with the merge log
// reader they share. Blocking: run on a worker thread (see WorkerPool).
//
// An erasure first finishes any merge under way that involves the customer
// (so nothing of the person is left on the other side), then marks the
// customer as being erased (writes to it resolve afresh from then on),
// remembers a hash of every erased event id under a hash of each of its
// identities (so a resend that carries one stores nothing, for
// erased_event_window), lets go of its identity keys (those in its view and
// those recorded as being claimed for it) and aliases, and deletes its data.
// Running it again after a crash finishes the job. Asked to, it suppresses
// every identity it erases (see Suppressions) right after the mark, before
// any identity key is freed, so that no event resolved from then on can
// bring the person back.
#ifndef OMNIHUB_SERVICES_TIMELINE_CUSTOMER_DATA_RIGHTS_H_
#define OMNIHUB_SERVICES_TIMELINE_CUSTOMER_DATA_RIGHTS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "omnihub/v1/customer.pb.h"
#include "services/timeline/customer_merger.h"
#include "services/timeline/store_context.h"
#include "services/timeline/suppressions.h"

namespace omnihub::timeline {

class CustomerDataRights {
 public:
  CustomerDataRights(const StoreContext* context, const CustomerMerger* merger);

  // The identity an erasure was asked by, and the customer its key named.
  struct AskedIdentity {
    v1::Identity identity;
    std::string owner;
  };

  // NOT_FOUND when the customer does not exist (or is already erased). Given
  // the id of a customer whose erasure was interrupted, finishes it.
  // `asked` (may be null) is freed too, even when it names a customer that
  // never came to exist (its first event's ingest died half way). With
  // `suppression` (may be null), every identity erased is suppressed.
  absl::StatusOr<v1::ForgetCustomerResponse> Forget(
      const std::string& customer_id, const AskedIdentity* asked = nullptr,
      const SuppressionRequest* suppression = nullptr) const;

  // `customer_id` is live: what CustomerMerger::Resolve answered.
  absl::StatusOr<v1::CustomerExport> Export(
      const std::string& customer_id) const;
  absl::StatusOr<v1::GetMergeLogResponse> MergeLog(
      const std::string& customer_id) const;

 private:
  struct Profile {
    std::vector<std::string> identities;  // "kind:value", in the view
    std::vector<std::string> aliases;
    std::vector<std::string> merge_log_fields;
    // Recorded as being claimed, and not in the view.
    std::vector<std::string> claimed;
  };
  // The customer marked for erasure (following merges), or nullopt when it
  // does not exist.
  absl::StatusOr<std::optional<std::string>> Mark(
      const std::string& customer_id) const;
  absl::StatusOr<Profile> ReadProfile(const CustomerKeys& keys) const;
  // Takes erased customers out of the customer index.
  absl::Status Unlist(const std::vector<std::string>& customer_ids) const;
  absl::Status RememberErasedEvents(const CustomerKeys& keys,
                                    const std::vector<v1::Identity>& identities,
                                    v1::ForgetCustomerResponse& response) const;
  absl::StatusOr<v1::ForgetCustomerResponse> ForgetUnborn(
      const std::string& customer_id, const AskedIdentity* asked,
      const SuppressionRequest* suppression) const;
  // Of `identities` (the first `in_view` from the customer's view, the rest
  // recorded as being claimed for it), those that are the person's: in the
  // view, or whose key names one of `owners` or nobody.
  absl::StatusOr<std::vector<v1::Identity>> OwnIdentities(
      const std::vector<v1::Identity>& identities, size_t in_view,
      const std::vector<std::string>& owners) const;
  // With `suppression`, suppresses the identities on behalf of customer_id
  // and says so in `response`.
  absl::Status Suppress(const std::vector<v1::Identity>& identities,
                        const std::string& customer_id,
                        const SuppressionRequest* suppression,
                        v1::ForgetCustomerResponse& response) const;

  const StoreContext* context_;
  const CustomerMerger* merger_;
  Suppressions suppressions_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_CUSTOMER_DATA_RIGHTS_H_

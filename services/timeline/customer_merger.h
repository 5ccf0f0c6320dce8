// Merges customers that turned out to be one person, across Redis Cluster
// slots, safely when processes die half way and when several replicas merge
// the same customers at once.
//
// A merge of customer L into the older customer S:
//   1. intent: "L>S" and the merge record go to the pending-merges keys, so
//      any replica can finish the merge if this one dies;
//   2. mark: L's alias is set to S. From then on every write aimed at L
//      (ingest, attach, another merge) goes to S instead, so L stops changing;
//   3. events: L's events are copied to S in chunks, each chunk one atomic
//      script that skips what S already has (same or higher revision) and
//      folds the rest into S's single view;
//   4. profile: L's identities, merge log and aliases are added to S, with
//      this merge's record; the per-kind identity limits are enforced in
//      that same script (the merge was allowed on snapshots taken before,
//      and concurrent writes may have given either customer an identity
//      since), so identities that would break them stay off S;
//   5. repoint: every identity key and every alias that named L now names S
//      (compare-and-set, so no concurrent change is overwritten); the keys
//      of identities kept off S are let go instead;
//   6. finish: L's data keys are deleted, its alias stays; the intent is
//      cleared.
// Every step can run twice, or on two replicas at once, with the same end.
// Reads of L follow its alias from step 2 on.
//
// Blocking: call it on a worker thread (see WorkerPool).
#ifndef OMNIHUB_SERVICES_TIMELINE_CUSTOMER_MERGER_H_
#define OMNIHUB_SERVICES_TIMELINE_CUSTOMER_MERGER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "omnihub/v1/customer.pb.h"
#include "services/timeline/store_context.h"
#include "services/timeline/view_totals.h"

namespace omnihub::timeline {

// What proved the customers to be one person; copied into the merge records.
struct MergeTrigger {
  v1::MergeRecord::Trigger trigger = v1::MergeRecord::TRIGGER_EVENT;
  std::string event_id;
  std::string source;
  std::string reason;
  std::string principal;  // LinkIdentities: the authenticated caller
  std::vector<v1::Identity> linking_identities;
  // LinkIdentities: when the limits forbid any part (a merge, or attaching
  // `linking_identities`), fail with FAILED_PRECONDITION before changing
  // anything, instead of merging what may be merged.
  bool all_or_nothing = false;
};

// The fields of a merge log hash: "merge:<id>" for a merge into the
// customer, "refused:<id>" for a refused one (and "refused:<id>:n", how often).
inline constexpr absl::string_view kMergeLogMergedField = "merge:";
inline constexpr absl::string_view kMergeLogRefusedField = "refused:";
inline constexpr absl::string_view kMergeLogTimesSuffix = ":n";

// The reason of a refused merge record written because an event's
// unverified identities (claims, see v1::Identity.unverified) belong to
// another customer than the one the event landed on.
inline constexpr absl::string_view kUntrustedSourceReason = "untrusted source";
// The reason of the record written when a verified event took identities
// from a customer that held them only by an unverified claim.
inline constexpr absl::string_view kClaimTakenOverReason =
    "verified source took over an unverified claim";

// Where a customer id stands now.
struct LiveCustomer {
  std::string customer_id;
  // False for a customer never written to (only identity keys name it).
  bool exists = false;
};

struct MergeResult {
  // Where each customer given now lives: the survivor it was merged into,
  // or itself when the rules kept it apart. Erased customers are absent.
  absl::flat_hash_map<std::string, std::string> now_at;
  std::vector<std::string> merged;  // merged away by this call
  int refused = 0;                  // merges the rules refused
};

class CustomerMerger {
 public:
  explicit CustomerMerger(const StoreContext* context);

  // Merges the customers into the oldest of them, each one whose merge the
  // per-kind limits allow (and whose value totals fit in 64 bits together).
  absl::StatusOr<MergeResult> Merge(const std::vector<std::string>& customers,
                                    const MergeTrigger& trigger) const;

  // Writes to the merge logs of `customer_id` and of each customer in
  // `claimed_from` a refused merge (kUntrustedSourceReason): the event of
  // `trigger`, stored on `customer_id`, named unverified identities of that
  // other customer (the map's values), which were left where they are. An
  // agent who knows better confirms it with LinkIdentities. Customers that
  // are one with `customer_id` by now, or are gone, are skipped. Returns how
  // many refusals it wrote. `taken_over`: instead, the event's verified
  // identities (the map's values) were held by the other customer only by an
  // unverified claim and were taken from it (kClaimTakenOverReason). Past
  // TimelineStoreOptions::max_untrusted_records such records of a customer,
  // new ones are only counted.
  absl::StatusOr<int> NoteUntrustedClaims(
      const std::string& customer_id,
      const absl::flat_hash_map<std::string, std::vector<v1::Identity>>&
          claimed_from,
      const MergeTrigger& trigger, bool taken_over = false) const;

  // Finishes merges that were started more than `older_than` ago and not
  // finished (their replica died). Returns how many it finished.
  absl::StatusOr<int> ResumeStale(absl::Duration older_than) const;

  // Finishes every merge under way that involves `customer_id`.
  absl::Status FinishMergesOf(const std::string& customer_id) const;

  // The live customer `customer_id` stands for now, following aliases;
  // nullopt when it is erased or being erased. A customer never written to
  // is its own answer, with `exists` false.
  absl::StatusOr<std::optional<LiveCustomer>> Resolve(
      std::string customer_id) const;

 private:
  struct Snapshot {
    v1::CustomerSnapshot snapshot;
    std::vector<v1::Identity> identities;
    ViewTotals totals;
  };
  absl::StatusOr<Snapshot> TakeSnapshot(const std::string& customer_id) const;

  // One round of Merge; customers that moved on during it (taken by another
  // merge) are merged in a further round, up to `depth` 2.
  absl::StatusOr<MergeResult> MergeRound(
      const std::vector<std::string>& customers, const MergeTrigger& trigger,
      int depth) const;

  // Steps 1 to 6 for one pair; returns where L's data now lives, or nullopt
  // when the merge could not happen (L already merging elsewhere or erased,
  // S erased): the caller resolves again.
  absl::StatusOr<std::optional<std::string>> MergeOne(
      const std::string& merged, const std::string& survivor,
      const v1::MergeRecord& record) const;
  absl::StatusOr<std::optional<std::string>> Carry(
      const std::string& merged, const std::string& survivor,
      const v1::MergeRecord& record) const;

  // Runs `script` on the customer `target` with `keys_of(target)`, following
  // the target when it has moved; returns the reply and the final target, or
  // nullopt when the target is being erased.
  absl::StatusOr<std::optional<std::pair<redis::Reply, std::string>>>
  RunOnSurvivor(const redis::RedisScript& script, std::string target,
                std::vector<std::string> (*keys_of)(const CustomerKeys&),
                const std::vector<std::string>& args) const;

  absl::Status NoteRefusal(const v1::MergeRecord& record) const;
  // Writes a record of an untrusted source to both customers' merge logs
  // (over an existing record of the pair when `take_over`, else counted on
  // it), within the cap; whether either was written or counted.
  absl::StatusOr<bool> NoteUntrusted(const v1::MergeRecord& record,
                                     bool take_over) const;
  // Tells the store's observer that `survivor` took in another customer's
  // purchases and events; blocking.
  absl::Status TellObserver(const std::string& survivor) const;
  absl::Status ClearIntent(const std::string& member) const;
  absl::Status Step(absl::string_view name) const;

  const StoreContext* context_;
};

// "merge:<id>", "refused:<id>" fields of a merge log hash, to records.
std::vector<v1::MergeRecord> MergeLogFromHash(const redis::Reply& hash);

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_CUSTOMER_MERGER_H_

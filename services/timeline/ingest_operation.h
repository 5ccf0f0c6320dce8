// One event's way into Redis, or one LinkIdentities call's:
//   1. look up the owners of its identities, whether one of them is
//      suppressed (then nothing is written: an event is answered
//      SUPPRESSED, a link FAILED_PRECONDITION), and, for an event, whether
//      it was erased (its id among the erased events kept under one of its
//      identities);
//   1b. for an event, whether each owner found holds the identity only by
//      an unverified claim (its view's field is "u"): a verified identity
//      held so by a customer the event does not vouch for (none of the
//      event's verified identities is verified there) is taken from it —
//      its key freed (compare-and-set), the claim dropped from the holder's
//      view — and counts as unknown from then on (the merge logs get a
//      record after the event is stored);
//   2. decide: two or more customers reached through identities that may
//      merge are merged (on a worker thread, see CustomerMerger); the event
//      goes to the owner of its most trustworthy known identity (preferring
//      identities that may merge); none known: a new customer claims the
//      most trustworthy identity. An event of claims only goes to a
//      customer found through a claim only if it holds that identity by a
//      claim too; else to a new customer. An event's unverified identities
//      (claims, see v1::Identity.unverified) never merge and never choose the
//      customer while the event has a verified identity; one that another
//      customer has stays there, and the conflict is written to both merge
//      logs as refused ("untrusted source") after the event is stored;
//   3. record the unknown identities on the customer's side as being
//      claimed for it (so that an erasure finds their keys even if this
//      process dies before step 5: an identity key lives in a Redis Cluster
//      slot of its own, so no script can claim it and attach it at once),
//   4. then claim them (SET NX, so a concurrent claim is seen, and resolved
//      again);
//   5. store the event (or attach the identities) in one script on the
//      customer, which also says when the customer was merged away meanwhile
//      (then the claimed identities follow it) or is being erased (then
//      everything is resolved afresh), which identities a per-kind limit
//      kept out (they are released), or that it refused the event, writing
//      nothing (a total would overflow: the claimed identities are released
//      and the event fails with INVALID_ARGUMENT naming the field). Every
//      identity whose key names the customer is attached, not only those
//      claimed now, so a claim whose process died before this step is
//      completed by the next event.
// Each step is a pipelined batch of commands; the next starts from the last
// reply of the one before.
#ifndef OMNIHUB_SERVICES_TIMELINE_INGEST_OPERATION_H_
#define OMNIHUB_SERVICES_TIMELINE_INGEST_OPERATION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/redis/reply_gatherer.h"
#include "services/timeline/customer_merger.h"
#include "services/timeline/store_context.h"
#include "services/timeline/worker_pool.h"

namespace omnihub::timeline {

struct IngestOutcome {
  enum class Result {
    kAccepted,
    kUpdated,
    kDuplicate,
    kForgotten,
    kSuppressed
  };
  Result result = Result::kAccepted;
  // kSuppressed: the suppressed identity ("identities[i]", as the event
  // has them) and when its suppression ends.
  std::string suppressed_field;
  absl::Time suppressed_until;
  std::string customer_id;
  bool created_customer = false;
  std::vector<std::string> merged_customer_ids;
  // Identities left on another customer: attach-only ones, or because the
  // rules refused the merge.
  int conflicting_identities = 0;
  int refused_merges = 0;
  // Identities not attached because the customer had reached its limit.
  int identities_over_limit = 0;
  int blocked_identities = 0;
  // Unverified identities left on another customer (see
  // v1::Identity.unverified), each customer's refusal in the merge log.
  int unverified_conflicts = 0;
  int trimmed_events = 0;
  // The event is (or was, before this revision) a purchase.
  bool purchase = false;
};

// What LinkIdentities asks for.
struct LinkRequest {
  std::vector<v1::Identity> identities;  // normalised
  std::string source;
  std::string reason;
  std::string principal;  // the caller's token's, for the merge log
};

class IngestOperation : public std::enable_shared_from_this<IngestOperation> {
 public:
  IngestOperation(const StoreContext* context, const CustomerMerger* merger,
                  WorkerPool* workers, v1::InteractionEvent event,
                  Done<IngestOutcome> done);
  IngestOperation(const StoreContext* context, const CustomerMerger* merger,
                  WorkerPool* workers, LinkRequest link,
                  Done<IngestOutcome> done);

  void Start();

 private:
  IngestOperation(const StoreContext* context, const CustomerMerger* merger,
                  WorkerPool* workers, Done<IngestOutcome> done);
  void SetIdentities(std::vector<v1::Identity> identities);

  bool linking() const { return linking_; }
  // Whether identity i may prove two customers one person.
  bool Merges(size_t i) const;
  // Whether identity i is to be claimed for customer_id_ when nobody has it.
  bool Claimable(size_t i) const;

  void LookUp();
  void OnLookedUp(redis::Replies replies);
  // For an event: whether the owners found hold the identities only by a
  // claim; verified identities held so by a customer the event does not
  // vouch for are taken from it (TakeOver); then Decide.
  void CheckHolds();
  void OnHoldsChecked(redis::Replies replies, const std::vector<size_t>& which);
  void TakeOver(std::vector<size_t> which);
  // Whether a reply of the lookup says identity i is suppressed; then the
  // operation is finished (nothing written).
  bool RefuseSuppressed(redis::Replies& replies, size_t first);
  void Decide();
  void OnMerged(absl::StatusOr<MergeResult> result);
  void ChooseCustomer();
  void CreateCustomer();
  // CreateCustomer's rest, once the new id is in the customer index.
  void CreateListedCustomer();
  void ClaimFirst(size_t first);
  // Takes `customer_id` out of the customer index (a failure leaves an
  // entry that names no customer), then goes on with `next`.
  void Unlist(const std::string& customer_id,
              absl::AnyInvocable<void() &&> next);
  void ClaimUnknown();
  // Records identities `which` as being claimed for customer_id_, then
  // `next`.
  void RecordClaims(std::vector<size_t> which,
                    absl::AnyInvocable<void() &&> next);
  void Claim(std::vector<size_t> which);
  void OnClaimed(redis::Replies replies, std::vector<size_t> which);
  void Store();
  void OnStored(absl::StatusOr<redis::Reply> reply);
  // The customer moved to `alias` ("-": is being erased) under us; then,
  // when it was merged, ClaimUnknown (`claiming`) or Store.
  void FollowMove(const std::string& alias, bool claiming);
  void Release(std::vector<std::string> members);
  // The test-only ingest_step_hook (see TimelineStoreOptions).
  absl::Status Step(absl::string_view name) const;
  // The script refused the event (e.g. a total would overflow): lets go of
  // the identities claimed for it, then fails with `status`.
  void Reject(absl::Status status);

  // Points identity i's key from one customer to another ("": deletes it),
  // only where it still names the first (compare-and-set); then `next`, or
  // Fail on the first error.
  struct KeyMove {
    size_t identity;
    std::string from;
    std::string to;
  };
  void MoveIdentityKeys(std::vector<KeyMove> moves,
                        absl::AnyInvocable<void() &&> next);
  // Forgets every owner found so far and looks the identities up again.
  void ResolveAfresh();
  // Writes the merge log's refusals for unverified identities another
  // customer has, and the claims taken over (on a worker thread), then
  // Finish.
  void NoteUntrustedClaims();
  void Finish();
  void TellEventsChanged();
  void Fail(absl::Status status);

  const StoreContext* context_;
  const CustomerMerger* merger_;
  WorkerPool* workers_;
  bool linking_ = true;   // a LinkIdentities call, not an event
  MergeTrigger trigger_;  // for an event: its id and source too
  Done<IngestOutcome> done_;

  // Usable identities, most trustworthy first; owners_[i] is the customer
  // identities_[i] belongs to ("" while unknown); claimed_[i] says this
  // operation gave it to customer_id_, so it is to be attached there.
  std::vector<v1::Identity> identities_;
  std::vector<std::string> identity_keys_;
  // The identities as given, to name one in an answer.
  std::vector<v1::Identity> given_identities_;
  // IdentityHash of each identity, and for an event its ErasedEventHash.
  std::vector<std::string> identity_hashes_;
  std::string event_hash_;
  std::vector<std::string> owners_;
  // held_by_claim_[i]: owners_[i] holds identity i only by an unverified
  // claim. taken_from_[i]: the customer identity i (verified here) was taken
  // from because it held it so (for the merge log).
  std::vector<bool> held_by_claim_;
  std::vector<std::string> taken_from_;
  std::vector<bool> claimed_;
  // verified_[i]: identities_[i] is not a mere claim (always, for a link).
  // Verified identities come first, so that a new customer is created
  // through one of them when there is one.
  std::vector<bool> verified_;
  // The customer was found only through a claim (the event has no verified
  // identity that anyone has): nothing is attached to it.
  bool found_by_claim_ = false;
  // The customer identity i was recorded as being claimed for.
  std::vector<std::string> recorded_on_;
  std::string customer_id_;
  std::string stored_value_;  // the event as stored

  IngestOutcome outcome_;
  int rounds_ = 0;  // resolutions started over (bounded)
  int hops_ = 0;    // moves followed (bounded)
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_INGEST_OPERATION_H_

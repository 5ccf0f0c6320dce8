// Stores interaction events on customers in Redis and reads them back;
// resolves identities to customers, merges customers that prove to be one
// person, and carries out the customer's data rights.
//
// Asynchronous throughout: every call returns at once and reports through
// `done`, which runs on a Redis client thread or a worker thread (never block
// in it). Events are expected validated and normalised (see EventValidator).
//
//   TimelineStore store(&redis_client, TimelineStoreOptions{}, &metrics);
//   store.Ingest(event, [](absl::StatusOr<IngestOutcome> outcome) { ... });
#ifndef OMNIHUB_SERVICES_TIMELINE_TIMELINE_STORE_H_
#define OMNIHUB_SERVICES_TIMELINE_TIMELINE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/call_scope.h"
#include "omnihub/v1/customer.pb.h"
#include "omnihub/v1/timeline.pb.h"
#include "services/timeline/customer_data_rights.h"
#include "services/timeline/customer_merger.h"
#include "services/timeline/ingest_operation.h"
#include "services/timeline/page_token.h"
#include "services/timeline/store_context.h"
#include "services/timeline/suppressions.h"
#include "services/timeline/worker_pool.h"

namespace omnihub::timeline {

struct TimelineQuery {
  std::vector<int> channels;            // empty: all
  std::vector<int> kinds;               // empty: all
  std::optional<int64_t> start_micros;  // inclusive
  std::optional<int64_t> end_micros;    // exclusive
  int page_size = 50;
  std::optional<TimelineCursor> cursor;
};

struct TimelinePage {
  // The customer read: the one asked for, or the survivor it was merged
  // into (then merged_from is the one asked for).
  std::string customer_id;
  std::string merged_from;
  std::vector<v1::InteractionEvent> events;
  std::optional<TimelineCursor> next;  // unset on the last page
};

struct CustomerRead {
  v1::CustomerView view;
  std::string merged_from;  // as in TimelinePage
};

struct ResolvedCustomer {
  std::string customer_id;
  std::string merged_from;
};

class TimelineStore {
 public:
  TimelineStore(redis::RedisClient* redis, TimelineStoreOptions options,
                IdentityMetrics* metrics = nullptr);

  // Resolves the event's identities to one customer (merging customers it
  // proves to be one person, creating one when none is known) and stores the
  // event there, idempotently by event_id and revision.
  void Ingest(v1::InteractionEvent event, Done<IngestOutcome> done);

  // LinkIdentities: as an event would, but without one, merging whatever the
  // identities' policy, and failing (FAILED_PRECONDITION) rather than
  // breaking a per-kind limit.
  void Link(LinkRequest link, Done<IngestOutcome> done);

  // The customer id a selector names: by identity, the identity's owner
  // (NOT_FOUND when nobody has it); by id, the id itself. Reads follow
  // merges from there.
  void FindCustomer(const v1::CustomerSelector& selector,
                    Done<std::string> done);

  void ReadTimeline(std::string customer_id, TimelineQuery query,
                    Done<TimelinePage> done);
  void ReadCustomer(std::string customer_id, Done<CustomerRead> done);
  // What Resolve answers, without a worker thread: each step is a callback
  // of the one before, and `done` runs on a Redis client thread (or the
  // caller's), so it must not block.
  void ResolveAsync(const v1::CustomerSelector& selector,
                    Done<ResolvedCustomer> done);

  // Run on the worker threads, each kind in its share (see WorkerPool): a
  // full queue answers UNAVAILABLE at once; a call cancelled or past its
  // deadline (`call`) before a thread is free is not started. Reads and
  // exports stop between steps once the call is given up; an erasure, once
  // begun, is finished.
  void Resolve(v1::CustomerSelector selector, Done<ResolvedCustomer> done,
               redis::CallScope call = {});
  void ReadMergeLog(v1::CustomerSelector selector,
                    Done<v1::GetMergeLogResponse> done,
                    redis::CallScope call = {});
  // With `suppression`, the identities erased are suppressed too.
  void Forget(v1::CustomerSelector selector,
              Done<v1::ForgetCustomerResponse> done, redis::CallScope call = {},
              std::optional<SuppressionRequest> suppression = std::nullopt);
  void Export(v1::CustomerSelector selector, Done<v1::CustomerExport> done,
              redis::CallScope call = {});

  // The suppressions (see Suppressions), by the identity's IdentityHash.
  // Lifting, once begun, is finished.
  void ListSuppressions(int page_size, std::string cursor,
                        Done<SuppressionPage> done, redis::CallScope call = {});
  void FindSuppression(std::string identity_hash,
                       Done<std::optional<v1::Suppression>> done,
                       redis::CallScope call = {});
  void LiftSuppression(std::string identity_hash,
                       Done<std::optional<v1::Suppression>> done,
                       redis::CallScope call = {});

  // Blocking: finishes merges a dead replica left half done (started more
  // than `older_than` ago). Returns how many.
  absl::StatusOr<int> ResumeStaleMerges(absl::Duration older_than);

  const TimelineStoreOptions& options() const { return context_.options; }
  // What the store's operations share (Redis client, key names, clock), for
  // code that keeps more beside a customer's keys.
  const StoreContext& context() const { return context_; }

  // Tells `observer` of changes to customers' purchases (see
  // CustomerObserver). Call before the store is used; it must outlive it.
  void SetObserver(CustomerObserver* observer) { context_.observer = observer; }

 private:
  // A read script's answer for the customer it ran on, after following
  // merges from the customer asked for.
  struct FollowedReply {
    std::string asked;
    std::string customer_id;
    redis::Reply reply;  // an array other than {"moved", ...}
  };
  // Runs `script` with `args` on the keys `keys_of` picks of `customer_id`,
  // and again on the customer it names while it answers {"moved", id}
  // (up to kMaxAliasHops; "-": being erased, NOT_FOUND). `what` names the
  // read in errors; `script` must outlive the call.
  void RunFollowingMerges(
      const redis::RedisScript& script,
      std::vector<std::string> (*keys_of)(const CustomerKeys&),
      std::vector<std::string> args, const char* what, std::string asked,
      std::string customer_id, int hops, Done<FollowedReply> done);
  // Blocking: the live customer a selector names, following merges.
  absl::StatusOr<ResolvedCustomer> ResolveNow(
      const v1::CustomerSelector& selector) const;
  // Queues `run` on the workers; `done` gets the refusal (queue full) or
  // the reason it was dropped (call given up).
  template <typename T>
  void RunOnWorkers(WorkKind kind, redis::CallScope call,
                    bool stop_between_steps, Done<T> done,
                    absl::AnyInvocable<void(Done<T>) &&> run);
  // Blocking: erases the customer whose identity this is, and frees it.
  absl::StatusOr<v1::ForgetCustomerResponse> ForgetByIdentity(
      const v1::Identity& identity,
      const SuppressionRequest* suppression) const;

  StoreContext context_;
  CustomerMerger merger_;
  CustomerDataRights data_rights_;
  Suppressions suppressions_;
  // Last: its threads are joined first when the store goes away.
  WorkerPool workers_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_TIMELINE_STORE_H_

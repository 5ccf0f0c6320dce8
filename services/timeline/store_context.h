// What every storage operation of the timeline service shares: the Redis
// client, the key names, the options, the identity rules, the Lua scripts
// and the identity metrics. Built once by TimelineStore.
#ifndef OMNIHUB_SERVICES_TIMELINE_STORE_CONTEXT_H_
#define OMNIHUB_SERVICES_TIMELINE_STORE_CONTEXT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_script.h"
#include "services/timeline/customer_observer.h"
#include "services/timeline/identity_metrics.h"
#include "services/timeline/identity_rules.h"
#include "services/timeline/key_schema.h"

namespace omnihub::timeline {

struct RetentionPolicy {
  // Most events kept per customer; 0 keeps all.
  int64_t max_events_per_customer = 0;
  // Events that occurred longer ago are trimmed; zero keeps all.
  absl::Duration max_age = absl::ZeroDuration();
};

struct TimelineStoreOptions {
  std::string key_prefix = "omnihub:";
  RetentionPolicy retention;
  IdentityRules identity_rules;
  // Most timeline entries one GetTimeline call looks at (bounds the work of
  // filters that match little; the page then comes back short, with a token).
  int max_scan_per_page = 5000;
  // Threads for merges, erasure and export (they wait on Redis in sequence);
  // no kind of work holds all of them.
  int worker_threads = 4;
  // Jobs of one kind (merges, erasures, exports, reads) waiting for a
  // thread; past it the call is refused at once (UNAVAILABLE).
  size_t worker_max_queued = 1000;
  // Events copied per step of a merge, ids erased per step of an erasure.
  int chunk_size = 256;
  // How long an erased customer's id keeps refusing writes after the
  // erasure, so ingests already under way for it resolve afresh. Also the
  // longest an ingest may be under way: identities recorded as claimed for
  // a customer that never came to exist are forgotten after it.
  absl::Duration erased_marker_ttl = absl::Hours(1);
  // How long an erased customer's events are refused when sent again (with
  // one of its identities); their tombstones go after it.
  absl::Duration erased_event_window = absl::Hours(24 * 30);
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Keep each customer's purchase days for the insights (off only to
  // measure what they cost).
  bool keep_purchases = true;
  // Most merge-log records of untrusted sources (claims refused, claims
  // taken over) one customer keeps; past it they are only counted
  // (omnihub_untrusted_records_dropped_total). 0: no limit.
  int64_t max_untrusted_records = 100;
  // Tests only: called between the steps of a merge with the step's name; a
  // non-OK status stops the merge right there, as if the process had died.
  std::function<absl::Status(absl::string_view step)> merge_step_hook;
  // Tests only, as merge_step_hook, between the steps of an ingest:
  // "recorded" (identities recorded as claimed for the customer, before they
  // are claimed) and "claimed" (claimed, before the script attaches them).
  // Called on a Redis client thread: it must not block.
  std::function<absl::Status(absl::string_view step)> ingest_step_hook;
};

template <typename T>
using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

struct StoreScripts {
  StoreScripts();
  redis::RedisScript ingest_event;
  redis::RedisScript attach_identities;
  redis::RedisScript absorb_events;
  redis::RedisScript absorb_profile;
  redis::RedisScript begin_merge;
  redis::RedisScript finish_merge;
  redis::RedisScript compare_and_set;
  redis::RedisScript merge_intent;
  redis::RedisScript begin_forget;
  redis::RedisScript resolve_customer;
  redis::RedisScript read_timeline;
  redis::RedisScript read_customer;
  redis::RedisScript record_claims;
  redis::RedisScript free_identity;
  redis::RedisScript suppress_identity;
  redis::RedisScript drop_claim;
  redis::RedisScript note_untrusted;
};

struct StoreContext {
  redis::RedisClient* redis;
  KeySchema keys;
  TimelineStoreOptions options;
  StoreScripts scripts;
  IdentityMetrics* metrics;  // may be null
  // Told of changes to a customer's purchases; may be null. Set before the
  // store is used.
  CustomerObserver* observer = nullptr;

  // The retention arguments of the scripts that store events: most events
  // kept, and the oldest occurred_at kept ('0': any).
  std::string MaxEventsArgument() const;
  std::string OldestKeptArgument(absl::Time now) const;
  // erased_marker_ttl in milliseconds, as the scripts take it.
  std::string MarkerTtlArgument() const;
};

// The field of a customer's view hash naming the customer it was merged
// into ("-": it is being erased).
inline constexpr char kAliasField[] = "alias";

// Alias chains longer than this are treated as corrupt.
inline constexpr int kMaxAliasHops = 32;

// NOT_FOUND for a customer id that names no customer (or an erased one).
absl::Status CustomerNotFound(absl::string_view customer_id);

// A decimal the scripts wrote; 0 when absent or not a number.
int64_t IntegerOrZero(const std::string& text);

// A customer's identities are its view's fields "i:<kind>:<value>"; the value
// is kClaimedIdentityValue while the customer holds the identity only by an
// unverified claim (see v1::Identity.unverified), else "1".
inline constexpr absl::string_view kIdentityFieldPrefix = "i:";
inline constexpr absl::string_view kClaimedIdentityValue = "u";

// The identities ("kind:value") among the field names of a customer's view
// hash (an HKEYS reply), where each is the field "i:kind:value".
std::vector<std::string> IdentityMembersOf(
    const std::vector<redis::Reply>& fields);

// "c:{id}" style keys of one customer, in the order the scripts take them.
std::vector<std::string> AllDataKeys(const CustomerKeys& keys);

// Every field and value of a hash, a chunk (HSCAN) at a time: `each` gets
// them flat (field, value, field, value, ...). Blocking.
absl::Status ScanHash(
    const StoreContext& context, const std::string& key,
    const std::function<absl::Status(std::vector<redis::Reply>&)>& each);

// An error reply as a status (see redis::ErrorReplyAsStatus); a reply that is
// not of `type` as INTERNAL naming `what`.
absl::StatusOr<redis::Reply> Expect(absl::StatusOr<redis::Reply> reply,
                                    redis::Reply::Type type,
                                    absl::string_view what);

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_STORE_CONTEXT_H_

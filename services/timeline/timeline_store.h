// Stores interaction events on customers in Redis and reads them back.
//
// Asynchronous throughout: every call returns at once and reports through
// `done`, which runs on a Redis client thread (never block in it). Events are
// expected validated and normalised (see EventValidator).
//
//   TimelineStore store(&redis_client, TimelineStoreOptions{});
//   store.Ingest(event, [](absl::StatusOr<IngestOutcome> outcome) { ... });
#ifndef OMNIHUB_SERVICES_TIMELINE_TIMELINE_STORE_H_
#define OMNIHUB_SERVICES_TIMELINE_TIMELINE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_script.h"
#include "omnihub/v1/timeline.pb.h"
#include "services/timeline/key_schema.h"
#include "services/timeline/page_token.h"

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
  // Most timeline entries one GetTimeline call looks at (bounds the work of
  // filters that match little; the page then comes back short, with a token).
  int max_scan_per_page = 5000;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

struct IngestOutcome {
  enum class Result { kAccepted, kUpdated, kDuplicate };
  Result result = Result::kAccepted;
  std::string customer_id;
  bool created_customer = false;
  // Identities of the event that already belong to another customer (merging
  // customers is not done yet): they are left where they are.
  int conflicting_identities = 0;
  int trimmed_events = 0;
};

struct TimelineQuery {
  std::vector<int> channels;            // empty: all
  std::vector<int> kinds;               // empty: all
  std::optional<int64_t> start_micros;  // inclusive
  std::optional<int64_t> end_micros;    // exclusive
  int page_size = 50;
  std::optional<TimelineCursor> cursor;
};

struct TimelinePage {
  std::vector<v1::InteractionEvent> events;
  std::optional<TimelineCursor> next;  // unset on the last page
};

template <typename T>
using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

class TimelineStore {
 public:
  TimelineStore(redis::RedisClient* redis, TimelineStoreOptions options);

  // Resolves the event's identities to one customer (creating one when none is
  // known) and stores the event there, idempotently by event_id and revision.
  void Ingest(v1::InteractionEvent event, Done<IngestOutcome> done);

  // The customer a selector names: NOT_FOUND when there is none.
  void FindCustomer(const v1::CustomerSelector& selector,
                    Done<std::string> done);

  void ReadTimeline(std::string customer_id, TimelineQuery query,
                    Done<TimelinePage> done);

  void ReadCustomer(std::string customer_id, Done<v1::CustomerView> done);

  // The pieces an ingest needs; public for the operation that runs it.
  struct Context {
    redis::RedisClient* redis;
    KeySchema keys;
    TimelineStoreOptions options;
    redis::RedisScript ingest_script;
    redis::RedisScript resolve_script;
    redis::RedisScript read_timeline_script;
    redis::RedisScript read_customer_script;
  };

 private:
  Context context_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_TIMELINE_STORE_H_

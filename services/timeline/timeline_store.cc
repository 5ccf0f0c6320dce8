#include "services/timeline/timeline_store.h"

#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/redis/blocking_calls.h"
#include "services/timeline/customer_view.h"
#include "services/timeline/stored_event.h"

namespace omnihub::timeline {
namespace {

using redis::Reply;

// ",1,3," for the script's substring test; "" means no filter.
std::string FilterList(const std::vector<int>& values) {
  if (values.empty()) return "";
  return absl::StrCat(",", absl::StrJoin(values, ","), ",");
}

// What to do with a read script's answer that the customer moved: the next
// customer to read, or the error to answer with.
absl::StatusOr<std::string> FollowRead(const std::string& asked,
                                       const std::string& alias, int hops) {
  if (alias == "-") return CustomerNotFound(asked);  // being erased
  if (hops >= kMaxAliasHops) {
    return absl::InternalError(
        absl::StrCat("customer ", asked, " has too many aliases in a chain"));
  }
  return alias;
}

}  // namespace

TimelineStore::TimelineStore(redis::RedisClient* redis,
                             TimelineStoreOptions options,
                             IdentityMetrics* metrics)
    : context_{.redis = redis,
               .keys = KeySchema(options.key_prefix),
               .options = std::move(options),
               .scripts = StoreScripts(),
               .metrics = metrics},
      merger_(&context_),
      data_rights_(&context_, &merger_),
      suppressions_(&context_),
      workers_(context_.options.worker_threads,
               context_.options.worker_max_queued, /*keep_one_free=*/true) {}

void TimelineStore::Ingest(v1::InteractionEvent event,
                           Done<IngestOutcome> done) {
  std::make_shared<IngestOperation>(&context_, &merger_, &workers_,
                                    std::move(event), std::move(done))
      ->Start();
}

void TimelineStore::Link(LinkRequest link, Done<IngestOutcome> done) {
  std::make_shared<IngestOperation>(&context_, &merger_, &workers_,
                                    std::move(link), std::move(done))
      ->Start();
}

void TimelineStore::FindCustomer(const v1::CustomerSelector& selector,
                                 Done<std::string> done) {
  if (!selector.has_identity()) {
    if (!IsWellFormedCustomerId(selector.customer_id())) {
      return std::move(done)(absl::InvalidArgumentError(absl::StrCat(
          "customer.customer_id: \"", selector.customer_id(),
          "\" is not a customer id (c followed by 24 hex digits)")));
    }
    return std::move(done)(selector.customer_id());
  }
  context_.redis->Execute(
      {"GET", context_.keys.ForIdentity(selector.identity())},
      [done = std::move(done)](absl::StatusOr<Reply> reply) mutable {
        reply = redis::ErrorReplyAsStatus(std::move(reply), "identity lookup");
        if (!reply.ok()) return std::move(done)(reply.status());
        if (reply->type != Reply::Type::kString) {
          return std::move(done)(
              absl::NotFoundError("no customer has this identity"));
        }
        std::move(done)(std::move(reply->str));
      });
}

void TimelineStore::RunFollowingMerges(
    const redis::RedisScript& script,
    std::vector<std::string> (*keys_of)(const CustomerKeys&),
    std::vector<std::string> args, const char* what, std::string asked,
    std::string customer_id, int hops, Done<FollowedReply> done) {
  std::vector<std::string> keys =
      keys_of(context_.keys.ForCustomer(customer_id));
  script.Run(
      *context_.redis, std::move(keys), args,
      [this, &script, keys_of, args, what, asked = std::move(asked),
       customer_id = std::move(customer_id), hops,
       done = std::move(done)](absl::StatusOr<Reply> reply) mutable {
        reply = Expect(std::move(reply), Reply::Type::kArray, what);
        if (!reply.ok()) return std::move(done)(reply.status());
        const std::vector<Reply>& parts = reply->elements;
        if (parts.size() == 2 && parts[0].str == "moved") {
          absl::StatusOr<std::string> next =
              FollowRead(asked, parts[1].str, hops);
          if (!next.ok()) return std::move(done)(next.status());
          return RunFollowingMerges(script, keys_of, std::move(args), what,
                                    std::move(asked), *std::move(next),
                                    hops + 1, std::move(done));
        }
        std::move(done)(FollowedReply{.asked = std::move(asked),
                                      .customer_id = std::move(customer_id),
                                      .reply = *std::move(reply)});
      });
}

void TimelineStore::ReadTimeline(std::string customer_id, TimelineQuery query,
                                 Done<TimelinePage> done) {
  std::string upper = "+inf";
  std::string cursor_at;
  std::string cursor_id;
  if (query.cursor.has_value()) {
    // Inclusive: later events on the cursor's own time still follow it.
    upper = absl::StrCat(query.cursor->occurred_at_micros);
    cursor_at = upper;
    cursor_id = query.cursor->event_id;
  } else if (query.end_micros.has_value()) {
    upper = absl::StrCat("(", *query.end_micros);
  }
  const std::string lower = query.start_micros.has_value()
                                ? absl::StrCat(*query.start_micros)
                                : std::string("-inf");
  std::vector<std::string> args = {
      upper,
      cursor_at,
      cursor_id,
      lower,
      absl::StrCat(query.page_size),
      FilterList(query.channels),
      FilterList(query.kinds),
      absl::StrCat(context_.options.max_scan_per_page)};
  std::string asked = customer_id;
  RunFollowingMerges(
      context_.scripts.read_timeline,
      [](const CustomerKeys& keys) -> std::vector<std::string> {
        return {keys.events, keys.timeline, keys.view};
      },
      std::move(args), "timeline read", std::move(asked),
      std::move(customer_id), 0,
      [done = std::move(done)](absl::StatusOr<FollowedReply> read) mutable {
        if (!read.ok()) return std::move(done)(read.status());
        const std::vector<Reply>& parts = read->reply.elements;
        if (parts.size() < 3) {
          return std::move(done)(
              absl::InternalError("timeline read: unexpected reply"));
        }
        TimelinePage page;
        page.customer_id = read->customer_id;
        if (read->asked != read->customer_id) page.merged_from = read->asked;
        if (parts[0].integer == 1) {
          page.next =
              TimelineCursor{.occurred_at_micros = IntegerOrZero(parts[1].str),
                             .event_id = parts[2].str};
        }
        for (size_t i = 3; i + 1 < parts.size(); i += 2) {
          absl::StatusOr<v1::InteractionEvent> event =
              DecodeStoredEvent(parts[i].str, parts[i + 1].str);
          if (!event.ok()) return std::move(done)(event.status());
          event->set_customer_id(read->customer_id);
          page.events.push_back(*std::move(event));
        }
        std::move(done)(std::move(page));
      });
}

void TimelineStore::ReadCustomer(std::string customer_id,
                                 Done<CustomerRead> done) {
  std::string asked = customer_id;
  RunFollowingMerges(
      context_.scripts.read_customer,
      [](const CustomerKeys& keys) -> std::vector<std::string> {
        return {keys.view, keys.events, keys.aliases};
      },
      {}, "customer read", std::move(asked), std::move(customer_id), 0,
      [done = std::move(done)](absl::StatusOr<FollowedReply> read) mutable {
        if (!read.ok()) return std::move(done)(read.status());
        const std::vector<Reply>& parts = read->reply.elements;
        if (parts.size() == 1 && parts[0].str == "missing") {
          return std::move(done)(CustomerNotFound(read->asked));
        }
        absl::StatusOr<v1::CustomerView> view =
            CustomerViewFromReply(read->customer_id, read->reply);
        if (!view.ok()) return std::move(done)(view.status());
        CustomerRead customer;
        customer.view = *std::move(view);
        if (read->asked != read->customer_id) {
          customer.merged_from = std::move(read->asked);
        }
        std::move(done)(std::move(customer));
      });
}

void TimelineStore::ResolveAsync(const v1::CustomerSelector& selector,
                                 Done<ResolvedCustomer> done) {
  FindCustomer(selector, [this, by_identity = selector.has_identity(),
                          done = std::move(done)](
                             absl::StatusOr<std::string> found) mutable {
    if (!found.ok()) return std::move(done)(found.status());
    std::string asked = *found;
    RunFollowingMerges(
        context_.scripts.resolve_customer,
        [](const CustomerKeys& keys) -> std::vector<std::string> {
          return {keys.view};
        },
        {}, "the customer lookup", std::move(asked), *std::move(found), 0,
        [by_identity,
         done = std::move(done)](absl::StatusOr<FollowedReply> read) mutable {
          if (!read.ok()) return std::move(done)(read.status());
          const std::vector<Reply>& parts = read->reply.elements;
          // Erased, or never written to: no customer for the caller.
          if (parts.empty() || parts[0].str != "live") {
            return std::move(done)(CustomerNotFound(read->asked));
          }
          ResolvedCustomer resolved;
          resolved.customer_id = std::move(read->customer_id);
          if (!by_identity && read->asked != resolved.customer_id) {
            resolved.merged_from = std::move(read->asked);
          }
          std::move(done)(std::move(resolved));
        });
  });
}

absl::StatusOr<ResolvedCustomer> TimelineStore::ResolveNow(
    const v1::CustomerSelector& selector) const {
  std::string asked = selector.customer_id();
  if (selector.has_identity()) {
    absl::StatusOr<Reply> owner = redis::ErrorReplyAsStatus(
        redis::CallAndWait(*context_.redis, {"GET", context_.keys.ForIdentity(
                                                        selector.identity())}),
        "identity lookup");
    if (!owner.ok()) return owner.status();
    if (owner->type != Reply::Type::kString) {
      return absl::NotFoundError("no customer has this identity");
    }
    asked = owner->str;
  } else if (!IsWellFormedCustomerId(asked)) {
    return absl::InvalidArgumentError(
        absl::StrCat("customer.customer_id: \"", asked,
                     "\" is not a customer id (c followed by 24 hex digits)"));
  }
  absl::StatusOr<std::optional<LiveCustomer>> live = merger_.Resolve(asked);
  if (!live.ok()) return live.status();
  // Erased, or never written to: no customer for the caller.
  if (!live->has_value() || !(*live)->exists) return CustomerNotFound(asked);
  ResolvedCustomer resolved;
  resolved.customer_id = (*live)->customer_id;
  if (!selector.has_identity() && asked != resolved.customer_id) {
    resolved.merged_from = asked;
  }
  return resolved;
}

template <typename T>
void TimelineStore::RunOnWorkers(WorkKind kind, redis::CallScope call,
                                 bool stop_between_steps, Done<T> done,
                                 absl::AnyInvocable<void(Done<T>) &&> run) {
  // `done` is shared by the job's two ways out; exactly one of them runs, or
  // neither when the queue refuses it.
  auto shared_done = std::make_shared<Done<T>>(std::move(done));
  absl::Status queued = workers_.Schedule(
      kind, {.run =
                 [shared_done, run = std::move(run)]() mutable {
                   std::move(run)(std::move(*shared_done));
                 },
             .drop =
                 [shared_done](absl::Status why) {
                   std::move (*shared_done)(std::move(why));
                 },
             .call = std::move(call),
             .stop_between_steps = stop_between_steps});
  if (!queued.ok()) std::move (*shared_done)(std::move(queued));
}

void TimelineStore::Resolve(v1::CustomerSelector selector,
                            Done<ResolvedCustomer> done,
                            redis::CallScope call) {
  RunOnWorkers<ResolvedCustomer>(
      WorkKind::kRead, std::move(call), true, std::move(done),
      [this,
       selector = std::move(selector)](Done<ResolvedCustomer> done) mutable {
        std::move(done)(ResolveNow(selector));
      });
}

void TimelineStore::ReadMergeLog(v1::CustomerSelector selector,
                                 Done<v1::GetMergeLogResponse> done,
                                 redis::CallScope call) {
  RunOnWorkers<v1::GetMergeLogResponse>(
      WorkKind::kRead, std::move(call), true, std::move(done),
      [this, selector = std::move(selector)](
          Done<v1::GetMergeLogResponse> done) mutable {
        absl::StatusOr<ResolvedCustomer> customer = ResolveNow(selector);
        if (!customer.ok()) return std::move(done)(customer.status());
        std::move(done)(data_rights_.MergeLog(customer->customer_id));
      });
}

void TimelineStore::Forget(v1::CustomerSelector selector,
                           Done<v1::ForgetCustomerResponse> done,
                           redis::CallScope call,
                           std::optional<SuppressionRequest> suppression) {
  // Once begun, finished: a half-done erasure hides the customer until it
  // is asked for again.
  RunOnWorkers<v1::ForgetCustomerResponse>(
      WorkKind::kErasure, std::move(call), false, std::move(done),
      [this, selector = std::move(selector),
       suppression = std::move(suppression)](
          Done<v1::ForgetCustomerResponse> done) mutable {
        const SuppressionRequest* suppress =
            suppression.has_value() ? &*suppression : nullptr;
        if (selector.has_identity()) {
          return std::move(done)(
              ForgetByIdentity(selector.identity(), suppress));
        }
        // An id whose erasure was interrupted is resumed as it is.
        std::string customer_id = selector.customer_id();
        if (!IsWellFormedCustomerId(customer_id)) {
          absl::StatusOr<ResolvedCustomer> customer = ResolveNow(selector);
          if (!customer.ok()) return std::move(done)(customer.status());
          customer_id = customer->customer_id;
        }
        std::move(done)(data_rights_.Forget(customer_id, nullptr, suppress));
      });
}

absl::StatusOr<v1::ForgetCustomerResponse> TimelineStore::ForgetByIdentity(
    const v1::Identity& identity, const SuppressionRequest* suppression) const {
  absl::StatusOr<Reply> owner = redis::ErrorReplyAsStatus(
      redis::CallAndWait(*context_.redis,
                         {"GET", context_.keys.ForIdentity(identity)}),
      "identity lookup");
  if (!owner.ok()) return owner.status();
  if (owner->type != Reply::Type::kString) {
    return absl::NotFoundError("no customer has this identity");
  }
  const CustomerDataRights::AskedIdentity asked = {.identity = identity,
                                                   .owner = owner->str};
  absl::StatusOr<std::optional<LiveCustomer>> live =
      merger_.Resolve(owner->str);
  if (!live.ok()) return live.status();
  // A customer being erased is resumed; one never written to (its first
  // ingest died after claiming the identity) is erased as it is, which frees
  // the identity.
  std::string target = owner->str;
  if (live->has_value() && (*live)->exists) target = (*live)->customer_id;
  return data_rights_.Forget(target, &asked, suppression);
}

void TimelineStore::ListSuppressions(int page_size, std::string cursor,
                                     Done<SuppressionPage> done,
                                     redis::CallScope call) {
  RunOnWorkers<SuppressionPage>(
      WorkKind::kRead, std::move(call), true, std::move(done),
      [this, page_size,
       cursor = std::move(cursor)](Done<SuppressionPage> done) mutable {
        std::move(done)(suppressions_.List(page_size, cursor));
      });
}

void TimelineStore::FindSuppression(std::string identity_hash,
                                    Done<std::optional<v1::Suppression>> done,
                                    redis::CallScope call) {
  RunOnWorkers<std::optional<v1::Suppression>>(
      WorkKind::kRead, std::move(call), true, std::move(done),
      [this, identity_hash = std::move(identity_hash)](
          Done<std::optional<v1::Suppression>> done) mutable {
        std::move(done)(suppressions_.Find(identity_hash));
      });
}

void TimelineStore::LiftSuppression(std::string identity_hash,
                                    Done<std::optional<v1::Suppression>> done,
                                    redis::CallScope call) {
  RunOnWorkers<std::optional<v1::Suppression>>(
      WorkKind::kErasure, std::move(call), false, std::move(done),
      [this, identity_hash = std::move(identity_hash)](
          Done<std::optional<v1::Suppression>> done) mutable {
        absl::StatusOr<std::optional<v1::Suppression>> lifted =
            suppressions_.Lift(identity_hash);
        if (lifted.ok() && lifted->has_value() && context_.metrics) {
          context_.metrics->suppressions_lifted().Increment();
        }
        std::move(done)(std::move(lifted));
      });
}

void TimelineStore::Export(v1::CustomerSelector selector,
                           Done<v1::CustomerExport> done,
                           redis::CallScope call) {
  RunOnWorkers<v1::CustomerExport>(
      WorkKind::kExport, std::move(call), true, std::move(done),
      [this,
       selector = std::move(selector)](Done<v1::CustomerExport> done) mutable {
        absl::StatusOr<ResolvedCustomer> customer = ResolveNow(selector);
        if (!customer.ok()) return std::move(done)(customer.status());
        std::move(done)(data_rights_.Export(customer->customer_id));
      });
}

absl::StatusOr<int> TimelineStore::ResumeStaleMerges(
    absl::Duration older_than) {
  return merger_.ResumeStale(older_than);
}

}  // namespace omnihub::timeline

#include "services/timeline/ingest_operation.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"
#include "services/timeline/stored_event.h"
#include "services/timeline/suppressions.h"

namespace omnihub::timeline {
namespace {

using redis::Replies;
using redis::Reply;
using redis::ReplyGatherer;

// Resolutions started over because identities changed owner meanwhile, and
// moves followed; both bound work that concurrent merges could prolong.
constexpr int kMaxRounds = 5;
constexpr int kMaxHops = 32;

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

IngestOperation::IngestOperation(const StoreContext* context,
                                 const CustomerMerger* merger,
                                 WorkerPool* workers, Done<IngestOutcome> done)
    : context_(context),
      merger_(merger),
      workers_(workers),
      done_(std::move(done)) {}

IngestOperation::IngestOperation(const StoreContext* context,
                                 const CustomerMerger* merger,
                                 WorkerPool* workers,
                                 v1::InteractionEvent event,
                                 Done<IngestOutcome> done)
    : IngestOperation(context, merger, workers, std::move(done)) {
  linking_ = false;
  trigger_.trigger = v1::MergeRecord::TRIGGER_EVENT;
  trigger_.event_id = event.event_id();
  trigger_.source = event.source();
  event_hash_ = ErasedEventHash(event.event_id());
  SetIdentities({event.identities().begin(), event.identities().end()});
  stored_value_ = EncodeStoredEvent(std::move(event));
}

IngestOperation::IngestOperation(const StoreContext* context,
                                 const CustomerMerger* merger,
                                 WorkerPool* workers, LinkRequest link,
                                 Done<IngestOutcome> done)
    : IngestOperation(context, merger, workers, std::move(done)) {
  trigger_.trigger = v1::MergeRecord::TRIGGER_LINK;
  trigger_.source = std::move(link.source);
  trigger_.reason = std::move(link.reason);
  trigger_.principal = std::move(link.principal);
  trigger_.all_or_nothing = true;
  SetIdentities(std::move(link.identities));
}

void IngestOperation::SetIdentities(std::vector<v1::Identity> identities) {
  given_identities_ = identities;
  identities_ = context_->options.identity_rules.Usable(std::move(identities));
  outcome_.blocked_identities =
      static_cast<int>(given_identities_.size() - identities_.size());
  // A link is an explicit statement of a trusted caller: nothing in it is a
  // claim.
  if (!linking()) {
    std::stable_partition(
        identities_.begin(), identities_.end(),
        [](const v1::Identity& identity) { return !identity.unverified(); });
  }
  for (const v1::Identity& identity : identities_) {
    identity_keys_.push_back(context_->keys.ForIdentity(identity));
    identity_hashes_.push_back(IdentityHash(identity));
    verified_.push_back(linking() || !identity.unverified());
  }
  owners_.resize(identities_.size());
  held_by_claim_.resize(identities_.size());
  taken_from_.resize(identities_.size());
  claimed_.resize(identities_.size());
  recorded_on_.resize(identities_.size());
}

absl::Status IngestOperation::Step(absl::string_view name) const {
  if (!context_->options.ingest_step_hook) return absl::OkStatus();
  return context_->options.ingest_step_hook(name);
}

bool IngestOperation::Merges(size_t i) const {
  return linking() ||
         (verified_[i] && context_->options.identity_rules.PolicyOf(
                              identities_[i].kind()) == IdentityPolicy::kMerge);
}

bool IngestOperation::Claimable(size_t i) const {
  return owners_[i].empty() && (verified_[i] || !found_by_claim_);
}

void IngestOperation::Start() {
  if (context_->metrics && outcome_.blocked_identities > 0) {
    context_->metrics->identities_blocked().Increment(
        outcome_.blocked_identities);
  }
  if (linking() && outcome_.blocked_identities > 0) {
    return Fail(absl::InvalidArgumentError(
        "identities: a blocked identity cannot be linked (see "
        "--identity_blocklist)"));
  }
  if (identities_.empty()) {
    return Fail(absl::InvalidArgumentError(
        "identities: every identity is blocked by the identity rules, so "
        "the event belongs to no customer"));
  }
  LookUp();
}

void IngestOperation::LookUp() {
  // Also, in the same round trip, whether an identity is suppressed, and
  // for an event whether its id is among the erased events of a customer
  // that had one of its identities: a different person's event that reuses
  // the id is not refused.
  const size_t count = identities_.size();
  const size_t checks = linking() ? 0 : count;
  auto gatherer = ReplyGatherer::Create(
      2 * count + checks, [self = shared_from_this()](Replies replies) {
        self->OnLookedUp(std::move(replies));
      });
  for (size_t i = 0; i < count; ++i) {
    context_->redis->Execute({"GET", identity_keys_[i]}, gatherer->Slot(i));
  }
  for (size_t i = 0; i < checks; ++i) {
    context_->redis->Execute(
        {"ZSCORE", context_->keys.ForErasedEvents(identity_hashes_[i]),
         event_hash_},
        gatherer->Slot(count + i));
  }
  for (size_t i = 0; i < count; ++i) {
    context_->redis->Execute(
        SuppressionLookup(context_->keys, identity_hashes_[i]),
        gatherer->Slot(count + checks + i));
  }
}

bool IngestOperation::RefuseSuppressed(Replies& replies, size_t first) {
  const absl::Time now = context_->options.clock();
  for (size_t i = 0; i < identities_.size(); ++i) {
    absl::StatusOr<Reply> reply = redis::ErrorReplyAsStatus(
        std::move(replies[first + i]), "the suppression check");
    if (!reply.ok()) {
      Fail(reply.status());
      return true;
    }
    const std::optional<absl::Time> until = SuppressedUntil(*reply, now);
    if (!until.has_value()) continue;
    size_t given = 0;
    while (given + 1 < given_identities_.size() &&
           (given_identities_[given].kind() != identities_[i].kind() ||
            given_identities_[given].value() != identities_[i].value())) {
      ++given;
    }
    const std::string field = absl::StrCat("identities[", given, "]");
    if (linking()) {
      if (context_->metrics) context_->metrics->links_suppressed().Increment();
      Fail(absl::FailedPreconditionError(absl::StrCat(
          field, ": is suppressed until ",
          absl::FormatTime(absl::RFC3339_sec, *until, absl::UTCTimeZone()),
          " (its person was erased and asked not to be recorded again; "
          "LiftSuppression ends it)")));
      return true;
    }
    outcome_.result = IngestOutcome::Result::kSuppressed;
    outcome_.suppressed_field = field;
    outcome_.suppressed_until = *until;
    Finish();
    return true;
  }
  return false;
}

void IngestOperation::OnLookedUp(Replies replies) {
  const size_t count = identities_.size();
  if (RefuseSuppressed(replies, linking() ? count : 2 * count)) return;
  if (!linking()) {
    // Scored by when the tombstone lapses (ms, the store's clock).
    const double now =
        static_cast<double>(absl::ToUnixMillis(context_->options.clock()));
    bool forgotten = false;
    for (size_t i = 0; i < count; ++i) {
      absl::StatusOr<Reply> erased = redis::ErrorReplyAsStatus(
          std::move(replies[count + i]), "the erasure check");
      if (!erased.ok()) return Fail(erased.status());
      double until = 0;
      forgotten |= erased->type == Reply::Type::kString &&
                   absl::SimpleAtod(erased->str, &until) && until > now;
    }
    if (forgotten) {
      outcome_.result = IngestOutcome::Result::kForgotten;
      return Finish();
    }
  }
  for (size_t i = 0; i < count; ++i) {
    absl::StatusOr<Reply> owner =
        redis::ErrorReplyAsStatus(std::move(replies[i]), "an identity lookup");
    if (!owner.ok()) return Fail(owner.status());
    owners_[i] = owner->type == Reply::Type::kString ? owner->str : "";
  }
  CheckHolds();
}

void IngestOperation::CheckHolds() {
  std::fill(held_by_claim_.begin(), held_by_claim_.end(), false);
  std::vector<size_t> which;
  if (!linking()) {
    for (size_t i = 0; i < identities_.size(); ++i) {
      if (!owners_[i].empty()) which.push_back(i);
    }
  }
  if (which.empty()) return Decide();
  auto gatherer = ReplyGatherer::Create(
      which.size(), [self = shared_from_this(), which](Replies replies) {
        self->OnHoldsChecked(std::move(replies), which);
      });
  for (size_t k = 0; k < which.size(); ++k) {
    const size_t i = which[k];
    context_->redis->Execute(
        {"HGET", context_->keys.ForCustomer(owners_[i]).view,
         absl::StrCat(kIdentityFieldPrefix, IdentityMember(identities_[i]))},
        gatherer->Slot(k));
  }
}

void IngestOperation::OnHoldsChecked(Replies replies,
                                     const std::vector<size_t>& which) {
  for (size_t k = 0; k < which.size(); ++k) {
    absl::StatusOr<Reply> reply = redis::ErrorReplyAsStatus(
        std::move(replies[k]), "an identity's standing");
    if (!reply.ok()) return Fail(reply.status());
    held_by_claim_[which[k]] = reply->type == Reply::Type::kString &&
                               reply->str == kClaimedIdentityValue;
  }
  // A customer that has one of the event's verified identities verified is
  // vouched for by the event: what it holds of them by a claim is confirmed
  // (attached as verified when the event is stored there). Anyone else's
  // mere claim of a verified identity is not trusted: the identity is taken
  // from it.
  std::vector<std::string> vouched_for;
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (verified_[i] && !owners_[i].empty() && !held_by_claim_[i]) {
      vouched_for.push_back(owners_[i]);
    }
  }
  std::vector<size_t> take;
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (verified_[i] && held_by_claim_[i] &&
        !Contains(vouched_for, owners_[i])) {
      take.push_back(i);
    }
  }
  if (take.empty()) return Decide();
  TakeOver(std::move(take));
}

void IngestOperation::TakeOver(std::vector<size_t> which) {
  // The key first, compare-and-set, so an identity that changed owner
  // meanwhile is left alone; then the claim goes from the holder's view. A
  // process that dies in between leaves the holder a stale claim in its view
  // that no key points to any more: shown, but never resolving anything.
  auto gatherer = ReplyGatherer::Create(which.size(), [self =
                                                           shared_from_this(),
                                                       which](Replies replies) {
    std::vector<redis::ScriptCall> drops;
    bool changed_meanwhile = false;
    for (size_t k = 0; k < which.size(); ++k) {
      const size_t i = which[k];
      absl::StatusOr<Reply> reply = Expect(
          std::move(replies[k]), Reply::Type::kInteger, "an identity move");
      if (!reply.ok()) return self->Fail(reply.status());
      if (reply->integer != 1) {
        changed_meanwhile = true;
        continue;
      }
      drops.push_back(
          {.keys = {self->context_->keys.ForCustomer(self->owners_[i]).view},
           .args = {IdentityMember(self->identities_[i])}});
      self->taken_from_[i] = self->owners_[i];
      self->owners_[i].clear();
      self->held_by_claim_[i] = false;
    }
    if (self->context_->metrics && !drops.empty()) {
      self->context_->metrics->claims_taken_over().Increment(
          static_cast<double>(drops.size()));
    }
    auto dropped = ReplyGatherer::Create(
        drops.size(), [self, changed_meanwhile](Replies replies) {
          for (absl::StatusOr<Reply>& reply : replies) {
            absl::StatusOr<Reply> checked =
                Expect(std::move(reply), Reply::Type::kInteger,
                       "dropping an identity claim");
            if (!checked.ok()) return self->Fail(checked.status());
          }
          if (changed_meanwhile) return self->ResolveAfresh();
          self->Decide();
        });
    for (size_t k = 0; k < drops.size(); ++k) {
      self->context_->scripts.drop_claim.Run(
          *self->context_->redis, std::move(drops[k].keys),
          std::move(drops[k].args), dropped->Slot(k));
    }
    dropped->StartIfEmpty();
  });
  for (size_t k = 0; k < which.size(); ++k) {
    const size_t i = which[k];
    context_->scripts.compare_and_set.Run(*context_->redis, {identity_keys_[i]},
                                          {owners_[i], ""}, gatherer->Slot(k));
  }
}

void IngestOperation::Decide() {
  if (++rounds_ > kMaxRounds) {
    return Fail(absl::AbortedError(
        "the identities kept changing owner while they were resolved; send "
        "again"));
  }
  std::vector<std::string> candidates;
  trigger_.linking_identities.clear();
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (owners_[i].empty() || !Merges(i)) continue;
    trigger_.linking_identities.push_back(identities_[i]);
    if (!Contains(candidates, owners_[i])) candidates.push_back(owners_[i]);
  }
  if (linking()) trigger_.linking_identities = identities_;
  if (candidates.size() < 2 && !linking()) return ChooseCustomer();
  // A link goes to the merger even with one customer: it checks the limits
  // of everything being linked before anything changes.
  WorkerJob merge;
  merge.run = [self = shared_from_this(),
               candidates = std::move(candidates)]() mutable {
    absl::StatusOr<MergeResult> result =
        self->merger_->Merge(candidates, self->trigger_);
    if (result.ok()) {
      // Customers no longer there (being erased) are absent from now_at.
      for (const std::string& candidate : candidates) {
        if (!result->now_at.contains(candidate)) {
          result->now_at[candidate] = "";
        }
      }
    }
    self->OnMerged(std::move(result));
  };
  absl::Status queued = workers_->Schedule(WorkKind::kMerge, std::move(merge));
  if (!queued.ok()) return Fail(std::move(queued));
}

void IngestOperation::OnMerged(absl::StatusOr<MergeResult> result) {
  if (!result.ok()) return Fail(result.status());
  outcome_.merged_customer_ids.insert(outcome_.merged_customer_ids.end(),
                                      result->merged.begin(),
                                      result->merged.end());
  outcome_.refused_merges += result->refused;
  std::vector<KeyMove> moves;
  bool erased = false;
  for (size_t i = 0; i < identities_.size(); ++i) {
    auto it = result->now_at.find(owners_[i]);
    if (owners_[i].empty() || it == result->now_at.end() ||
        it->second == owners_[i]) {
      continue;
    }
    // Claimed identities were not among the merged customer's identities
    // yet, so the merger did not repoint them: this operation does. Identities
    // of an erased customer are let go, then everything is resolved afresh.
    if (claimed_[i] || it->second.empty()) {
      moves.push_back({.identity = i, .from = owners_[i], .to = it->second});
    }
    erased |= it->second.empty();
    owners_[i] = it->second;
  }
  MoveIdentityKeys(std::move(moves), [self = shared_from_this(), erased] {
    if (erased) return self->ResolveAfresh();
    self->ChooseCustomer();
  });
}

void IngestOperation::ChooseCustomer() {
  // The most trustworthy known identity that may merge decides; then any
  // known verified identity; else the customer is new. Claims (unverified
  // identities) never take an event away from the customer its verified
  // identities stand for, however new. An event with no verified identity
  // at all (a caller not allowed to vouch for any) goes where its most
  // trustworthy claim points only if that customer holds it by a claim too
  // (a visitor the same kind of caller made); then nothing is attached to
  // it. Otherwise it starts a customer of its own, which gets only the
  // claims nobody has: a claims-only event never lands on a customer whose
  // identity was verified.
  found_by_claim_ = false;
  const bool any_verified =
      std::find(verified_.begin(), verified_.end(), true) != verified_.end();
  int chosen = -1;
  for (size_t i = 0; i < identities_.size() && chosen < 0; ++i) {
    if (!owners_[i].empty() && Merges(i)) chosen = static_cast<int>(i);
  }
  for (size_t i = 0; i < identities_.size() && chosen < 0; ++i) {
    if (!owners_[i].empty() &&
        (verified_[i] || (!any_verified && held_by_claim_[i]))) {
      chosen = static_cast<int>(i);
    }
  }
  if (chosen < 0) return CreateCustomer();
  customer_id_ = owners_[chosen];
  found_by_claim_ = !verified_[chosen];
  ClaimUnknown();
}

void IngestOperation::CreateCustomer() {
  // Every unknown identity is recorded on the new customer at once (the
  // record expires unless the customer comes to exist). The first unknown
  // identity is verified when any of the event's is (a verified identity
  // someone has would have chosen the customer).
  customer_id_ = NewCustomerId(context_->options.clock());
  found_by_claim_ = false;
  // Listed in the customer index before anything of it is stored: the
  // index may name a customer that never came to be, never miss one.
  context_->redis->Execute(
      {"ZADD", context_->keys.ForCustomerIndexOf(customer_id_), "0",
       customer_id_},
      [self = shared_from_this()](absl::StatusOr<Reply> reply) {
        reply =
            redis::ErrorReplyAsStatus(std::move(reply), "the customer index");
        if (!reply.ok()) return self->Fail(reply.status());
        self->CreateListedCustomer();
      });
}

void IngestOperation::CreateListedCustomer() {
  std::vector<size_t> unknown;
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (owners_[i].empty()) unknown.push_back(i);
  }
  if (unknown.empty()) {
    // Claims only, each of another customer that has it verified: the event
    // is that caller's own customer's, which has no identity to be found by.
    outcome_.created_customer = true;
    return Store();
  }
  const size_t first = unknown[0];
  RecordClaims(std::move(unknown),
               [self = shared_from_this(), first] { self->ClaimFirst(first); });
}

void IngestOperation::ClaimFirst(size_t first) {
  // Claimed with SET NX: of two concurrent first events of one person, one
  // creates the customer and the other finds it.
  const std::string candidate = customer_id_;
  context_->redis->Execute(
      {"SET", identity_keys_[first], candidate, "NX", "GET"},
      [self = shared_from_this(), candidate,
       first](absl::StatusOr<Reply> reply) {
        reply = redis::ErrorReplyAsStatus(std::move(reply),
                                          "the new customer's identity");
        if (!reply.ok()) return self->Fail(reply.status());
        if (reply->type == Reply::Type::kString) {
          self->owners_[first] = reply->str;
          self->found_by_claim_ = !self->verified_[first];
          self->customer_id_ = reply->str;
          // Nobody else knows the candidate: its record (else it would
          // expire) and its index entry go now, before the event goes on,
          // so that what the answer leaves behind is settled when it is
          // sent. A failed DEL leaves the record to expire, a failed ZREM
          // an entry that names no customer.
          self->context_->redis->Execute(
              {"DEL", self->context_->keys.ForCustomer(candidate).claims},
              [self, candidate](absl::StatusOr<Reply>) {
                self->Unlist(candidate, [self] { self->ClaimUnknown(); });
              });
          return;
        }
        self->owners_[first] = candidate;
        self->claimed_[first] = true;
        self->outcome_.created_customer = true;
        self->customer_id_ = candidate;
        self->ClaimUnknown();
      });
}

void IngestOperation::ClaimUnknown() {
  std::vector<size_t> which;
  std::vector<size_t> unrecorded;
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (!Claimable(i)) continue;
    which.push_back(i);
    if (recorded_on_[i] != customer_id_) unrecorded.push_back(i);
  }
  if (which.empty()) return Store();
  if (unrecorded.empty()) return Claim(std::move(which));
  RecordClaims(std::move(unrecorded),
               [self = shared_from_this(), which = std::move(which)]() mutable {
                 self->Claim(std::move(which));
               });
}

void IngestOperation::RecordClaims(std::vector<size_t> which,
                                   absl::AnyInvocable<void() &&> next) {
  const CustomerKeys keys = context_->keys.ForCustomer(customer_id_);
  std::vector<std::string> args = {context_->MarkerTtlArgument()};
  for (size_t i : which) args.push_back(IdentityMember(identities_[i]));
  context_->scripts.record_claims.Run(
      *context_->redis, {keys.view, keys.claims}, std::move(args),
      [self = shared_from_this(), which = std::move(which),
       recorded_on = customer_id_,
       next = std::move(next)](absl::StatusOr<Reply> reply) mutable {
        reply = Expect(std::move(reply), Reply::Type::kArray,
                       "recording identity claims");
        if (!reply.ok()) return self->Fail(reply.status());
        const std::vector<Reply>& parts = reply->elements;
        if (parts.size() >= 2 && parts[0].str == "moved") {
          return self->FollowMove(parts[1].str, /*claiming=*/true);
        }
        for (size_t i : which) self->recorded_on_[i] = recorded_on;
        if (absl::Status step = self->Step("recorded"); !step.ok()) {
          return self->Fail(std::move(step));
        }
        std::move(next)();
      });
}

void IngestOperation::Claim(std::vector<size_t> which) {
  auto gatherer = ReplyGatherer::Create(
      which.size(), [self = shared_from_this(), which](Replies replies) {
        self->OnClaimed(std::move(replies), which);
      });
  for (size_t k = 0; k < which.size(); ++k) {
    context_->redis->Execute(
        {"SET", identity_keys_[which[k]], customer_id_, "NX", "GET"},
        gatherer->Slot(k));
  }
}

void IngestOperation::OnClaimed(Replies replies, std::vector<size_t> which) {
  bool resolve_again = false;
  for (size_t k = 0; k < which.size(); ++k) {
    const size_t i = which[k];
    absl::StatusOr<Reply> reply =
        redis::ErrorReplyAsStatus(std::move(replies[k]), "an identity claim");
    if (!reply.ok()) return Fail(reply.status());
    if (reply->type == Reply::Type::kString) {
      // Claimed by someone else since the lookup.
      owners_[i] = reply->str;
      resolve_again |= owners_[i] != customer_id_ && Merges(i);
    } else {
      owners_[i] = customer_id_;
      claimed_[i] = true;
    }
  }
  if (resolve_again) return CheckHolds();
  Store();
}

void IngestOperation::Store() {
  if (std::find(claimed_.begin(), claimed_.end(), true) != claimed_.end()) {
    if (absl::Status step = Step("claimed"); !step.ok()) {
      return Fail(std::move(step));
    }
  }
  const CustomerKeys keys = context_->keys.ForCustomer(customer_id_);
  const absl::Time now = context_->options.clock();
  std::vector<std::string> args;
  std::vector<std::string> script_keys;
  const redis::RedisScript* script;
  if (linking()) {
    script = &context_->scripts.attach_identities;
    script_keys = {keys.view, keys.claims};
    args = {absl::StrCat(absl::ToUnixMicros(now)),
            context_->options.identity_rules.limits_argument()};
  } else {
    script = &context_->scripts.ingest_event;
    script_keys = {keys.events, keys.timeline, keys.view, keys.claims};
    args = {trigger_.event_id,
            stored_value_,
            absl::StrCat(absl::ToUnixMicros(now)),
            context_->MaxEventsArgument(),
            context_->OldestKeptArgument(now),
            context_->options.identity_rules.limits_argument(),
            context_->options.keep_purchases ? "1" : "0"};
  }
  // Not only the identities claimed now: one whose claimer died before it
  // was attached is attached here. For an event, which of them it only
  // claims (see ingest_event.lua).
  const size_t flags_at = args.size();
  if (!linking()) args.emplace_back();
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (owners_[i] == customer_id_) {
      args.push_back(IdentityMember(identities_[i]));
      if (!linking()) args[flags_at].push_back(verified_[i] ? '1' : 'u');
    }
  }
  script->Run(*context_->redis, std::move(script_keys), std::move(args),
              [self = shared_from_this()](absl::StatusOr<Reply> reply) {
                self->OnStored(std::move(reply));
              });
}

void IngestOperation::OnStored(absl::StatusOr<Reply> reply) {
  reply = Expect(std::move(reply), Reply::Type::kArray,
                 linking() ? "the identities" : "the event");
  if (!reply.ok()) return Fail(reply.status());
  std::vector<Reply>& parts = reply->elements;
  if (parts.size() >= 2 && parts[0].str == "moved") {
    return FollowMove(parts[1].str, /*claiming=*/false);
  }
  if (parts.size() >= 3 && parts[0].str == "rejected") {
    return Reject(absl::InvalidArgumentError(
        absl::StrCat(parts[1].str, ": ", parts[2].str)));
  }
  size_t first_refused = 1;
  if (!linking()) {
    if (parts.size() < 2) {
      return Fail(absl::InternalError("the event: unexpected reply"));
    }
    const std::string& result = parts[0].str;
    outcome_.result = result == "accepted"  ? IngestOutcome::Result::kAccepted
                      : result == "updated" ? IngestOutcome::Result::kUpdated
                                            : IngestOutcome::Result::kDuplicate;
    if (parts.size() < 3) {
      return Fail(absl::InternalError("the event: unexpected reply"));
    }
    outcome_.trimmed_events = static_cast<int>(parts[1].integer);
    outcome_.purchase = parts[2].integer == 1;
    first_refused = 3;
  }
  std::vector<std::string> refused;
  for (size_t k = first_refused; k < parts.size(); ++k) {
    refused.push_back(std::move(parts[k].str));
  }
  if (refused.empty()) return NoteUntrustedClaims();
  outcome_.identities_over_limit = static_cast<int>(refused.size());
  if (context_->metrics) {
    context_->metrics->identities_over_limit().Increment(refused.size());
  }
  Release(std::move(refused));
}

void IngestOperation::Release(std::vector<std::string> members) {
  // The customer had reached its limit for these kinds: the identities this
  // operation claimed for it are given up again.
  std::vector<KeyMove> moves;
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (!Contains(members, IdentityMember(identities_[i]))) continue;
    moves.push_back({.identity = i, .from = customer_id_, .to = ""});
    owners_[i].clear();
    claimed_[i] = false;
  }
  // Their records go once the keys are freed.
  std::vector<std::string> forget = {
      "SREM", context_->keys.ForCustomer(customer_id_).claims};
  forget.insert(forget.end(), members.begin(), members.end());
  MoveIdentityKeys(std::move(moves), [self = shared_from_this(),
                                      forget = std::move(forget)]() mutable {
    self->context_->redis->Execute(
        std::move(forget), [self](absl::StatusOr<Reply> reply) {
          reply = redis::ErrorReplyAsStatus(std::move(reply),
                                            "forgetting identity claims");
          if (!reply.ok()) return self->Fail(reply.status());
          self->NoteUntrustedClaims();
        });
  });
}

void IngestOperation::Reject(absl::Status status) {
  // The script wrote nothing; the identity keys this operation claimed are
  // let go too (keys first, then their claim records, so a key that names
  // the customer is always in its view or its claims), and the refused
  // event leaves no trace but the customer index's entry of a customer it
  // created.
  std::vector<KeyMove> moves;
  std::vector<std::string> forget = {
      "SREM", context_->keys.ForCustomer(customer_id_).claims};
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (claimed_[i] && owners_[i] == customer_id_) {
      moves.push_back({.identity = i, .from = customer_id_, .to = ""});
      forget.push_back(IdentityMember(identities_[i]));
    }
  }
  // A customer this operation created stays in the customer index: another
  // event may have found it by an identity claimed here before the claim
  // was let go, and stored on it; an entry that names no customer is
  // harmless (whoever walks the index reads the view).
  MoveIdentityKeys(
      std::move(moves), [self = shared_from_this(), forget = std::move(forget),
                         status = std::move(status)]() mutable {
        if (forget.size() == 2) return self->Fail(status);
        self->context_->redis->Execute(
            std::move(forget),
            [self, status = std::move(status)](absl::StatusOr<Reply> reply) {
              reply = redis::ErrorReplyAsStatus(std::move(reply),
                                                "forgetting identity claims");
              if (!reply.ok()) return self->Fail(reply.status());
              self->Fail(status);
            });
      });
}

void IngestOperation::Unlist(const std::string& customer_id,
                             absl::AnyInvocable<void() &&> next) {
  context_->redis->Execute(
      {"ZREM", context_->keys.ForCustomerIndexOf(customer_id), customer_id},
      [next = std::move(next)](absl::StatusOr<Reply>) mutable {
        std::move(next)();
      });
}

void IngestOperation::FollowMove(const std::string& alias, bool claiming) {
  if (++hops_ > kMaxHops) {
    return Fail(absl::InternalError(
        absl::StrCat("customer ", customer_id_, " moved too often")));
  }
  // Merged away: the identities claimed for it follow it to the survivor.
  // Being erased ("-"): every identity key naming it is let go, and the event
  // is resolved afresh (it may start a new customer).
  const bool erased = alias == "-";
  const std::string to = erased ? "" : alias;
  std::vector<KeyMove> moves;
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (owners_[i] == customer_id_ && (claimed_[i] || erased)) {
      moves.push_back({.identity = i, .from = customer_id_, .to = to});
    }
  }
  MoveIdentityKeys(
      std::move(moves), [self = shared_from_this(), erased, to, claiming] {
        if (!erased) {
          for (std::string& owner : self->owners_) {
            if (owner == self->customer_id_) owner = to;
          }
          self->customer_id_ = to;
          return claiming ? self->ClaimUnknown() : self->Store();
        }
        if (++self->rounds_ > kMaxRounds) {
          return self->Fail(absl::AbortedError(
              "the customer was being erased while this was resolved; send "
              "again"));
        }
        self->ResolveAfresh();
      });
}

void IngestOperation::MoveIdentityKeys(std::vector<KeyMove> moves,
                                       absl::AnyInvocable<void() &&> next) {
  auto gatherer = ReplyGatherer::Create(
      moves.size(), [self = shared_from_this(),
                     next = std::move(next)](Replies replies) mutable {
        for (absl::StatusOr<Reply>& reply : replies) {
          absl::StatusOr<Reply> checked = Expect(
              std::move(reply), Reply::Type::kInteger, "an identity move");
          if (!checked.ok()) return self->Fail(checked.status());
        }
        std::move(next)();
      });
  for (size_t k = 0; k < moves.size(); ++k) {
    context_->scripts.compare_and_set.Run(
        *context_->redis, {identity_keys_[moves[k].identity]},
        {std::move(moves[k].from), std::move(moves[k].to)}, gatherer->Slot(k));
  }
  gatherer->StartIfEmpty();
}

void IngestOperation::ResolveAfresh() {
  std::fill(owners_.begin(), owners_.end(), "");
  std::fill(claimed_.begin(), claimed_.end(), false);
  customer_id_.clear();
  LookUp();
}

void IngestOperation::NoteUntrustedClaims() {
  absl::flat_hash_map<std::string, std::vector<v1::Identity>> claimed_from;
  absl::flat_hash_map<std::string, std::vector<v1::Identity>> taken_from;
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (!taken_from_[i].empty() && taken_from_[i] != customer_id_) {
      taken_from[taken_from_[i]].push_back(identities_[i]);
    }
  }
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (verified_[i] || owners_[i].empty() || owners_[i] == customer_id_) {
      continue;
    }
    claimed_from[owners_[i]].push_back(identities_[i]);
    ++outcome_.unverified_conflicts;
  }
  if (claimed_from.empty() && taken_from.empty()) return Finish();
  if (context_->metrics && outcome_.unverified_conflicts > 0) {
    context_->metrics->identities_unverified().Increment(
        outcome_.unverified_conflicts);
  }
  WorkerJob note;
  note.run = [self = shared_from_this(), claimed_from = std::move(claimed_from),
              taken_from = std::move(taken_from)] {
    absl::StatusOr<int> noted = self->merger_->NoteUntrustedClaims(
        self->customer_id_, claimed_from, self->trigger_);
    if (!noted.ok()) return self->Fail(noted.status());
    self->outcome_.refused_merges += *noted;
    absl::StatusOr<int> taken = self->merger_->NoteUntrustedClaims(
        self->customer_id_, taken_from, self->trigger_, /*taken_over=*/true);
    if (!taken.ok()) return self->Fail(taken.status());
    self->Finish();
  };
  absl::Status queued = workers_->Schedule(WorkKind::kMerge, std::move(note));
  if (!queued.ok()) return Fail(std::move(queued));
}

void IngestOperation::Finish() {
  outcome_.customer_id = customer_id_;
  for (const std::string& owner : owners_) {
    if (!owner.empty() && owner != customer_id_) {
      ++outcome_.conflicting_identities;
    }
  }
  if (context_->observer == nullptr) {
    return std::move(done_)(std::move(outcome_));
  }
  if (outcome_.purchase) {
    return context_->observer->PurchasesChanged(
        customer_id_, [self = shared_from_this()](absl::Status status) {
          if (!status.ok()) return self->Fail(std::move(status));
          self->TellEventsChanged();
        });
  }
  TellEventsChanged();
}

void IngestOperation::TellEventsChanged() {
  context_->observer->EventsChanged(
      customer_id_, [self = shared_from_this()](absl::Status status) {
        if (!status.ok()) return self->Fail(std::move(status));
        std::move(self->done_)(std::move(self->outcome_));
      });
}

void IngestOperation::Fail(absl::Status status) {
  std::move(done_)(std::move(status));
}

}  // namespace omnihub::timeline

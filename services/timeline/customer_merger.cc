#include "services/timeline/customer_merger.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging/log.h"
#include "common/redis/blocking_calls.h"
#include "services/timeline/stored_event.h"

namespace omnihub::timeline {
namespace {

using redis::Reply;

std::vector<std::string> EventKeysOf(const CustomerKeys& keys) {
  return {keys.events, keys.timeline, keys.view};
}

std::vector<std::string> ProfileKeysOf(const CustomerKeys& keys) {
  return {keys.view, keys.merge_log, keys.aliases};
}

std::vector<std::string> ClaimKeysOf(const CustomerKeys& keys) {
  return {keys.view, keys.claims};
}

bool IsMoved(const Reply& reply) {
  return reply.type == Reply::Type::kArray && !reply.elements.empty() &&
         reply.elements[0].str == "moved";
}

}  // namespace

CustomerMerger::CustomerMerger(const StoreContext* context)
    : context_(context) {}

absl::Status CustomerMerger::Step(absl::string_view name) const {
  if (!context_->options.merge_step_hook) return absl::OkStatus();
  return context_->options.merge_step_hook(name);
}

absl::StatusOr<std::optional<LiveCustomer>> CustomerMerger::Resolve(
    std::string customer_id) const {
  for (int hop = 0; hop < kMaxAliasHops; ++hop) {
    const CustomerKeys keys = context_->keys.ForCustomer(customer_id);
    absl::StatusOr<Reply> reply = Expect(
        redis::RunAndWait(*context_->redis, context_->scripts.resolve_customer,
                          {keys.view}, {}),
        Reply::Type::kArray, "the customer lookup");
    if (!reply.ok()) return reply.status();
    if (!IsMoved(*reply)) {
      return LiveCustomer{.customer_id = std::move(customer_id),
                          .exists = reply->elements[0].str == "live"};
    }
    const std::string& alias = reply->elements[1].str;
    if (alias == "-") return std::nullopt;
    customer_id = alias;
  }
  return absl::InternalError(absl::StrCat("customer ", customer_id,
                                          " has more than ", kMaxAliasHops,
                                          " aliases in a chain"));
}

absl::StatusOr<CustomerMerger::Snapshot> CustomerMerger::TakeSnapshot(
    const std::string& customer_id) const {
  const CustomerKeys keys = context_->keys.ForCustomer(customer_id);
  redis::Replies replies = redis::CallAllAndWait(
      *context_->redis,
      {{"HGETALL", keys.view}, {"HMGET", keys.view, "total", "first", "last"}});
  absl::StatusOr<Reply> hash = Expect(
      std::move(replies[0]), Reply::Type::kArray, "the customer's identities");
  if (!hash.ok()) return hash.status();
  absl::StatusOr<Reply> view =
      Expect(std::move(replies[1]), Reply::Type::kArray, "the single view");
  if (!view.ok()) return view.status();
  Snapshot snapshot;
  snapshot.snapshot.set_customer_id(customer_id);
  std::vector<Reply> fields;
  for (size_t i = 0; i + 1 < hash->elements.size(); i += 2) {
    if (!snapshot.totals.AddField(hash->elements[i].str,
                                  hash->elements[i + 1].str)) {
      return absl::DataLossError(
          absl::StrCat("customer ", customer_id, "'s view field ",
                       hash->elements[i].str, " is unreadable"));
    }
    fields.push_back(std::move(hash->elements[i]));
  }
  for (const std::string& member : IdentityMembersOf(fields)) {
    v1::Identity identity;
    if (ParseIdentityMember(member, &identity)) {
      snapshot.identities.push_back(identity);
      *snapshot.snapshot.add_identities() = std::move(identity);
    }
  }
  std::sort(snapshot.snapshot.mutable_identities()->begin(),
            snapshot.snapshot.mutable_identities()->end(),
            [](const v1::Identity& a, const v1::Identity& b) {
              return std::make_pair(a.kind(), a.value()) <
                     std::make_pair(b.kind(), b.value());
            });
  if (view->elements.size() == 3) {
    snapshot.snapshot.set_total_interactions(
        IntegerOrZero(view->elements[0].str));
    if (!view->elements[1].is_nil()) {
      *snapshot.snapshot.mutable_first_seen() =
          FromMicros(IntegerOrZero(view->elements[1].str));
    }
    if (!view->elements[2].is_nil()) {
      *snapshot.snapshot.mutable_last_seen() =
          FromMicros(IntegerOrZero(view->elements[2].str));
    }
  }
  return snapshot;
}

absl::StatusOr<MergeResult> CustomerMerger::Merge(
    const std::vector<std::string>& customers,
    const MergeTrigger& trigger) const {
  return MergeRound(customers, trigger, 0);
}

absl::StatusOr<MergeResult> CustomerMerger::MergeRound(
    const std::vector<std::string>& customers, const MergeTrigger& trigger,
    int depth) const {
  MergeResult result;
  std::vector<std::string> live;
  for (const std::string& customer : customers) {
    absl::StatusOr<std::optional<LiveCustomer>> now = Resolve(customer);
    if (!now.ok()) return now.status();
    if (!now->has_value()) continue;
    const std::string& id = (*now)->customer_id;
    result.now_at[customer] = id;
    if (std::find(live.begin(), live.end(), id) == live.end()) {
      live.push_back(id);
    }
  }
  // Customer ids start with their creation time: the first is the oldest.
  std::sort(live.begin(), live.end());

  std::vector<Snapshot> snapshots;
  for (const std::string& customer : live) {
    absl::StatusOr<Snapshot> snapshot = TakeSnapshot(customer);
    if (!snapshot.ok()) return snapshot.status();
    snapshots.push_back(*std::move(snapshot));
  }
  if (trigger.all_or_nothing) {
    std::vector<v1::Identity> all = trigger.linking_identities;
    for (const Snapshot& snapshot : snapshots) {
      all.insert(all.end(), snapshot.identities.begin(),
                 snapshot.identities.end());
    }
    std::optional<std::string> violation =
        context_->options.identity_rules.LimitViolation(all);
    ViewTotals totals;
    for (const Snapshot& snapshot : snapshots) {
      if (violation) break;
      violation = totals.OverflowWith(snapshot.totals);
      totals.Absorb(snapshot.totals);
    }
    if (violation) {
      return absl::FailedPreconditionError(
          absl::StrCat("these identities cannot be one customer: ", *violation,
                       "; nothing was changed"));
    }
  }
  if (live.size() < 2) return result;

  std::string survivor = live[0];
  std::vector<v1::Identity> survivor_identities = snapshots[0].identities;
  ViewTotals survivor_totals = snapshots[0].totals;
  std::vector<std::string> follow_up;
  for (size_t i = 1; i < live.size(); ++i) {
    const std::string merged = live[i];
    v1::MergeRecord record;
    record.set_trigger(trigger.trigger);
    *record.mutable_at() =
        FromMicros(absl::ToUnixMicros(context_->options.clock()));
    record.set_survivor_id(survivor);
    record.set_merged_id(merged);
    record.set_event_id(trigger.event_id);
    record.set_source(trigger.source);
    record.set_reason(trigger.reason);
    record.set_principal(trigger.principal);
    for (const v1::Identity& identity : trigger.linking_identities) {
      *record.add_linking_identities() = identity;
    }
    *record.mutable_survivor() = snapshots[0].snapshot;
    record.mutable_survivor()->set_customer_id(survivor);
    *record.mutable_merged() = snapshots[i].snapshot;

    std::vector<v1::Identity> together = survivor_identities;
    together.insert(together.end(), snapshots[i].identities.begin(),
                    snapshots[i].identities.end());
    std::optional<std::string> violation =
        context_->options.identity_rules.LimitViolation(together);
    // Totals beyond 64 bits: the events could not all be copied.
    if (!violation)
      violation = survivor_totals.OverflowWith(snapshots[i].totals);
    if (violation) {
      record.set_outcome(v1::MergeRecord::OUTCOME_REFUSED);
      record.set_reason(*violation);
      if (absl::Status noted = NoteRefusal(record); !noted.ok()) return noted;
      ++result.refused;
      if (context_->metrics) context_->metrics->merges_refused().Increment();
      log::Info("merge of customer %s into %s refused: %s", merged, survivor,
                *violation);
      continue;
    }
    record.set_outcome(v1::MergeRecord::OUTCOME_MERGED);
    // Between the check on the snapshots and the writes (tests race other
    // writes here; absorb_profile enforces the limits again where it writes).
    if (absl::Status step = Step("checked"); !step.ok()) return step;
    const absl::Time started = absl::Now();
    absl::StatusOr<std::optional<std::string>> landed =
        MergeOne(merged, survivor, record);
    if (!landed.ok()) return landed.status();
    if (!landed->has_value()) {
      // The merged customer moved on while we looked (another merge took
      // it, or it is being erased): where it is now is the same person, and
      // is merged in a second round below.
      follow_up.push_back(merged);
      continue;
    }
    if (context_->metrics) {
      (trigger.trigger == v1::MergeRecord::TRIGGER_LINK
           ? context_->metrics->merges_by_link()
           : context_->metrics->merges_by_event())
          .Increment();
      context_->metrics->merge_duration().Observe(
          absl::ToDoubleSeconds(absl::Now() - started));
    }
    log::Info("merged customer %s into %s (%s %s)", merged, **landed,
              trigger.trigger == v1::MergeRecord::TRIGGER_LINK ? "link from"
                                                               : "event",
              trigger.trigger == v1::MergeRecord::TRIGGER_LINK
                  ? trigger.source
                  : trigger.event_id);
    result.merged.push_back(merged);
    survivor_identities.insert(survivor_identities.end(),
                               snapshots[i].identities.begin(),
                               snapshots[i].identities.end());
    survivor_totals.Absorb(snapshots[i].totals);
    for (auto& [asked, now] : result.now_at) {
      if (now == merged || now == survivor) now = **landed;
    }
    survivor = **landed;
  }
  if (follow_up.empty() || depth >= 2) return result;
  std::vector<std::string> again = {survivor};
  again.insert(again.end(), follow_up.begin(), follow_up.end());
  absl::StatusOr<MergeResult> more = MergeRound(again, trigger, depth + 1);
  if (!more.ok()) return more.status();
  result.merged.insert(result.merged.end(), more->merged.begin(),
                       more->merged.end());
  result.refused += more->refused;
  for (auto& [asked, now] : result.now_at) {
    if (auto it = more->now_at.find(now); it != more->now_at.end()) {
      now = it->second;
    }
  }
  return result;
}

absl::StatusOr<std::optional<std::string>> CustomerMerger::MergeOne(
    const std::string& merged, const std::string& survivor,
    const v1::MergeRecord& record) const {
  const MergeKeys keys = context_->keys.ForMerges();
  const std::string member = absl::StrCat(merged, ">", survivor);
  absl::StatusOr<Reply> intent =
      Expect(redis::RunAndWait(
                 *context_->redis, context_->scripts.merge_intent,
                 {keys.pending, keys.intents},
                 {"add", member,
                  absl::StrCat(absl::ToUnixMillis(context_->options.clock())),
                  record.SerializeAsString()}),
             Reply::Type::kInteger, "the merge intent");
  if (!intent.ok()) return intent.status();
  if (absl::Status step = Step("intent"); !step.ok()) return step;
  return Carry(merged, survivor, record);
}

absl::StatusOr<std::optional<std::pair<Reply, std::string>>>
CustomerMerger::RunOnSurvivor(
    const redis::RedisScript& script, std::string target,
    std::vector<std::string> (*keys_of)(const CustomerKeys&),
    const std::vector<std::string>& args) const {
  for (int hop = 0; hop < kMaxAliasHops; ++hop) {
    absl::StatusOr<Reply> reply = Expect(
        redis::RunAndWait(*context_->redis, script,
                          keys_of(context_->keys.ForCustomer(target)), args),
        Reply::Type::kArray, "a merge step");
    if (!reply.ok()) return reply.status();
    if (!IsMoved(*reply)) {
      return std::make_pair(*std::move(reply), std::move(target));
    }
    if (reply->elements[1].str == "-") return std::nullopt;
    target = reply->elements[1].str;
  }
  return absl::InternalError("the survivor of a merge moved too often");
}

absl::StatusOr<std::optional<std::string>> CustomerMerger::Carry(
    const std::string& merged, const std::string& survivor,
    const v1::MergeRecord& record) const {
  const std::string member = absl::StrCat(merged, ">", survivor);
  const CustomerKeys from = context_->keys.ForCustomer(merged);
  redis::RedisClient& redis = *context_->redis;

  absl::StatusOr<Reply> mark =
      Expect(redis::RunAndWait(redis, context_->scripts.begin_merge,
                               {from.view}, {survivor}),
             Reply::Type::kArray, "the start of a merge");
  if (!mark.ok()) return mark.status();
  if (mark->elements[0].str != "marked") {
    // Already on its way into another customer, or being erased.
    if (absl::Status cleared = ClearIntent(member); !cleared.ok()) {
      return cleared;
    }
    return std::nullopt;
  }
  if (absl::Status step = Step("marked"); !step.ok()) return step;

  // Called when the survivor is being erased: the merge is given up and the
  // merged-away customer stands on its own again, untouched.
  auto give_up = [&]() -> absl::StatusOr<std::optional<std::string>> {
    absl::StatusOr<Reply> unmarked =
        Expect(redis::RunAndWait(redis, context_->scripts.compare_and_set,
                                 {from.view}, {survivor, "", kAliasField}),
               Reply::Type::kInteger, "undoing a merge");
    if (!unmarked.ok()) return unmarked.status();
    if (absl::Status cleared = ClearIntent(member); !cleared.ok()) {
      return cleared;
    }
    return std::nullopt;
  };

  std::string target = survivor;
  const absl::Time now = context_->options.clock();
  const std::string now_micros = absl::StrCat(absl::ToUnixMicros(now));
  const std::string max_events = context_->MaxEventsArgument();
  const std::string oldest_kept = context_->OldestKeptArgument(now);
  bool survivor_erased = false;
  absl::Status copied =
      ScanHash(*context_, from.events, [&](std::vector<Reply>& pairs) {
        std::vector<std::string> args = {now_micros, max_events, oldest_kept};
        for (Reply& field : pairs) args.push_back(std::move(field.str));
        auto absorbed = RunOnSurvivor(context_->scripts.absorb_events, target,
                                      &EventKeysOf, args);
        if (!absorbed.ok()) return absorbed.status();
        if (!absorbed->has_value()) {
          survivor_erased = true;
          return absl::AbortedError("the survivor is being erased");
        }
        const Reply& answer = (*absorbed)->first;
        if (!answer.elements.empty() && answer.elements[0].str == "rejected" &&
            answer.elements.size() >= 3) {
          // Written nothing of that event; the merge stays pending.
          return absl::FailedPreconditionError(absl::StrCat(
              "customer ", merged, " cannot be merged into ",
              (*absorbed)->second, ": its event ", answer.elements[1].str,
              " was refused: ", answer.elements[2].str));
        }
        target = (*absorbed)->second;
        return Step("events");
      });
  if (survivor_erased) return give_up();
  if (!copied.ok()) return copied;

  redis::Replies profile =
      redis::CallAllAndWait(redis, {{"HGETALL", from.view},
                                    {"HGETALL", from.merge_log},
                                    {"SMEMBERS", from.aliases},
                                    {"SMEMBERS", from.claims}});
  std::vector<std::string> identities, log_entries, aliases, claimed;
  // Identities L held only by an unverified claim stay claims on S.
  std::vector<std::string> only_claimed;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Reply> part = Expect(
        std::move(profile[i]), Reply::Type::kArray, "the merged profile");
    if (!part.ok()) return part.status();
    std::vector<std::string>& into =
        i == 0 ? identities
               : (i == 1 ? log_entries : (i == 2 ? aliases : claimed));
    if (i == 0) {
      std::vector<Reply> fields;
      for (size_t f = 0; f + 1 < part->elements.size(); f += 2) {
        fields.push_back(std::move(part->elements[f]));
        if (part->elements[f + 1].str == kClaimedIdentityValue &&
            absl::StartsWith(fields.back().str, kIdentityFieldPrefix)) {
          only_claimed.push_back(
              fields.back().str.substr(kIdentityFieldPrefix.size()));
        }
      }
      into = IdentityMembersOf(fields);
      continue;
    }
    for (Reply& element : part->elements) {
      into.push_back(std::move(element.str));
    }
  }
  // Identities recorded as being claimed for L (whose claimer may have died
  // before attaching them) are recorded on S before their keys are
  // repointed, so S's erasure finds them.
  if (!claimed.empty()) {
    std::vector<std::string> record = {context_->MarkerTtlArgument()};
    record.insert(record.end(), claimed.begin(), claimed.end());
    auto recorded = RunOnSurvivor(context_->scripts.record_claims, target,
                                  &ClaimKeysOf, record);
    if (!recorded.ok()) return recorded.status();
    if (!recorded->has_value()) return give_up();
    target = (*recorded)->second;
  }
  std::vector<std::string> args = {
      now_micros,
      merged,
      absl::StrCat(kMergeLogMergedField, merged),
      record.SerializeAsString(),
      context_->options.identity_rules.limits_argument(),
      absl::StrCat(identities.size())};
  args.insert(args.end(), identities.begin(), identities.end());
  args.push_back(absl::StrCat(log_entries.size() / 2));
  args.insert(args.end(), log_entries.begin(), log_entries.end());
  args.push_back(absl::StrCat(only_claimed.size()));
  args.insert(args.end(), only_claimed.begin(), only_claimed.end());
  args.insert(args.end(), aliases.begin(), aliases.end());
  auto absorbed = RunOnSurvivor(context_->scripts.absorb_profile, target,
                                &ProfileKeysOf, args);
  if (!absorbed.ok()) return absorbed.status();
  if (!absorbed->has_value()) return give_up();
  target = (*absorbed)->second;
  // Identities the survivor's limits kept off it (it or the merged customer
  // took one since the snapshots): their keys are let go, not repointed.
  const std::vector<Reply>& kept_off = (*absorbed)->first.elements;
  absl::flat_hash_set<std::string> released;
  for (size_t i = 1; i < kept_off.size(); ++i) {
    released.insert(kept_off[i].str);
  }
  if (!released.empty()) {
    // Kinds only: identity values are personal data.
    std::vector<std::string> kinds;
    for (const std::string& member : released) {
      kinds.push_back(member.substr(0, member.find(':')));
    }
    std::sort(kinds.begin(), kinds.end());
    log::Warning(
        "merge of customer %s into %s: %d identities (%s) let go, the "
        "per-kind limits forbid them on %s",
        merged, target, static_cast<int>(released.size()),
        absl::StrJoin(kinds, ", "), target);
    if (context_->metrics) {
      context_->metrics->identities_over_limit().Increment(released.size());
    }
  }
  if (absl::Status step = Step("profile"); !step.ok()) return step;

  std::vector<redis::ScriptCall> repoints;
  identities.insert(identities.end(), claimed.begin(), claimed.end());
  for (const std::string& identity : identities) {
    v1::Identity parsed;
    if (!ParseIdentityMember(identity, &parsed)) continue;
    repoints.push_back(
        {.keys = {context_->keys.ForIdentity(parsed)},
         .args = {merged, released.contains(identity) ? "" : target}});
  }
  for (const std::string& alias : aliases) {
    repoints.push_back({.keys = {context_->keys.ForCustomer(alias).view},
                        .args = {merged, target, kAliasField}});
  }
  for (absl::StatusOr<Reply>& reply : redis::RunAllAndWait(
           redis, context_->scripts.compare_and_set, std::move(repoints))) {
    absl::StatusOr<Reply> checked = Expect(
        std::move(reply), Reply::Type::kInteger, "repointing an identity");
    if (!checked.ok()) return checked.status();
  }
  if (absl::Status step = Step("repointed"); !step.ok()) return step;

  absl::StatusOr<Reply> finished =
      Expect(redis::RunAndWait(redis, context_->scripts.finish_merge,
                               AllDataKeys(from), {target}),
             Reply::Type::kInteger, "the end of a merge");
  if (!finished.ok()) return finished.status();
  // Before the intent goes: a replica that dies here leaves the intent, and
  // the one that finishes the merge brings the survivor's lifecycle up to
  // date.
  if (absl::Status told = TellObserver(target); !told.ok()) return told;
  if (absl::Status cleared = ClearIntent(member); !cleared.ok()) {
    return cleared;
  }
  return target;
}

absl::Status CustomerMerger::TellObserver(const std::string& survivor) const {
  if (context_->observer == nullptr) return absl::OkStatus();
  absl::Status told = WaitForObserver([&](auto done) {
    context_->observer->PurchasesChanged(survivor, std::move(done));
  });
  if (!told.ok()) return told;
  return WaitForObserver([&](auto done) {
    context_->observer->EventsChanged(survivor, std::move(done));
  });
}

absl::Status CustomerMerger::ClearIntent(const std::string& member) const {
  const MergeKeys keys = context_->keys.ForMerges();
  return Expect(
             redis::RunAndWait(*context_->redis, context_->scripts.merge_intent,
                               {keys.pending, keys.intents}, {"clear", member}),
             Reply::Type::kInteger, "clearing a merge intent")
      .status();
}

absl::Status CustomerMerger::NoteRefusal(const v1::MergeRecord& record) const {
  std::vector<std::vector<std::string>> commands;
  const std::string bytes = record.SerializeAsString();
  for (const auto& [owner, other] :
       {std::make_pair(record.survivor_id(), record.merged_id()),
        std::make_pair(record.merged_id(), record.survivor_id())}) {
    const std::string log_key = context_->keys.ForCustomer(owner).merge_log;
    const std::string field = absl::StrCat(kMergeLogRefusedField, other);
    commands.push_back({"HSETNX", log_key, field, bytes});
    commands.push_back(
        {"HINCRBY", log_key, absl::StrCat(field, kMergeLogTimesSuffix), "1"});
  }
  for (absl::StatusOr<Reply>& reply :
       redis::CallAllAndWait(*context_->redis, std::move(commands))) {
    absl::StatusOr<Reply> checked = Expect(
        std::move(reply), Reply::Type::kInteger, "writing the merge log");
    if (!checked.ok()) return checked.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> CustomerMerger::NoteUntrusted(
    const v1::MergeRecord& record, bool take_over) const {
  const std::string bytes = record.SerializeAsString();
  const std::string cap = absl::StrCat(
      std::max<int64_t>(context_->options.max_untrusted_records, 0));
  std::vector<redis::ScriptCall> calls;
  for (const auto& [owner, other] :
       {std::make_pair(record.survivor_id(), record.merged_id()),
        std::make_pair(record.merged_id(), record.survivor_id())}) {
    calls.push_back({.keys = {context_->keys.ForCustomer(owner).merge_log},
                     .args = {absl::StrCat(kMergeLogRefusedField, other), bytes,
                              take_over ? "set" : "nx", cap}});
  }
  bool written = false;
  for (absl::StatusOr<Reply>& reply :
       redis::RunAllAndWait(*context_->redis, context_->scripts.note_untrusted,
                            std::move(calls))) {
    absl::StatusOr<Reply> checked = Expect(
        std::move(reply), Reply::Type::kInteger, "writing the merge log");
    if (!checked.ok()) return checked.status();
    if (checked->integer == 1) {
      written = true;
    } else if (context_->metrics) {
      context_->metrics->untrusted_records_dropped().Increment();
    }
  }
  return written;
}

absl::StatusOr<int> CustomerMerger::NoteUntrustedClaims(
    const std::string& customer_id,
    const absl::flat_hash_map<std::string, std::vector<v1::Identity>>&
        claimed_from,
    const MergeTrigger& trigger, bool taken_over) const {
  absl::StatusOr<std::optional<LiveCustomer>> here = Resolve(customer_id);
  if (!here.ok()) return here.status();
  if (!here->has_value()) return 0;
  int noted = 0;
  for (const auto& [other, identities] : claimed_from) {
    absl::StatusOr<std::optional<LiveCustomer>> there = Resolve(other);
    if (!there.ok()) return there.status();
    if (!there->has_value() || (*there)->customer_id == (*here)->customer_id) {
      continue;
    }
    // As a merge would have it: the older customer is the survivor.
    std::string survivor = (*here)->customer_id;
    std::string merged = (*there)->customer_id;
    if (merged < survivor) std::swap(survivor, merged);
    absl::StatusOr<Snapshot> survivor_snapshot = TakeSnapshot(survivor);
    if (!survivor_snapshot.ok()) return survivor_snapshot.status();
    absl::StatusOr<Snapshot> merged_snapshot = TakeSnapshot(merged);
    if (!merged_snapshot.ok()) return merged_snapshot.status();
    v1::MergeRecord record;
    record.set_outcome(v1::MergeRecord::OUTCOME_REFUSED);
    record.set_trigger(trigger.trigger);
    *record.mutable_at() =
        FromMicros(absl::ToUnixMicros(context_->options.clock()));
    record.set_survivor_id(survivor);
    record.set_merged_id(merged);
    record.set_event_id(trigger.event_id);
    record.set_source(trigger.source);
    record.set_reason(std::string(taken_over ? kClaimTakenOverReason
                                             : kUntrustedSourceReason));
    for (const v1::Identity& identity : identities) {
      *record.add_linking_identities() = identity;
    }
    *record.mutable_survivor() = std::move(survivor_snapshot->snapshot);
    *record.mutable_merged() = std::move(merged_snapshot->snapshot);
    absl::StatusOr<bool> written = NoteUntrusted(record, taken_over);
    if (!written.ok()) return written.status();
    if (taken_over) {
      log::Info(
          "event %s from %s: identities customer %s held only by an "
          "unverified claim were taken over by %s (verified source)",
          trigger.event_id, trigger.source, (*there)->customer_id,
          (*here)->customer_id);
    } else {
      log::Info(
          "event %s from %s: unverified identities of customer %s left "
          "there, the event stays on %s (untrusted source)",
          trigger.event_id, trigger.source, (*there)->customer_id,
          (*here)->customer_id);
    }
    if (*written) ++noted;
  }
  return noted;
}

absl::StatusOr<int> CustomerMerger::ResumeStale(
    absl::Duration older_than) const {
  const MergeKeys keys = context_->keys.ForMerges();
  const int64_t bound =
      absl::ToUnixMillis(context_->options.clock() - older_than);
  absl::StatusOr<Reply> stale =
      Expect(redis::CallAndWait(*context_->redis,
                                {"ZRANGEBYSCORE", keys.pending, "-inf",
                                 absl::StrCat(bound), "LIMIT", "0", "64"}),
             Reply::Type::kArray, "the pending merges");
  if (!stale.ok()) return stale.status();
  int resumed = 0;
  for (const Reply& member : stale->elements) {
    absl::StatusOr<Reply> intent = redis::ErrorReplyAsStatus(
        redis::CallAndWait(*context_->redis,
                           {"HGET", keys.intents, member.str}),
        "a merge intent");
    if (!intent.ok()) return intent.status();
    std::pair<std::string, std::string> pair =
        absl::StrSplit(member.str, absl::MaxSplits('>', 1));
    v1::MergeRecord record;
    if (intent->type != Reply::Type::kString ||
        !record.ParseFromString(intent->str) || pair.second.empty()) {
      log::Warning("dropping unreadable merge intent %s", member.str);
      if (absl::Status cleared = ClearIntent(member.str); !cleared.ok()) {
        return cleared;
      }
      continue;
    }
    absl::StatusOr<std::optional<std::string>> landed =
        Carry(pair.first, pair.second, record);
    if (!landed.ok()) return landed.status();
    log::Info("resumed the unfinished merge of customer %s into %s", pair.first,
              pair.second);
    if (context_->metrics) context_->metrics->merges_resumed().Increment();
    ++resumed;
  }
  return resumed;
}

absl::Status CustomerMerger::FinishMergesOf(
    const std::string& customer_id) const {
  const MergeKeys keys = context_->keys.ForMerges();
  absl::StatusOr<Reply> intents =
      Expect(redis::CallAndWait(*context_->redis, {"HGETALL", keys.intents}),
             Reply::Type::kArray, "the pending merges");
  if (!intents.ok()) return intents.status();
  for (size_t i = 0; i + 1 < intents->elements.size(); i += 2) {
    const std::string& member = intents->elements[i].str;
    std::pair<std::string, std::string> pair =
        absl::StrSplit(member, absl::MaxSplits('>', 1));
    if (pair.first != customer_id && pair.second != customer_id) continue;
    v1::MergeRecord record;
    if (!record.ParseFromString(intents->elements[i + 1].str)) continue;
    absl::StatusOr<std::optional<std::string>> landed =
        Carry(pair.first, pair.second, record);
    if (!landed.ok()) return landed.status();
  }
  return absl::OkStatus();
}

std::vector<v1::MergeRecord> MergeLogFromHash(const Reply& hash) {
  std::vector<v1::MergeRecord> records;
  absl::flat_hash_map<std::string, int64_t> times;
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& field = hash.elements[i].str;
    if (absl::StartsWith(field, kMergeLogRefusedField) &&
        absl::EndsWith(field, kMergeLogTimesSuffix)) {
      times[field.substr(0, field.size() - kMergeLogTimesSuffix.size())] =
          IntegerOrZero(hash.elements[i + 1].str);
    }
  }
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& field = hash.elements[i].str;
    if (absl::EndsWith(field, kMergeLogTimesSuffix)) continue;
    v1::MergeRecord record;
    if (!record.ParseFromString(hash.elements[i + 1].str)) continue;
    if (auto it = times.find(field); it != times.end()) {
      record.set_times(it->second);
    } else {
      record.set_times(1);
    }
    records.push_back(std::move(record));
  }
  std::sort(records.begin(), records.end(),
            [](const v1::MergeRecord& a, const v1::MergeRecord& b) {
              return std::make_pair(ToMicros(a.at()), a.merged_id()) <
                     std::make_pair(ToMicros(b.at()), b.merged_id());
            });
  return records;
}

}  // namespace omnihub::timeline

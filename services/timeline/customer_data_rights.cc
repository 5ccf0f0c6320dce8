#include "services/timeline/customer_data_rights.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"
#include "services/timeline/customer_view.h"
#include "services/timeline/stored_event.h"

namespace omnihub::timeline {
namespace {

using redis::Reply;

absl::Status CheckAll(redis::Replies replies, absl::string_view what) {
  for (absl::StatusOr<Reply>& reply : replies) {
    absl::StatusOr<Reply> checked =
        redis::ErrorReplyAsStatus(std::move(reply), what);
    if (!checked.ok()) return checked.status();
  }
  return absl::OkStatus();
}

}  // namespace

CustomerDataRights::CustomerDataRights(const StoreContext* context,
                                       const CustomerMerger* merger)
    : context_(context), merger_(merger), suppressions_(context) {}

absl::StatusOr<std::optional<std::string>> CustomerDataRights::Mark(
    const std::string& customer_id) const {
  // Find the customer, finish any merge it is part of (so all of the person
  // is in one place), and mark it; a customer already marked is resumed.
  std::string target = customer_id;
  bool finished_merges = false;
  for (int hop = 0;; ++hop) {
    if (hop == kMaxAliasHops) {
      return absl::InternalError("the customer moved too often");
    }
    if (!finished_merges) {
      if (absl::Status status = merger_->FinishMergesOf(target); !status.ok()) {
        return status;
      }
      finished_merges = true;
    }
    const CustomerKeys keys = context_->keys.ForCustomer(target);
    absl::StatusOr<Reply> mark = Expect(
        redis::RunAndWait(*context_->redis, context_->scripts.begin_forget,
                          {keys.view, keys.claims}, {}),
        Reply::Type::kArray, "the start of an erasure");
    if (!mark.ok()) return mark.status();
    const std::string& answer = mark->elements[0].str;
    if (answer == "missing") return std::nullopt;
    if (answer == "marked") return target;
    target = mark->elements[1].str;  // merged into another: that one
    finished_merges = false;
  }
}

absl::StatusOr<CustomerDataRights::Profile> CustomerDataRights::ReadProfile(
    const CustomerKeys& keys) const {
  redis::Replies replies =
      redis::CallAllAndWait(*context_->redis, {{"HKEYS", keys.view},
                                               {"SMEMBERS", keys.aliases},
                                               {"HKEYS", keys.merge_log},
                                               {"SMEMBERS", keys.claims}});
  Profile profile;
  std::vector<std::string>* into[] = {&profile.identities, &profile.aliases,
                                      &profile.merge_log_fields,
                                      &profile.claimed};
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Reply> part =
        Expect(std::move(replies[i]), Reply::Type::kArray, "the profile");
    if (!part.ok()) return part.status();
    if (i == 0) {
      profile.identities = IdentityMembersOf(part->elements);
      continue;
    }
    for (Reply& element : part->elements) {
      into[i]->push_back(std::move(element.str));
    }
  }
  // Claims already attached are among the identities.
  std::erase_if(profile.claimed, [&](const std::string& member) {
    return std::find(profile.identities.begin(), profile.identities.end(),
                     member) != profile.identities.end();
  });
  return profile;
}

absl::Status CustomerDataRights::RememberErasedEvents(
    const CustomerKeys& keys, const std::vector<v1::Identity>& identities,
    v1::ForgetCustomerResponse& response) const {
  // Each erased event id, by hash, under the hash of each identity the
  // customer had: only a resend that carries one of them is refused, not
  // another person's event that happens to reuse the id. They lapse after
  // the replay window, and their keys go with the last of them.
  const absl::Time now = context_->options.clock();
  const std::string until = absl::StrCat(
      absl::ToUnixMillis(now + context_->options.erased_event_window));
  std::vector<std::string> tombstone_keys;
  for (const v1::Identity& identity : identities) {
    tombstone_keys.push_back(
        context_->keys.ForErasedEvents(IdentityHash(identity)));
  }
  int64_t erased = 0;
  absl::Status scanned =
      ScanHash(*context_, keys.events, [&](std::vector<Reply>& pairs) {
        std::vector<std::string> scored;
        for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
          scored.push_back(until);
          scored.push_back(ErasedEventHash(pairs[i].str));
        }
        erased += static_cast<int64_t>(pairs.size() / 2);
        std::vector<std::vector<std::string>> commands;
        for (const std::string& key : tombstone_keys) {
          std::vector<std::string> command = {"ZADD", key};
          command.insert(command.end(), scored.begin(), scored.end());
          commands.push_back(std::move(command));
        }
        return CheckAll(
            redis::CallAllAndWait(*context_->redis, std::move(commands)),
            "remembering erased events");
      });
  if (!scanned.ok()) return scanned;
  response.set_events_erased(erased);
  if (erased == 0) return absl::OkStatus();
  std::vector<std::vector<std::string>> bounds;
  const std::string window = absl::StrCat(std::max<int64_t>(
      absl::ToInt64Milliseconds(context_->options.erased_event_window), 1));
  for (const std::string& key : tombstone_keys) {
    bounds.push_back({"ZREMRANGEBYSCORE", key, "-inf",
                      absl::StrCat(absl::ToUnixMillis(now))});
    bounds.push_back({"PEXPIRE", key, window});
  }
  return CheckAll(redis::CallAllAndWait(*context_->redis, std::move(bounds)),
                  "bounding erased events");
}

absl::StatusOr<std::vector<v1::Identity>> CustomerDataRights::OwnIdentities(
    const std::vector<v1::Identity>& identities, size_t in_view,
    const std::vector<std::string>& owners) const {
  // An identity only recorded as being claimed for the customer may have
  // gone to someone else (the claim lost a race): that person's identity is
  // not suppressed. One whose key is gone was on its way to the customer.
  std::vector<std::vector<std::string>> lookups;
  for (size_t i = in_view; i < identities.size(); ++i) {
    lookups.push_back({"GET", context_->keys.ForIdentity(identities[i])});
  }
  redis::Replies found =
      redis::CallAllAndWait(*context_->redis, std::move(lookups));
  std::vector<v1::Identity> own(identities.begin(),
                                identities.begin() + in_view);
  for (size_t i = in_view; i < identities.size(); ++i) {
    absl::StatusOr<Reply> owner = redis::ErrorReplyAsStatus(
        std::move(found[i - in_view]), "an identity lookup");
    if (!owner.ok()) return owner.status();
    if (owner->type != Reply::Type::kString ||
        std::find(owners.begin(), owners.end(), owner->str) != owners.end()) {
      own.push_back(identities[i]);
    }
  }
  return own;
}

absl::Status CustomerDataRights::Suppress(
    const std::vector<v1::Identity>& identities, const std::string& customer_id,
    const SuppressionRequest* suppression,
    v1::ForgetCustomerResponse& response) const {
  if (suppression == nullptr || identities.empty()) return absl::OkStatus();
  SuppressionRequest request = *suppression;
  request.customer_id = customer_id;
  absl::StatusOr<absl::Time> until =
      suppressions_.Suppress(identities, request);
  if (!until.ok()) return until.status();
  response.set_identities_suppressed(static_cast<int64_t>(identities.size()));
  *response.mutable_suppressed_until() = FromMicros(absl::ToUnixMicros(*until));
  if (context_->metrics) {
    context_->metrics->identities_suppressed().Increment(
        static_cast<double>(identities.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ForgetCustomerResponse> CustomerDataRights::Forget(
    const std::string& customer_id, const AskedIdentity* asked,
    const SuppressionRequest* suppression) const {
  absl::StatusOr<std::optional<std::string>> marked = Mark(customer_id);
  if (!marked.ok()) return marked.status();
  if (!marked->has_value()) {
    return ForgetUnborn(customer_id, asked, suppression);
  }
  const std::string target = **marked;

  v1::ForgetCustomerResponse response;
  response.set_customer_id(target);
  const CustomerKeys keys = context_->keys.ForCustomer(target);
  absl::StatusOr<Profile> profile = ReadProfile(keys);
  if (!profile.ok()) return profile.status();
  if (asked != nullptr) {
    const std::string member = IdentityMember(asked->identity);
    if (std::find(profile->identities.begin(), profile->identities.end(),
                  member) == profile->identities.end() &&
        std::find(profile->claimed.begin(), profile->claimed.end(), member) ==
            profile->claimed.end()) {
      profile->claimed.push_back(member);
    }
  }
  std::vector<v1::Identity> identities;
  for (const std::vector<std::string>* list :
       {&profile->identities, &profile->claimed}) {
    for (const std::string& member : *list) {
      v1::Identity identity;
      if (ParseIdentityMember(member, &identity)) {
        identities.push_back(std::move(identity));
      }
    }
  }
  std::vector<std::string> owners = {target};
  owners.insert(owners.end(), profile->aliases.begin(), profile->aliases.end());
  if (asked != nullptr) owners.push_back(asked->owner);
  // Suppressed before any identity key is freed: an event that finds a key
  // gone (or the customer marked) looks its identities up again, and then
  // meets the suppression.
  if (suppression != nullptr) {
    absl::StatusOr<std::vector<v1::Identity>> own =
        OwnIdentities(identities, profile->identities.size(), owners);
    if (!own.ok()) return own.status();
    if (absl::Status status = Suppress(*own, target, suppression, response);
        !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = RememberErasedEvents(keys, identities, response);
      !status.ok()) {
    return status;
  }

  // Every identity key that may name the customer (or one merged into it) is
  // freed: those in its view, and those recorded as being claimed for it,
  // whose claimer may have died before attaching them.
  std::vector<redis::ScriptCall> releases;
  for (size_t i = 0; i < identities.size(); ++i) {
    const bool only_claimed = i >= profile->identities.size();
    std::vector<std::string> args = {
        only_claimed ? context_->MarkerTtlArgument() : "0"};
    args.insert(args.end(), owners.begin(), owners.end());
    releases.push_back({.keys = {context_->keys.ForIdentity(identities[i])},
                        .args = std::move(args)});
  }
  int64_t freed = static_cast<int64_t>(profile->identities.size());
  redis::Replies released = redis::RunAllAndWait(
      *context_->redis, context_->scripts.free_identity, std::move(releases));
  for (size_t i = 0; i < released.size(); ++i) {
    absl::StatusOr<Reply> reply = Expect(
        std::move(released[i]), Reply::Type::kInteger, "releasing an identity");
    if (!reply.ok()) return reply.status();
    if (i >= profile->identities.size() && reply->integer != 0) ++freed;
  }
  response.set_identities_erased(freed);
  const std::vector<std::string>& aliases = profile->aliases;
  const std::vector<std::string>& merge_log_fields = profile->merge_log_fields;
  std::vector<std::vector<std::string>> deletes;
  for (const std::string& alias : aliases) {
    // A merged-away customer's view holds nothing but its alias.
    deletes.push_back({"DEL", context_->keys.ForCustomer(alias).view});
  }
  response.set_aliases_erased(static_cast<int64_t>(aliases.size()));
  // A refused merge is logged on both customers, with what each had.
  for (const std::string& field : merge_log_fields) {
    if (!absl::StartsWith(field, kMergeLogRefusedField) ||
        absl::EndsWith(field, kMergeLogTimesSuffix)) {
      continue;
    }
    const std::string other = field.substr(kMergeLogRefusedField.size());
    const std::string other_field = absl::StrCat(kMergeLogRefusedField, target);
    deletes.push_back({"HDEL", context_->keys.ForCustomer(other).merge_log,
                       other_field,
                       absl::StrCat(other_field, kMergeLogTimesSuffix)});
  }
  if (absl::Status status =
          CheckAll(redis::CallAllAndWait(*context_->redis, std::move(deletes)),
                   "erasing the customer");
      !status.ok()) {
    return status;
  }
  if (context_->observer != nullptr) {
    std::vector<std::string> forgotten = aliases;
    forgotten.push_back(target);
    for (const std::string& id : forgotten) {
      if (absl::Status told = WaitForObserver([&](auto done) {
            context_->observer->Forgetting(id, std::move(done));
          });
          !told.ok()) {
        return told;
      }
    }
  }
  // Everything but the erasure mark goes at once, and the mark is given its
  // time to live in the same step.
  absl::StatusOr<Reply> cleared =
      Expect(redis::RunAndWait(*context_->redis, context_->scripts.finish_merge,
                               AllDataKeys(keys),
                               {"-", context_->MarkerTtlArgument()}),
             Reply::Type::kInteger, "erasing the customer");
  if (!cleared.ok()) return cleared.status();
  // Out of the customer index last: a failure before leaves entries that
  // name nobody, which every walk of the index passes over.
  std::vector<std::string> unlisted = aliases;
  unlisted.push_back(target);
  if (absl::Status status = Unlist(unlisted); !status.ok()) return status;
  if (context_->metrics) context_->metrics->customers_forgotten().Increment();
  return response;
}

absl::StatusOr<v1::ForgetCustomerResponse> CustomerDataRights::ForgetUnborn(
    const std::string& customer_id, const AskedIdentity* asked,
    const SuppressionRequest* suppression) const {
  // Nothing was ever stored on the customer; only the identity asked by may
  // still name it, claimed by an ingest that died before storing its event.
  if (asked == nullptr || asked->owner != customer_id) {
    return CustomerNotFound(customer_id);
  }

  absl::StatusOr<Reply> freed = Expect(
      redis::RunAndWait(*context_->redis, context_->scripts.free_identity,
                        {context_->keys.ForIdentity(asked->identity)},
                        {"0", customer_id}),
      Reply::Type::kInteger, "releasing an identity");
  if (!freed.ok()) return freed.status();
  if (freed->integer == 0) return CustomerNotFound(customer_id);
  v1::ForgetCustomerResponse response;
  // After the key is freed: until then it may name someone else.
  if (absl::Status status =
          Suppress({asked->identity}, customer_id, suppression, response);
      !status.ok()) {
    return status;
  }
  response.set_customer_id(customer_id);
  response.set_identities_erased(1);
  if (absl::Status status = Unlist({customer_id}); !status.ok()) return status;
  if (context_->metrics) context_->metrics->customers_forgotten().Increment();
  return response;
}

absl::Status CustomerDataRights::Unlist(
    const std::vector<std::string>& customer_ids) const {
  std::vector<std::vector<std::string>> removals;
  for (const std::string& id : customer_ids) {
    removals.push_back({"ZREM", context_->keys.ForCustomerIndexOf(id), id});
  }
  return CheckAll(redis::CallAllAndWait(*context_->redis, std::move(removals)),
                  "the customer index");
}

absl::StatusOr<v1::CustomerExport> CustomerDataRights::Export(
    const std::string& customer_id) const {
  const std::string& target = customer_id;
  const CustomerKeys keys = context_->keys.ForCustomer(target);

  v1::CustomerExport exported;
  *exported.mutable_exported_at() =
      FromMicros(absl::ToUnixMicros(context_->options.clock()));
  absl::StatusOr<Reply> read = Expect(
      redis::RunAndWait(*context_->redis, context_->scripts.read_customer,
                        {keys.view, keys.events, keys.aliases}, {}),
      Reply::Type::kArray, "the customer read");
  if (!read.ok()) return read.status();
  if (read->elements.empty() || read->elements[0].str != "ok") {
    return CustomerNotFound(customer_id);
  }
  absl::StatusOr<v1::CustomerView> view = CustomerViewFromReply(target, *read);
  if (!view.ok()) return view.status();
  *exported.mutable_customer() = *std::move(view);

  absl::Status scanned =
      ScanHash(*context_, keys.events, [&](std::vector<Reply>& pairs) {
        for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
          absl::StatusOr<v1::InteractionEvent> event =
              DecodeStoredEvent(pairs[i].str, pairs[i + 1].str);
          if (!event.ok()) return event.status();
          event->set_customer_id(target);
          *exported.add_events() = *std::move(event);
        }
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned;
  std::sort(exported.mutable_events()->begin(),
            exported.mutable_events()->end(),
            [](const v1::InteractionEvent& a, const v1::InteractionEvent& b) {
              return std::make_pair(ToMicros(a.occurred_at()), a.event_id()) <
                     std::make_pair(ToMicros(b.occurred_at()), b.event_id());
            });
  absl::StatusOr<v1::GetMergeLogResponse> log = MergeLog(target);
  if (!log.ok()) return log.status();
  for (v1::MergeRecord& record : *log->mutable_records()) {
    *exported.add_merge_log() = std::move(record);
  }
  if (context_->metrics) context_->metrics->customers_exported().Increment();
  return exported;
}

absl::StatusOr<v1::GetMergeLogResponse> CustomerDataRights::MergeLog(
    const std::string& customer_id) const {
  absl::StatusOr<Reply> hash = Expect(
      redis::CallAndWait(
          *context_->redis,
          {"HGETALL", context_->keys.ForCustomer(customer_id).merge_log}),
      Reply::Type::kArray, "the merge log");
  if (!hash.ok()) return hash.status();
  v1::GetMergeLogResponse response;
  response.set_customer_id(customer_id);
  for (v1::MergeRecord& record : MergeLogFromHash(*hash)) {
    *response.add_records() = std::move(record);
  }
  return response;
}

}  // namespace omnihub::timeline

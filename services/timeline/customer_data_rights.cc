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
    : context_(context), merger_(merger) {}

absl::StatusOr<v1::ForgetCustomerResponse> CustomerDataRights::Forget(
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
                          {keys.view}, {}),
        Reply::Type::kArray, "the start of an erasure");
    if (!mark.ok()) return mark.status();
    const std::string& answer = mark->elements[0].str;
    if (answer == "missing") return CustomerNotFound(customer_id);
    if (answer == "marked") break;
    target = mark->elements[1].str;  // merged into another: that one
    finished_merges = false;
  }

  v1::ForgetCustomerResponse response;
  response.set_customer_id(target);
  const CustomerKeys keys = context_->keys.ForCustomer(target);
  absl::Status scanned =
      ScanHash(*context_, keys.events, [&](std::vector<Reply>& pairs) {
        absl::flat_hash_map<std::string, std::vector<std::string>> shards;
        for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
          const std::string hash = ErasedEventHash(pairs[i].str);
          std::vector<std::string>& shard =
              shards[context_->keys.ForErasedEvent(hash)];
          if (shard.empty()) shard.push_back("SADD");
          shard.push_back(hash);
        }
        std::vector<std::vector<std::string>> commands;
        for (auto& [key, command] : shards) {
          command.insert(command.begin() + 1, key);
          commands.push_back(std::move(command));
        }
        response.set_events_erased(response.events_erased() +
                                   static_cast<int64_t>(pairs.size() / 2));
        return CheckAll(
            redis::CallAllAndWait(*context_->redis, std::move(commands)),
            "remembering erased events");
      });
  if (!scanned.ok()) return scanned;

  redis::Replies profile =
      redis::CallAllAndWait(*context_->redis, {{"HKEYS", keys.view},
                                               {"SMEMBERS", keys.aliases},
                                               {"HKEYS", keys.merge_log}});
  std::vector<std::vector<std::string>> parts(3);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Reply> part =
        Expect(std::move(profile[i]), Reply::Type::kArray, "the profile");
    if (!part.ok()) return part.status();
    if (i == 0) {
      parts[i] = IdentityMembersOf(part->elements);
      continue;
    }
    for (Reply& element : part->elements) {
      parts[i].push_back(std::move(element.str));
    }
  }
  std::vector<redis::ScriptCall> releases;
  for (const std::string& member : parts[0]) {
    v1::Identity identity;
    if (!ParseIdentityMember(member, &identity)) continue;
    releases.push_back(
        {.keys = {context_->keys.ForIdentity(identity)}, .args = {target, ""}});
  }
  response.set_identities_erased(static_cast<int64_t>(releases.size()));
  if (absl::Status status =
          CheckAll(redis::RunAllAndWait(*context_->redis,
                                        context_->scripts.compare_and_set,
                                        std::move(releases)),
                   "releasing an identity");
      !status.ok()) {
    return status;
  }
  std::vector<std::vector<std::string>> deletes;
  for (const std::string& alias : parts[1]) {
    // A merged-away customer's view holds nothing but its alias.
    deletes.push_back({"DEL", context_->keys.ForCustomer(alias).view});
  }
  response.set_aliases_erased(static_cast<int64_t>(parts[1].size()));
  // A refused merge is logged on both customers, with what each had.
  for (const std::string& field : parts[2]) {
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
    std::vector<std::string> forgotten = parts[1];
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
  absl::StatusOr<Reply> cleared = Expect(
      redis::RunAndWait(*context_->redis, context_->scripts.finish_merge,
                        AllDataKeys(keys),
                        {"-", absl::StrCat(absl::ToInt64Milliseconds(
                                  context_->options.erased_marker_ttl))}),
      Reply::Type::kInteger, "erasing the customer");
  if (!cleared.ok()) return cleared.status();
  if (context_->metrics) context_->metrics->customers_forgotten().Increment();
  return response;
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

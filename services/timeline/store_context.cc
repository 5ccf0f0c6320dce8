#include "services/timeline/store_context.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"
#include "services/timeline/timeline_scripts.h"

namespace omnihub::timeline {
namespace {

redis::RedisScript Script(absl::string_view source) {
  return redis::RedisScript(std::string(source));
}

}  // namespace

StoreScripts::StoreScripts()
    : ingest_event(Script(kIngestEventLua)),
      attach_identities(Script(kAttachIdentitiesLua)),
      absorb_events(Script(kAbsorbEventsLua)),
      absorb_profile(Script(kAbsorbProfileLua)),
      begin_merge(Script(kBeginMergeLua)),
      finish_merge(Script(kFinishMergeLua)),
      compare_and_set(Script(kCompareAndSetLua)),
      merge_intent(Script(kMergeIntentLua)),
      begin_forget(Script(kBeginForgetLua)),
      resolve_customer(Script(kResolveCustomerLua)),
      read_timeline(Script(kReadTimelineLua)),
      read_customer(Script(kReadCustomerLua)),
      record_claims(Script(kRecordClaimsLua)),
      free_identity(Script(kFreeIdentityLua)),
      suppress_identity(Script(kSuppressIdentityLua)),
      drop_claim(Script(kDropClaimLua)),
      note_untrusted(Script(kNoteUntrustedLua)) {}

std::string StoreContext::MaxEventsArgument() const {
  return absl::StrCat(options.retention.max_events_per_customer);
}

std::string StoreContext::OldestKeptArgument(absl::Time now) const {
  if (options.retention.max_age <= absl::ZeroDuration()) return "0";
  return absl::StrCat(absl::ToUnixMicros(now - options.retention.max_age));
}

std::string StoreContext::MarkerTtlArgument() const {
  return absl::StrCat(std::max<int64_t>(
      absl::ToInt64Milliseconds(options.erased_marker_ttl), 1));
}

absl::Status CustomerNotFound(absl::string_view customer_id) {
  return absl::NotFoundError(
      absl::StrCat("customer ", customer_id, " does not exist"));
}

int64_t IntegerOrZero(const std::string& text) {
  int64_t value = 0;
  return absl::SimpleAtoi(text, &value) ? value : 0;
}

std::vector<std::string> IdentityMembersOf(
    const std::vector<redis::Reply>& fields) {
  std::vector<std::string> members;
  for (const redis::Reply& field : fields) {
    if (absl::StartsWith(field.str, kIdentityFieldPrefix)) {
      members.push_back(field.str.substr(kIdentityFieldPrefix.size()));
    }
  }
  return members;
}

std::vector<std::string> AllDataKeys(const CustomerKeys& keys) {
  return {keys.events,    keys.timeline, keys.view,
          keys.merge_log, keys.aliases,  keys.claims};
}

absl::Status ScanHash(
    const StoreContext& context, const std::string& key,
    const std::function<absl::Status(std::vector<redis::Reply>&)>& each) {
  std::string cursor = "0";
  do {
    absl::StatusOr<redis::Reply> page =
        Expect(redis::CallAndWait(*context.redis,
                                  {"HSCAN", key, cursor, "COUNT",
                                   absl::StrCat(context.options.chunk_size)}),
               redis::Reply::Type::kArray, "reading a customer's events");
    if (!page.ok()) return page.status();
    if (page->elements.size() != 2) {
      return absl::InternalError("HSCAN: unexpected reply from Redis");
    }
    cursor = page->elements[0].str;
    if (page->elements[1].elements.empty()) continue;
    if (absl::Status status = each(page->elements[1].elements); !status.ok()) {
      return status;
    }
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::StatusOr<redis::Reply> Expect(absl::StatusOr<redis::Reply> reply,
                                    redis::Reply::Type type,
                                    absl::string_view what) {
  reply = redis::ErrorReplyAsStatus(std::move(reply), what);
  if (!reply.ok()) return reply;
  if (reply->type != type) {
    return absl::InternalError(
        absl::StrCat(what, ": unexpected reply from Redis"));
  }
  return reply;
}

}  // namespace omnihub::timeline

#include "services/timeline/suppressions.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/identity/identity_normalizer.h"
#include "common/redis/blocking_calls.h"
#include "services/timeline/stored_event.h"

namespace omnihub::timeline {
namespace {

using redis::Reply;

constexpr char kUntilField[] = "until";
// Milliseconds since 1970 in 16 digits order as text as they do as numbers
// (until the year 318857).
constexpr int kMillisDigits = 16;
constexpr size_t kHashDigits = 64;

std::string PaddedMillis(int64_t millis) {
  return absl::StrFormat("%0*d", kMillisDigits, std::max<int64_t>(millis, 0));
}

// The index member of a suppression: ordered by when it ends.
std::string IndexMember(int64_t until_millis, absl::string_view hash) {
  return absl::StrCat(PaddedMillis(until_millis), ":", hash);
}

absl::Status CheckAll(redis::Replies replies, absl::string_view what) {
  for (absl::StatusOr<Reply>& reply : replies) {
    absl::StatusOr<Reply> checked =
        redis::ErrorReplyAsStatus(std::move(reply), what);
    if (!checked.ok()) return checked.status();
  }
  return absl::OkStatus();
}

// A suppression from its HGETALL reply (field, value, ...); nullopt when the
// key is gone or ended by `now`.
std::optional<v1::Suppression> FromHash(const std::string& hash,
                                        const Reply& reply, absl::Time now,
                                        int64_t* until_millis) {
  v1::Suppression suppression;
  suppression.set_identity_hash(hash);
  int64_t since = 0;
  int64_t until = 0;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const std::string& field = reply.elements[i].str;
    const std::string& value = reply.elements[i + 1].str;
    if (field == "kind") {
      v1::IdentityKind kind;
      if (identity::ParseIdentityKindName(value, &kind)) {
        suppression.set_kind(kind);
      }
    } else if (field == "since") {
      (void)absl::SimpleAtoi(value, &since);
    } else if (field == kUntilField) {
      (void)absl::SimpleAtoi(value, &until);
    } else if (field == "by") {
      suppression.set_requested_by(value);
    } else if (field == "customer") {
      suppression.set_erased_customer_id(value);
    }
  }
  if (until <= absl::ToUnixMillis(now)) return std::nullopt;
  *suppression.mutable_since() = FromMicros(since * 1000);
  *suppression.mutable_until() = FromMicros(until * 1000);
  if (until_millis != nullptr) *until_millis = until;
  return suppression;
}

}  // namespace

Suppressions::Suppressions(const StoreContext* context) : context_(context) {}

absl::StatusOr<absl::Time> Suppressions::Suppress(
    const std::vector<v1::Identity>& identities,
    const SuppressionRequest& request) const {
  const absl::Time now = context_->options.clock();
  const int64_t since = absl::ToUnixMillis(now);
  const int64_t until = absl::ToUnixMillis(now + request.period);
  const std::string ttl = absl::StrCat(
      std::max<int64_t>(absl::ToInt64Milliseconds(request.period), 1));
  std::vector<std::string> hashes;
  std::vector<redis::ScriptCall> writes;
  for (const v1::Identity& identity : identities) {
    hashes.push_back(IdentityHash(identity));
    writes.push_back(
        {.keys = {context_->keys.ForSuppression(hashes.back())},
         .args = {absl::StrCat(until), ttl, "kind",
                  std::string(identity::IdentityKindName(identity.kind())),
                  "since", absl::StrCat(since), kUntilField,
                  absl::StrCat(until), "by", request.requested_by, "customer",
                  request.customer_id}});
  }
  redis::Replies written = redis::RunAllAndWait(
      *context_->redis, context_->scripts.suppress_identity, std::move(writes));
  // The listing follows: ended suppressions leave it, replaced ones are
  // listed by their new end.
  const std::string index = context_->keys.ForSuppressionIndex();
  std::vector<std::vector<std::string>> listing = {
      {"ZREMRANGEBYLEX", index, "-", absl::StrCat("(", PaddedMillis(since))}};
  std::vector<std::string> added = {"ZADD", index};
  for (size_t i = 0; i < written.size(); ++i) {
    absl::StatusOr<Reply> reply = Expect(
        std::move(written[i]), Reply::Type::kArray, "suppressing an identity");
    if (!reply.ok()) return reply.status();
    if (reply->elements.size() != 2) {
      return absl::InternalError("suppressing an identity: unexpected reply");
    }
    int64_t before = 0;
    if (reply->elements[1].integer == 0) continue;  // suppressed for longer
    if (absl::SimpleAtoi(reply->elements[0].str, &before)) {
      listing.push_back({"ZREM", index, IndexMember(before, hashes[i])});
    }
    added.push_back("0");
    added.push_back(IndexMember(until, hashes[i]));
  }
  if (added.size() > 2) listing.push_back(std::move(added));
  if (absl::Status status =
          CheckAll(redis::CallAllAndWait(*context_->redis, std::move(listing)),
                   "listing suppressions");
      !status.ok()) {
    return status;
  }
  return absl::FromUnixMillis(until);
}

absl::StatusOr<std::optional<v1::Suppression>> Suppressions::Find(
    const std::string& identity_hash) const {
  absl::StatusOr<Reply> hash =
      Expect(redis::CallAndWait(
                 *context_->redis,
                 {"HGETALL", context_->keys.ForSuppression(identity_hash)}),
             Reply::Type::kArray, "a suppression");
  if (!hash.ok()) return hash.status();
  return FromHash(identity_hash, *hash, context_->options.clock(), nullptr);
}

absl::StatusOr<std::optional<v1::Suppression>> Suppressions::Lift(
    const std::string& identity_hash) const {
  const std::string key = context_->keys.ForSuppression(identity_hash);
  absl::StatusOr<Reply> hash =
      Expect(redis::CallAndWait(*context_->redis, {"HGETALL", key}),
             Reply::Type::kArray, "a suppression");
  if (!hash.ok()) return hash.status();
  int64_t until = 0;
  std::optional<v1::Suppression> found =
      FromHash(identity_hash, *hash, context_->options.clock(), &until);
  if (!found.has_value()) return std::nullopt;
  if (absl::Status status = CheckAll(
          redis::CallAllAndWait(*context_->redis,
                                {{"DEL", key},
                                 {"ZREM", context_->keys.ForSuppressionIndex(),
                                  IndexMember(until, identity_hash)}}),
          "lifting a suppression");
      !status.ok()) {
    return status;
  }
  return found;
}

absl::StatusOr<SuppressionPage> Suppressions::List(
    int page_size, const std::string& cursor) const {
  // Suppressions that ended are skipped: they lie before now in the index.
  const std::string index = context_->keys.ForSuppressionIndex();
  const std::string now =
      PaddedMillis(absl::ToUnixMillis(context_->options.clock()));
  const std::string after = std::max(cursor, now);
  absl::StatusOr<Reply> members =
      Expect(redis::CallAndWait(*context_->redis,
                                {"ZRANGEBYLEX", index, absl::StrCat("(", after),
                                 "+", "LIMIT", "0", absl::StrCat(page_size)}),
             Reply::Type::kArray, "the suppressions");
  if (!members.ok()) return members.status();
  std::vector<std::vector<std::string>> reads;
  for (const Reply& member : members->elements) {
    reads.push_back(
        {"HGETALL",
         context_->keys.ForSuppression(
             absl::string_view(member.str).substr(kMillisDigits + 1))});
  }
  redis::Replies read =
      redis::CallAllAndWait(*context_->redis, std::move(reads));
  SuppressionPage page;
  std::vector<std::string> stale = {"ZREM", index};
  for (size_t i = 0; i < read.size(); ++i) {
    const std::string& member = members->elements[i].str;
    absl::StatusOr<Reply> hash =
        Expect(std::move(read[i]), Reply::Type::kArray, "a suppression");
    if (!hash.ok()) return hash.status();
    int64_t until = 0;
    std::optional<v1::Suppression> found =
        FromHash(member.substr(kMillisDigits + 1), *hash,
                 context_->options.clock(), &until);
    // Lifted, or suppressed again since (then listed by its new end).
    if (!found.has_value() ||
        IndexMember(until, found->identity_hash()) != member) {
      stale.push_back(member);
      continue;
    }
    page.suppressions.push_back(*std::move(found));
  }
  if (stale.size() > 2) {
    absl::StatusOr<Reply> dropped = redis::ErrorReplyAsStatus(
        redis::CallAndWait(*context_->redis, std::move(stale)),
        "listing suppressions");
    if (!dropped.ok()) return dropped.status();
  }
  if (static_cast<int>(members->elements.size()) == page_size) {
    page.next_cursor = members->elements.back().str;
  }
  return page;
}

std::vector<std::string> SuppressionLookup(const KeySchema& keys,
                                           const std::string& identity_hash) {
  return {"HGET", keys.ForSuppression(identity_hash), kUntilField};
}

std::optional<absl::Time> SuppressedUntil(const Reply& reply, absl::Time now) {
  int64_t until = 0;
  if (reply.type != Reply::Type::kString ||
      !absl::SimpleAtoi(reply.str, &until) ||
      until <= absl::ToUnixMillis(now)) {
    return std::nullopt;
  }
  return absl::FromUnixMillis(until);
}

bool IsWellFormedIdentityHash(absl::string_view hash) {
  return hash.size() == kHashDigits &&
         std::all_of(hash.begin(), hash.end(), [](char c) {
           return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

bool IsWellFormedSuppressionCursor(absl::string_view cursor) {
  if (cursor.size() != kMillisDigits + 1 + kHashDigits ||
      cursor[kMillisDigits] != ':') {
    return false;
  }
  const absl::string_view millis = cursor.substr(0, kMillisDigits);
  return std::all_of(millis.begin(), millis.end(),
                     [](char c) { return absl::ascii_isdigit(c); }) &&
         IsWellFormedIdentityHash(cursor.substr(kMillisDigits + 1));
}

}  // namespace omnihub::timeline

#include "services/timeline/key_schema.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/identity/identity_normalizer.h"

namespace omnihub::timeline {

uint32_t StableHash(absl::string_view text) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : text) hash = (hash ^ c) * 16777619u;
  return hash;
}

KeySchema::KeySchema(std::string prefix) : prefix_(std::move(prefix)) {}

CustomerKeys KeySchema::ForCustomer(absl::string_view customer_id) const {
  const std::string base = absl::StrCat(prefix_, "c:{", customer_id, "}:");
  return CustomerKeys{
      .events = absl::StrCat(base, "ev"),
      .timeline = absl::StrCat(base, "tl"),
      .view = absl::StrCat(base, "v"),
      .merge_log = absl::StrCat(base, "mlog"),
      .aliases = absl::StrCat(base, "als"),
      .claims = absl::StrCat(base, "cl"),
  };
}

MergeKeys KeySchema::ForMerges() const {
  return MergeKeys{.pending = absl::StrCat(prefix_, "{merges}:pending"),
                   .intents = absl::StrCat(prefix_, "{merges}:intents")};
}

std::string KeySchema::ForErasedEvents(absl::string_view identity_hash) const {
  return absl::StrCat(prefix_, "fg:{", identity_hash, "}");
}

std::string KeySchema::ForSuppression(absl::string_view identity_hash) const {
  return absl::StrCat(prefix_, "sup:{", identity_hash, "}");
}

std::string KeySchema::ForSuppressionIndex() const {
  return absl::StrCat(prefix_, "{suppressions}:index");
}

std::string KeySchema::ForCustomerIndex(int shard) const {
  return absl::StrFormat("%scx:{%02x}", prefix_, shard);
}

std::string KeySchema::ForCustomerIndexComplete() const {
  return absl::StrCat(prefix_, "{customers}:indexed");
}

std::string KeySchema::ForIdentity(const v1::Identity& identity) const {
  return absl::StrCat(prefix_, "id:{", IdentityMember(identity), "}");
}

std::string IdentityMember(const v1::Identity& identity) {
  return absl::StrCat(identity::IdentityKindName(identity.kind()), ":",
                      identity.value());
}

bool ParseIdentityMember(absl::string_view member, v1::Identity* identity) {
  const size_t colon = member.find(':');
  if (colon == absl::string_view::npos) return false;
  v1::IdentityKind kind;
  if (!identity::ParseIdentityKindName(member.substr(0, colon), &kind)) {
    return false;
  }
  identity->set_kind(kind);
  identity->set_value(std::string(member.substr(colon + 1)));
  return true;
}

std::string NewCustomerId(absl::Time now) {
  // absl::BitGen is seeded from the OS per generator; one per thread keeps
  // this lock-free.
  thread_local absl::BitGen generator;
  const uint64_t millis =
      static_cast<uint64_t>(std::max<int64_t>(absl::ToUnixMillis(now), 0));
  const uint64_t random =
      absl::Uniform<uint64_t>(generator) & ((uint64_t{1} << 48) - 1);
  return absl::StrFormat("c%012x%012x", millis & ((uint64_t{1} << 48) - 1),
                         random);
}

bool IsWellFormedCustomerId(absl::string_view customer_id) {
  if (customer_id.size() != 25 || customer_id[0] != 'c') return false;
  for (char c : customer_id.substr(1)) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

namespace {

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace

std::string ErasedEventHash(absl::string_view event_id) {
  return Sha256Hex(event_id);
}

std::string IdentityHash(const v1::Identity& identity) {
  return Sha256Hex(IdentityMember(identity));
}

}  // namespace omnihub::timeline

// Names of the Redis keys omnihub stores a customer and an identity under.
//
// Every key of one customer carries the customer id as its hash tag, so a
// customer lives on one Redis Cluster slot and one script can update it
// atomically:
//   omnihub:c:{c0123...}:ev    events hash
//   omnihub:c:{c0123...}:tl    timeline sorted set
//   omnihub:c:{c0123...}:v     single-view hash, with the customer's
//                              identities as fields "i:kind:value" and,
//                              once it is merged away or being erased, only
//                              the field "alias": the survivor, or "-"
//   omnihub:c:{c0123...}:mlog  merge log hash
//   omnihub:c:{c0123...}:als   customers merged into this one
//   omnihub:c:{c0123...}:cl    identities recorded as being claimed for it
//                              and not (yet) in its view
//   omnihub:id:{phone:+4420...}   identity -> customer id
//   omnihub:{merges}:pending   merges under way (sorted by start), and
//   omnihub:{merges}:intents   what each is, so any replica can finish it
//   omnihub:fg:{<sha256>}      erased events of the customers that had the
//                              identity with this hash: hashes of their ids,
//                              scored by when they stop being refused
//   omnihub:sup:{<sha256>}     the identity with this hash is suppressed
//                              (see Suppressions): kind, since, until, who
//                              asked; expires with the suppression
//   omnihub:{suppressions}:index  the suppressions, for listing them only
//                              (written by erasures and lifts, never by
//                              an ingest)
//   omnihub:cx:{2a}            every customer's id (64 shards by id), all
//                              of score 0 so that a walk goes by id
//                              (ZRANGEBYLEX): listed before the customer's
//                              first event is stored, unlisted after its
//                              erasure, so it may name a customer that
//                              never came to be or was merged away, never
//                              miss a live one (written once per customer,
//                              not per event)
//   omnihub:{customers}:indexed   set once a whole walk of the keyspace
//                              has listed the customers stored before the
//                              index was kept (see insights' customer_scan)
#ifndef OMNIHUB_SERVICES_TIMELINE_KEY_SCHEMA_H_
#define OMNIHUB_SERVICES_TIMELINE_KEY_SCHEMA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::timeline {

inline constexpr int kCustomerIndexShards = 64;

// FNV-1a of `text`: the shard of a customer (or an item) in a sharded
// index, the same on every replica and in every version.
uint32_t StableHash(absl::string_view text);

struct CustomerKeys {
  std::string events;
  std::string timeline;
  std::string view;
  std::string merge_log;
  std::string aliases;
  std::string claims;
};

// The keys of merges under way; one hash tag, so one script updates both.
struct MergeKeys {
  std::string pending;
  std::string intents;
};

class KeySchema {
 public:
  explicit KeySchema(std::string prefix = "omnihub:");

  CustomerKeys ForCustomer(absl::string_view customer_id) const;
  std::string ForIdentity(const v1::Identity& identity) const;
  MergeKeys ForMerges() const;
  // The erased events of customers that had the identity whose
  // IdentityHash is `identity_hash`.
  std::string ForErasedEvents(absl::string_view identity_hash) const;
  // The suppression of the identity whose IdentityHash is `identity_hash`,
  // and the index that lists suppressions.
  std::string ForSuppression(absl::string_view identity_hash) const;
  std::string ForSuppressionIndex() const;
  // The customer index's shard `shard`, the one that lists `customer_id`,
  // and the mark that it lists every customer.
  std::string ForCustomerIndex(int shard) const;
  std::string ForCustomerIndexOf(absl::string_view customer_id) const {
    return ForCustomerIndex(
        static_cast<int>(StableHash(customer_id) % kCustomerIndexShards));
  }
  std::string ForCustomerIndexComplete() const;

  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

// "kind:value", how an identity is named among a customer's identities (its
// view hash holds it as the field "i:kind:value").
std::string IdentityMember(const v1::Identity& identity);
// The reverse; false when `member` is not of that form or names no known kind.
bool ParseIdentityMember(absl::string_view member, v1::Identity* identity);

// Customer ids are "c" followed by 24 lower-case hex digits: the creation time
// in milliseconds (12 digits), then 48 random bits. Ordering ids as strings
// orders customers by age, which makes the oldest of several customers (the
// survivor of a merge) a choice every replica makes alike.
std::string NewCustomerId(absl::Time now = absl::Now());
bool IsWellFormedCustomerId(absl::string_view customer_id);

// Erased events are remembered by a hash of their id (hex SHA-256), not by
// the id itself, which may carry personal data.
std::string ErasedEventHash(absl::string_view event_id);
// An identity as it is kept once its customer is erased: the hex SHA-256 of
// its IdentityMember.
std::string IdentityHash(const v1::Identity& identity);

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_KEY_SCHEMA_H_

// Suppressed identities: what an erasure asked with `suppress` leaves behind
// so that events still in an adapter's spool, or sent again by a source, do
// not create the erased person again; and the listing, check and lifting of
// them. Blocking (run on a worker thread), except the two helpers the ingest
// uses to check an identity in its first round trip.
//
// An identity is kept by its IdentityHash only, never its value, so nothing
// personal is in a key name or a value:
//   omnihub:sup:{<sha256>}  hash: kind, since, until (ms, the store's
//                           clock), by (requested_by), customer (the erased
//                           id); expires (PEXPIRE) when the suppression ends
//   omnihub:{suppressions}:index  sorted set, every score 0, members
//                           "<until ms, 16 digits>:<sha256>" in the order
//                           they end: only for listing, written by erasures
//                           and lifts (never by an ingest, so no key is
//                           written on every event); a member whose key is
//                           gone or says otherwise is dropped when listed.
//
//   Suppressions suppressions(&context);
//   absl::StatusOr<absl::Time> until = suppressions.Suppress(identities,
//       {.period = absl::Hours(24 * 365), .requested_by = "ticket-42",
//        .customer_id = "c..."});
#ifndef OMNIHUB_SERVICES_TIMELINE_SUPPRESSIONS_H_
#define OMNIHUB_SERVICES_TIMELINE_SUPPRESSIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "omnihub/v1/customer.pb.h"
#include "services/timeline/store_context.h"

namespace omnihub::timeline {

// What an erasure asks to suppress its identities for.
struct SuppressionRequest {
  absl::Duration period;
  std::string requested_by;
  // Filled in by the erasure.
  std::string customer_id;
};

struct SuppressionPage {
  std::vector<v1::Suppression> suppressions;
  std::string next_cursor;  // empty on the last page
};

class Suppressions {
 public:
  explicit Suppressions(const StoreContext* context);

  // Suppresses each identity until now + request.period; an identity
  // already suppressed for longer keeps its longer suppression. Returns
  // when the new suppressions end.
  absl::StatusOr<absl::Time> Suppress(
      const std::vector<v1::Identity>& identities,
      const SuppressionRequest& request) const;

  // The suppression in force for the identity with this IdentityHash, or
  // nullopt.
  absl::StatusOr<std::optional<v1::Suppression>> Find(
      const std::string& identity_hash) const;

  // Ends it; the suppression that was in force, or nullopt when none was.
  absl::StatusOr<std::optional<v1::Suppression>> Lift(
      const std::string& identity_hash) const;

  // Up to `page_size` suppressions in force, soonest to end first, after
  // `cursor` (a next_cursor, or empty for the first page).
  absl::StatusOr<SuppressionPage> List(int page_size,
                                       const std::string& cursor) const;

 private:
  const StoreContext* context_;
};

// For the ingest, which checks every identity of an event in the round trip
// that looks up their owners: the command that reads when the suppression
// of the identity with `identity_hash` ends, and what its reply says: when
// the identity is suppressed at `now`, until when.
std::vector<std::string> SuppressionLookup(const KeySchema& keys,
                                           const std::string& identity_hash);
std::optional<absl::Time> SuppressedUntil(const redis::Reply& reply,
                                          absl::Time now);

// Whether `cursor` is one List gave (a listing's page token).
bool IsWellFormedSuppressionCursor(absl::string_view cursor);

// A 64-digit lower-case hex string, as IdentityHash gives.
bool IsWellFormedIdentityHash(absl::string_view hash);

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_SUPPRESSIONS_H_

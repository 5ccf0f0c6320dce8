// What a caller's token allows: one scope per kind of call, so a token given
// to an adapter (ingest) cannot read or erase customers, and one given to a
// dashboard (read) cannot change anything.
//
//   absl::StatusOr<ScopeSet> scopes = ParseScopes("ingest,read");
//   if (scopes->Has(Scope::kIngest)) ...
#ifndef OMNIHUB_COMMON_AUTH_SCOPES_H_
#define OMNIHUB_COMMON_AUTH_SCOPES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::auth {

enum class Scope : uint8_t {
  kIngest,          // Ingest, IngestStream
  kIngestVerified,  // the hub takes an event's identities as verified
  kRead,            // timelines, views, customers, insights
  kLink,            // LinkIdentities
  kPrivacy,         // ForgetCustomer, ExportCustomer, the merge log
  kAdmin,           // model fits, anything that changes configuration
};
inline constexpr int kScopeCount = 6;

// The name in token files and messages: "ingest", "ingest-verified", ...
absl::string_view ScopeName(Scope scope);

class ScopeSet {
 public:
  void Add(Scope scope) { bits_ |= Bit(scope); }
  bool Has(Scope scope) const { return (bits_ & Bit(scope)) != 0; }
  bool empty() const { return bits_ == 0; }
  // "ingest,read", in the enum's order.
  std::string ToString() const;

 private:
  static uint32_t Bit(Scope scope) {
    return uint32_t{1} << static_cast<int>(scope);
  }
  uint32_t bits_ = 0;
};

// Comma-separated scope names; an unknown name is INVALID_ARGUMENT naming it.
absl::StatusOr<ScopeSet> ParseScopes(absl::string_view text);

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_SCOPES_H_

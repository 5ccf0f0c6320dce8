// The callers the hub knows: a token file maps the SHA-256 of each bearer
// token (never the token itself) to a principal name and its scopes. One line
// per token, fields separated by blanks; '#' starts a comment:
//
//   # sha256 of the token (hex)                                     principal
//   scopes 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//   phone-adapter ingest,ingest-verified
//
//   absl::StatusOr<TokenTable> table = TokenTable::Parse(text);
//   const Principal* caller = table->Find(token_from_the_call);
#ifndef OMNIHUB_COMMON_AUTH_TOKEN_TABLE_H_
#define OMNIHUB_COMMON_AUTH_TOKEN_TABLE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth/scopes.h"

namespace omnihub::auth {

struct Principal {
  std::string name;
  ScopeSet scopes;
};

class TokenTable {
 public:
  // A malformed line is INVALID_ARGUMENT naming its line number (and never
  // echoing the line, which may be a token pasted by mistake).
  static absl::StatusOr<TokenTable> Parse(absl::string_view text);
  static absl::StatusOr<TokenTable> ReadFile(const std::string& path);

  // The principal whose token this is, or null.
  const Principal* Find(absl::string_view token) const;
  size_t size() const { return by_hash_.size(); }

 private:
  absl::flat_hash_map<std::string, Principal> by_hash_;
};

// Lower-case hex SHA-256 of `text`, as `sha256sum` prints it.
std::string Sha256Hex(absl::string_view text);

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_TOKEN_TABLE_H_

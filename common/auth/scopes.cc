#include "common/auth/scopes.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace omnihub::auth {

absl::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kIngest:
      return "ingest";
    case Scope::kIngestVerified:
      return "ingest-verified";
    case Scope::kRead:
      return "read";
    case Scope::kLink:
      return "link";
    case Scope::kPrivacy:
      return "privacy";
    case Scope::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::string ScopeSet::ToString() const {
  std::string text;
  for (int i = 0; i < kScopeCount; ++i) {
    const Scope scope = static_cast<Scope>(i);
    if (!Has(scope)) continue;
    if (!text.empty()) text += ',';
    absl::StrAppend(&text, ScopeName(scope));
  }
  return text;
}

absl::StatusOr<ScopeSet> ParseScopes(absl::string_view text) {
  ScopeSet scopes;
  for (absl::string_view name : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    name = absl::StripAsciiWhitespace(name);
    bool known = false;
    for (int i = 0; i < kScopeCount && !known; ++i) {
      const Scope scope = static_cast<Scope>(i);
      if (name == ScopeName(scope)) {
        scopes.Add(scope);
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown scope \"", name,
                       "\" (known: ingest, ingest-verified, read, link, "
                       "privacy, admin)"));
    }
  }
  if (scopes.empty()) return absl::InvalidArgumentError("no scope given");
  return scopes;
}

}  // namespace omnihub::auth

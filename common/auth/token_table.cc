#include "common/auth/token_table.h"

#include <openssl/evp.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace omnihub::auth {
namespace {

bool IsSha256Hex(absl::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsPrincipalName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_' && c != '.' && c != '@' && c != ':') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text) {
  TokenTable table;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    const std::string where = absl::StrCat("token file line ", line_number);
    if (fields.size() != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(where,
                       ": want three fields (sha256 of the token, principal, "
                       "scopes), got ",
                       fields.size()));
    }
    if (!IsSha256Hex(fields[0])) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": the first field must be the token's SHA-256 in hex (64 "
          "characters), never the token itself"));
    }
    if (!IsPrincipalName(fields[1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": principal must be 1 to 128 of A-Z a-z 0-9 - _ . @ :"));
    }
    absl::StatusOr<ScopeSet> scopes = ParseScopes(fields[2]);
    if (!scopes.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", scopes.status().message()));
    }
    const bool added =
        table.by_hash_
            .try_emplace(absl::AsciiStrToLower(fields[0]),
                         Principal{std::string(fields[1]), *scopes})
            .second;
    if (!added) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": the same token hash is listed twice"));
    }
  }
  return table;
}

absl::StatusOr<TokenTable> TokenTable::ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read token file ", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<TokenTable> table = Parse(text.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", table.status().message()));
  }
  return table;
}

const Principal* TokenTable::Find(absl::string_view token) const {
  if (token.empty()) return nullptr;
  auto found = by_hash_.find(Sha256Hex(token));
  return found == by_hash_.end() ? nullptr : &found->second;
}

}  // namespace omnihub::auth

#include "common/http_intake/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace omnihub::http_intake {
namespace {

constexpr size_t kMaxNameBytes = 64;

bool IsKeyName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool IsLowerOrUpperHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

Sha256 Sha256Of(absl::string_view text) {
  Sha256 digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(),
             nullptr);
  return digest;
}

std::string Sha256Hex(absl::string_view text) {
  const Sha256 digest = Sha256Of(text);
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), digest.size()));
}

absl::StatusOr<ApiKeySet> ApiKeySet::Parse(absl::string_view text,
                                           absl::string_view origin) {
  ApiKeySet set;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto problem = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", line_number, ": ", what));
    };
    if (fields.size() != 2) {
      return problem(
          "expected a name and the key's SHA-256 in hex (printf %s \"$KEY\" "
          "| sha256sum), separated by a space");
    }
    if (!IsKeyName(fields[0])) {
      return problem(absl::StrCat("\"", fields[0],
                                  "\" is not a key name (letters, digits, "
                                  "'.', '_' or '-', at most ",
                                  kMaxNameBytes, ")"));
    }
    if (fields[1].size() != 64 || !IsLowerOrUpperHex(fields[1])) {
      return problem(absl::StrCat("the hash of key \"", fields[0],
                                  "\" is not 64 hex digits (a SHA-256; "
                                  "the key itself is never written here)"));
    }
    Key key{std::string(fields[0]), {}};
    const std::string bytes = absl::HexStringToBytes(fields[1]);
    std::copy(bytes.begin(), bytes.end(), key.hash.begin());
    for (const Key& earlier : set.keys_) {
      if (earlier.hash == key.hash) {
        return problem(absl::StrCat("key \"", key.name,
                                    "\" has the same hash as key \"",
                                    earlier.name, "\""));
      }
    }
    set.keys_.push_back(std::move(key));
  }
  if (set.keys_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": holds no key; every request would be refused"));
  }
  return set;
}

absl::StatusOr<ApiKeySet> ApiKeySet::Load(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot be read"));
  }
  std::stringstream text;
  text << file.rdbuf();
  return Parse(text.str(), path);
}

std::optional<std::string> ApiKeySet::NameOf(
    absl::string_view presented) const {
  const Sha256 hash = Sha256Of(presented);
  const Key* found = nullptr;
  for (const Key& key : keys_) {
    // No early exit: the time taken does not tell which key matched.
    const bool same =
        CRYPTO_memcmp(hash.data(), key.hash.data(), hash.size()) == 0;
    if (same && found == nullptr) found = &key;
  }
  if (found == nullptr) return std::nullopt;
  return found->name;
}

}  // namespace omnihub::http_intake

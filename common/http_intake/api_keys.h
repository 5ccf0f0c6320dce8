// The API keys an adapter accepts, as a file of their SHA-256 hashes: the
// keys themselves are never stored, several may be valid at once (rotation),
// and each has a name, which says who sent an event (its `source`).
//
//   # name          sha256 of the key (printf %s "$KEY" | sha256sum)
//   store-pos 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//   store-pos       <the next key's hash, while senders move to it>
//
//   absl::StatusOr<ApiKeySet> keys = ApiKeySet::Load("/etc/omnihub/keys");
//   std::optional<std::string> name = keys->NameOf(presented_key);
#ifndef OMNIHUB_COMMON_HTTP_INTAKE_API_KEYS_H_
#define OMNIHUB_COMMON_HTTP_INTAKE_API_KEYS_H_

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::http_intake {

using Sha256 = std::array<unsigned char, 32>;

Sha256 Sha256Of(absl::string_view text);
// Lower-case hex, as sha256sum prints it.
std::string Sha256Hex(absl::string_view text);

class ApiKeySet {
 public:
  // One key a line: a name ([A-Za-z0-9._-], at most 64) and the key's
  // SHA-256 in hex; blank lines and lines starting with '#' are skipped.
  // INVALID_ARGUMENT naming `origin` and the line for anything else, and
  // for a file with no key at all.
  static absl::StatusOr<ApiKeySet> Parse(absl::string_view text,
                                         absl::string_view origin);
  static absl::StatusOr<ApiKeySet> Load(const std::string& path);

  // The name of the key `presented` is, if it is one of the set. Every
  // stored hash is compared, each in constant time, so how long it takes
  // says nothing about which key came close.
  std::optional<std::string> NameOf(absl::string_view presented) const;

  size_t size() const { return keys_.size(); }

 private:
  struct Key {
    std::string name;
    Sha256 hash;
  };
  std::vector<Key> keys_;
};

}  // namespace omnihub::http_intake

#endif  // OMNIHUB_COMMON_HTTP_INTAKE_API_KEYS_H_

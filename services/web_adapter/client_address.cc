#include "services/web_adapter/client_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace omnihub::web {
namespace {

// inet_pton of either family; the family, or 0 when it is no address.
int ParseAddress(absl::string_view text, unsigned char bytes[16]) {
  const std::string address(absl::StripAsciiWhitespace(text));
  if (inet_pton(AF_INET, address.c_str(), bytes) == 1) return AF_INET;
  if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) return AF_INET6;
  return 0;
}

bool PrefixMatches(const unsigned char* a, const unsigned char* b, int bits) {
  const int whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

absl::StatusOr<AddressSet> AddressSet::Parse(absl::string_view list) {
  AddressSet set;
  for (absl::string_view entry :
       absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(entry, absl::MaxSplits('/', 1));
    Network network{};
    network.family = ParseAddress(parts.first, network.bytes);
    const int max_bits = network.family == AF_INET ? 32 : 128;
    network.prefix_bits = max_bits;
    if (network.family == 0 ||
        (!parts.second.empty() &&
         (!absl::SimpleAtoi(parts.second, &network.prefix_bits) ||
          network.prefix_bits < 0 || network.prefix_bits > max_bits))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", entry, "\" is not an IP address or network like 10.0.0.0/8"));
    }
    set.networks_.push_back(network);
  }
  return set;
}

bool AddressSet::Contains(absl::string_view address) const {
  unsigned char bytes[16];
  const int family = ParseAddress(address, bytes);
  for (const Network& network : networks_) {
    if (network.family == family &&
        PrefixMatches(bytes, network.bytes, network.prefix_bits)) {
      return true;
    }
  }
  return false;
}

std::string ClientAddress(absl::string_view peer,
                          absl::string_view forwarded_for,
                          const AddressSet& trusted_proxies) {
  std::string client(peer);
  if (!trusted_proxies.Contains(peer)) return client;
  std::vector<absl::string_view> hops = absl::StrSplit(forwarded_for, ',');
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    const absl::string_view address = absl::StripAsciiWhitespace(*hop);
    unsigned char bytes[16];
    // What a trusted proxy passed on as garbage ends the walk: keep the last
    // address we could believe.
    if (ParseAddress(address, bytes) == 0) break;
    client = std::string(address);
    if (!trusted_proxies.Contains(address)) break;
  }
  return client;
}

absl::StatusOr<IpPrivacy> ParseIpPrivacy(absl::string_view name) {
  if (name == "keep") return IpPrivacy::kKeep;
  if (name == "truncate") return IpPrivacy::kTruncate;
  if (name == "drop") return IpPrivacy::kDrop;
  return absl::InvalidArgumentError(absl::StrCat(
      "ip privacy must be keep, truncate or drop, not \"", name, "\""));
}

std::string ApplyIpPrivacy(absl::string_view address, IpPrivacy privacy) {
  unsigned char bytes[16] = {};
  const int family = ParseAddress(address, bytes);
  if (family == 0 || privacy == IpPrivacy::kDrop) return "";
  if (privacy == IpPrivacy::kTruncate) {
    const int keep = family == AF_INET ? 3 : 6;
    std::memset(bytes + keep, 0, (family == AF_INET ? 4 : 16) - keep);
  }
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(family, bytes, text, sizeof(text)) == nullptr) return "";
  return text;
}

}  // namespace omnihub::web

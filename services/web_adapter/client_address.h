// Which address a web request came from, and how much of it is kept.
//
// Behind a proxy or load balancer the socket's peer is the proxy; the client
// is in X-Forwarded-For, which anyone can write, so it is believed only as far
// as the hops appended by proxies we trust.
#ifndef OMNIHUB_SERVICES_WEB_ADAPTER_CLIENT_ADDRESS_H_
#define OMNIHUB_SERVICES_WEB_ADAPTER_CLIENT_ADDRESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::web {

// A set of networks ("10.0.0.0/8", "127.0.0.1", "fd00::/8").
class AddressSet {
 public:
  // A comma-separated list; INVALID_ARGUMENT naming the bad entry.
  static absl::StatusOr<AddressSet> Parse(absl::string_view list);

  bool Contains(absl::string_view address) const;
  bool empty() const { return networks_.empty(); }

 private:
  struct Network {
    int family;  // AF_INET or AF_INET6
    unsigned char bytes[16];
    int prefix_bits;
  };
  std::vector<Network> networks_;
};

// The client's address: the peer itself unless it is a trusted proxy, else
// the nearest address in X-Forwarded-For (walking from the right) that is not
// a trusted proxy.
std::string ClientAddress(absl::string_view peer,
                          absl::string_view forwarded_for,
                          const AddressSet& trusted_proxies);

enum class IpPrivacy {
  kKeep,      // the whole address
  kTruncate,  // IPv4 /24, IPv6 /48: the network, not the household
  kDrop,      // none at all
};

absl::StatusOr<IpPrivacy> ParseIpPrivacy(absl::string_view name);

// The address as the privacy setting allows; "" for what is no address.
std::string ApplyIpPrivacy(absl::string_view address, IpPrivacy privacy);

}  // namespace omnihub::web

#endif  // OMNIHUB_SERVICES_WEB_ADAPTER_CLIENT_ADDRESS_H_

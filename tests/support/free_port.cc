#include "tests/support/free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace omnihub::testing {
namespace {

// Whether 127.0.0.1:`port` could be bound now (0: any port); the port bound.
absl::StatusOr<int> BindAndRelease(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("bind 127.0.0.1:", port, ": ", error));
  }
  close(fd);
  return ntohs(address.sin_port);
}

// The lowest port of the kernel's ephemeral range (32768 when unreadable,
// the Linux default).
int FirstEphemeralPort() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  int high = 0;
  if (range >> low >> high && low > 0) return low;
  return 32768;
}

}  // namespace

absl::StatusOr<int> PickFreeLoopbackPort() {
  constexpr int kLowestPort = 10000;
  const int first_ephemeral = FirstEphemeralPort();
  if (first_ephemeral - kLowestPort >= 1000) {
    absl::BitGen random;
    for (int attempt = 0; attempt < 100; ++attempt) {
      const int candidate = absl::Uniform(random, kLowestPort, first_ephemeral);
      if (absl::StatusOr<int> port = BindAndRelease(candidate); port.ok()) {
        return port;
      }
    }
  }
  // No room below the ephemeral range, or nothing free there: let the
  // kernel choose.
  return BindAndRelease(0);
}

}  // namespace omnihub::testing

// A free TCP port on 127.0.0.1 for a test's server.
#ifndef OMNIHUB_TESTS_SUPPORT_FREE_PORT_H_
#define OMNIHUB_TESTS_SUPPORT_FREE_PORT_H_

#include "absl/status/statusor.h"

namespace omnihub::testing {

// Binds port 0, reads the port the kernel chose, and closes the socket. The
// port may in principle be taken again before the caller binds it; tests
// accept that small race for servers that cannot bind port 0 themselves.
absl::StatusOr<int> PickFreeLoopbackPort();

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_SUPPORT_FREE_PORT_H_

// A free TCP port on 127.0.0.1 for a test's server.
#ifndef OMNIHUB_TESTS_SUPPORT_FREE_PORT_H_
#define OMNIHUB_TESTS_SUPPORT_FREE_PORT_H_

#include "absl/status/statusor.h"

namespace omnihub::testing {

// A port that 127.0.0.1 can bind now, chosen at random below the kernel's
// ephemeral range (ip_local_port_range). Outgoing connections take their
// local port from that range, so a server that is stopped and restarted on
// the port it was given cannot find it taken by some connection (another
// test's, or a client of this very server connecting to itself while the
// server is down). Another test may still pick the same port before the
// caller binds it; tests accept that small race for servers that cannot
// bind port 0 themselves.
absl::StatusOr<int> PickFreeLoopbackPort();

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_SUPPORT_FREE_PORT_H_

// Starts and stops a real process from a test: a redis-server, an omnihub
// service. The destructor stops it (SIGTERM, then SIGKILL).
//
//   auto hub = ChildProcess::Start("/path/omnihub-timeline", {"--listen=..."},
//                                  {{"OMNIHUB_REDIS_ADDRESS", addr}},
//                                  "hub.log");
//   (*hub)->Signal(SIGTERM);
//   absl::StatusOr<int> exit_code = (*hub)->Wait(absl::Seconds(10));
#ifndef OMNIHUB_TESTS_SUPPORT_CHILD_PROCESS_H_
#define OMNIHUB_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace omnihub::testing {

class ChildProcess {
 public:
  // `log_file`: where stdout and stderr go (appended); empty keeps the test's.
  // The child gets the test's environment plus `extra_env`, and none of its
  // file descriptors beyond 0-2. Returns once exec has succeeded; an exec
  // failure (bad binary, unwritable log) is an error here, not exit code 127.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      std::string path, std::vector<std::string> args,
      std::vector<std::pair<std::string, std::string>> extra_env = {},
      std::string log_file = "");

  ~ChildProcess();

  pid_t pid() const { return pid_; }
  absl::Status Signal(int signal);
  // The exit code; 128 + N when killed by signal N. On timeout the process is
  // killed with SIGKILL and DEADLINE_EXCEEDED returned.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  bool running() const { return pid_ > 0; }
  // Whether the process has exited (and is then reaped); never waits.
  bool HasExited();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_SUPPORT_CHILD_PROCESS_H_

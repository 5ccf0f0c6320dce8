#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace omnihub::testing {

namespace {

// The parent's environment with `extra` added or replacing same-named entries,
// built before fork because setenv() allocates, which a forked child of a
// threaded process must not do.
std::vector<std::string> MergedEnvironment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> merged;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view text(*entry);
    const bool replaced =
        std::any_of(extra.begin(), extra.end(), [&](const auto& pair) {
          return absl::StartsWith(text, absl::StrCat(pair.first, "="));
        });
    if (!replaced) merged.emplace_back(text);
  }
  for (const auto& [name, value] : extra) {
    merged.push_back(absl::StrCat(name, "=", value));
  }
  return merged;
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

// In the child, between fork and exec: only async-signal-safe calls. Reports
// a failure as an errno written to `error_fd`, which exec closes on success.
[[noreturn]] void ExecChild(const char* log_file, int error_fd, char** argv,
                            char** envp) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  setpgid(0, 0);
  // A test that crashes must not leave its servers running: the child goes
  // with the thread that started it (tests start children from their main
  // thread).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (log_file != nullptr) {
    const int fd = open(log_file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
      const int error = errno;
      (void)!write(error_fd, &error, sizeof(error));
      _exit(127);
    }
    close(fd);
  }
  // The test's sockets (e.g. a listening gRPC server) must not live on in
  // the child and keep their ports busy.
  if (error_fd > 3) close_range(3, error_fd - 1, 0);
  close_range(error_fd + 1, ~0U, 0);
  execve(argv[0], argv, envp);
  const int error = errno;
  (void)!write(error_fd, &error, sizeof(error));
  _exit(127);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    std::string path, std::vector<std::string> args,
    std::vector<std::pair<std::string, std::string>> extra_env,
    std::string log_file) {
  if (access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(path, " is not an executable"));
  }
  std::vector<std::string> argv_storage;
  argv_storage.push_back(path);
  for (auto& arg : args) argv_storage.push_back(std::move(arg));
  std::vector<char*> argv = NullTerminated(argv_storage);
  std::vector<std::string> env_storage = MergedEnvironment(extra_env);
  std::vector<char*> envp = NullTerminated(env_storage);

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(error_pipe[0]);
    ExecChild(log_file.empty() ? nullptr : log_file.c_str(), error_pipe[1],
              argv.data(), envp.data());
  }
  const int fork_errno = errno;
  close(error_pipe[1]);
  if (pid < 0) {
    close(error_pipe[0]);
    return absl::InternalError(
        absl::StrCat("fork: ", std::strerror(fork_errno)));
  }
  // Blocks until exec succeeds (EOF) or the child reports why it failed.
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(error_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  close(error_pipe[0]);
  auto process = std::unique_ptr<ChildProcess>(new ChildProcess(pid));
  if (got == sizeof(exec_errno)) {
    process->Wait(absl::Seconds(5)).IgnoreError();
    const std::string where =
        log_file.empty() ? "" : absl::StrCat(" (logging to ", log_file, ")");
    return absl::InternalError(absl::StrCat("cannot start ", path, where, ": ",
                                            std::strerror(exec_errno)));
  }
  return process;
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  Signal(SIGTERM).IgnoreError();
  if (!Wait(absl::Seconds(10)).ok()) {
    // Wait has already killed it.
  }
}

absl::Status ChildProcess::Signal(int signal) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  if (kill(pid_, signal) != 0) {
    return absl::InternalError(absl::StrCat("kill: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

bool ChildProcess::HasExited() {
  if (pid_ <= 0) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == 0) return false;
  pid_ = -1;
  return true;
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (done < 0) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("waitpid: ", std::strerror(errno)));
    }
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return absl::DeadlineExceededError(
          "the process did not exit in time and was killed");
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace omnihub::testing

#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/file_text.h"

namespace omnihub::testing {
namespace {

TEST(ChildProcessTest, ReportsExitCode) {
  auto process = ChildProcess::Start("/bin/sh", {"-c", "exit 3"});
  ASSERT_TRUE(process.ok()) << process.status();
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 3);
}

TEST(ChildProcessTest, ReportsDeathBySignal) {
  auto process = ChildProcess::Start("/bin/sleep", {"30"});
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_TRUE((*process)->Signal(SIGKILL).ok());
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 128 + SIGKILL);
}

TEST(ChildProcessTest, PassesEnvironment) {
  auto process =
      ChildProcess::Start("/bin/sh", {"-c", "test \"$OMNIHUB_PROBE\" = yes"},
                          {{"OMNIHUB_PROBE", "yes"}});
  ASSERT_TRUE(process.ok());
  EXPECT_EQ(*(*process)->Wait(absl::Seconds(10)), 0);
}

TEST(ChildProcessTest, MissingBinaryIsNotFound) {
  EXPECT_EQ(ChildProcess::Start("/no/such/binary", {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ChildProcessTest, WaitTimeoutKillsAndSaysSo) {
  auto process = ChildProcess::Start("/bin/sleep", {"30"});
  ASSERT_TRUE(process.ok()) << process.status();
  const absl::Time before = absl::Now();
  absl::StatusOr<int> code = (*process)->Wait(absl::Milliseconds(100));
  EXPECT_EQ(code.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - before, absl::Seconds(10));
  EXPECT_FALSE((*process)->running());
}

TEST(ChildProcessTest, DestructorStopsARunningProcess) {
  pid_t pid;
  {
    auto process = ChildProcess::Start("/bin/sleep", {"30"});
    ASSERT_TRUE(process.ok()) << process.status();
    pid = (*process)->pid();
  }
  // Reaped by the destructor, so the pid no longer names our child.
  EXPECT_NE(kill(pid, 0), 0);
}

class ChildProcessFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/omnihub-child-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string directory_;
};

TEST_F(ChildProcessFilesTest, OutputGoesToTheLogFile) {
  const std::string log = directory_ + "/child.log";
  auto process = ChildProcess::Start(
      "/bin/sh", {"-c", "echo out; echo err >&2; echo \"$HOME\""},
      {{"HOME", "/replaced"}}, log);
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_EQ(*(*process)->Wait(absl::Seconds(10)), 0);
  EXPECT_EQ(FileText(log), "out\nerr\n/replaced\n");
}

TEST_F(ChildProcessFilesTest, TestsFileDescriptorsAreNotInherited) {
  const int fd = open("/dev/null", O_RDONLY);  // deliberately not O_CLOEXEC
  ASSERT_GE(fd, 3);
  auto process = ChildProcess::Start(
      "/bin/sh", {"-c", absl::StrCat("test ! -e /proc/self/fd/", fd)});
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_EQ(*(*process)->Wait(absl::Seconds(10)), 0);
  close(fd);
}

TEST_F(ChildProcessFilesTest, ExecFailureIsAnErrorNotAnExitCode) {
  // Executable, but neither an ELF binary nor a script: execve fails.
  const std::string path = directory_ + "/not-a-program";
  std::ofstream(path) << std::string("\x7f\x01\x02garbage", 10);
  ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  auto process = ChildProcess::Start(path, {});
  EXPECT_EQ(process.status().code(), absl::StatusCode::kInternal)
      << process.status();
  EXPECT_NE(process.status().message().find("not-a-program"),
            std::string::npos);
}

}  // namespace
}  // namespace omnihub::testing

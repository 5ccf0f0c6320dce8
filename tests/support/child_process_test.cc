#include "tests/support/child_process.h"

#include <signal.h>

#include "gtest/gtest.h"

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

}  // namespace
}  // namespace omnihub::testing

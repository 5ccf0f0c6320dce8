#include "common/config/env_flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, env_flags_test_port, 7, "A flag for this test.");

namespace omnihub::config {
namespace {

TEST(EnvFlagsTest, VariableNameIsPrefixedUpperCase) {
  EXPECT_EQ(EnvironmentVariableFor("redis_address"), "OMNIHUB_REDIS_ADDRESS");
}

TEST(EnvFlagsTest, EnvironmentSetsFlag) {
  ASSERT_EQ(setenv("OMNIHUB_ENV_FLAGS_TEST_PORT", "6380", 1), 0);
  ASSERT_TRUE(ApplyEnvironment().ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_env_flags_test_port), 6380);
  unsetenv("OMNIHUB_ENV_FLAGS_TEST_PORT");
}

TEST(EnvFlagsTest, BadValueNamesTheVariable) {
  ASSERT_EQ(setenv("OMNIHUB_ENV_FLAGS_TEST_PORT", "not-a-number", 1), 0);
  absl::Status status = ApplyEnvironment();
  unsetenv("OMNIHUB_ENV_FLAGS_TEST_PORT");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("OMNIHUB_ENV_FLAGS_TEST_PORT"),
            std::string::npos);
}

}  // namespace
}  // namespace omnihub::config

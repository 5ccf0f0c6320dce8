// Serves a registry with MetricsServer on a free port, scrapes it over HTTP
// and has Prometheus' own promtool lint what it got.
#include "common/metrics/metrics_server.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/metrics/build_info.h"
#include "common/metrics/grpc_server_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace omnihub::metrics {
namespace {

using ::testing::HasSubstr;

// The absolute path of `program` on $PATH; empty if it is not there.
std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    std::string candidate = absl::StrCat(dir, "/", program);
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics` with `text` on its stdin.
CommandResult PromtoolCheckMetrics(const std::string& promtool,
                                   const std::string& text) {
  const std::string input = ::testing::TempDir() + "/omnihub_metrics.txt";
  std::ofstream(input) << text;
  CommandResult result;
  FILE* pipe = popen(
      absl::StrCat(promtool, " check metrics < ", input, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    result.output.append(buffer, n);
  }
  const int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  std::remove(input.c_str());
  return result;
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuildInfo(*registry_, "timeline", "0.1.0", "abc1234");
    grpc_metrics_.Record("/omnihub.v1.TimelineService/Ingest",
                         grpc::StatusCode::OK, 0.002);
    grpc_metrics_.Record("/omnihub.v1.TimelineService/Ingest",
                         grpc::StatusCode::INVALID_ARGUMENT, 0.0003);
    grpc_metrics_.Record("/omnihub.v1.TimelineService/GetTimeline",
                         grpc::StatusCode::OK, 0.04);
  }

  std::shared_ptr<prometheus::Registry> registry_ =
      std::make_shared<prometheus::Registry>();
  GrpcServerMetrics grpc_metrics_{*registry_};
};

TEST_F(MetricsServerTest, ServesTheRegistryInAFormPromtoolAccepts) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", registry_);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  httplib::Result response = client.Get("/metrics");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  ASSERT_EQ(response->status, 200);
  const std::string& text = response->body;

  EXPECT_THAT(text, HasSubstr("# TYPE omnihub_build_info gauge"));
  EXPECT_THAT(text, HasSubstr("omnihub_build_info{commit=\"abc1234\","
                              "service=\"timeline\",version=\"0.1.0\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("# TYPE omnihub_grpc_server_handled_total counter"));
  EXPECT_THAT(text,
              HasSubstr("omnihub_grpc_server_handled_total{"
                        "grpc_code=\"INVALID_ARGUMENT\","
                        "grpc_method=\"Ingest\","
                        "grpc_service=\"omnihub.v1.TimelineService\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE omnihub_grpc_server_handling_seconds "
                              "histogram"));
  EXPECT_THAT(text,
              HasSubstr("omnihub_grpc_server_handling_seconds_count{"
                        "grpc_code=\"OK\",grpc_method=\"GetTimeline\","
                        "grpc_service=\"omnihub.v1.TimelineService\"} 1"));
  EXPECT_THAT(text, HasSubstr("le=\"0.0001\""));
  EXPECT_THAT(text, HasSubstr("le=\"10\""));
  EXPECT_THAT(text, HasSubstr("# TYPE omnihub_grpc_server_in_flight_rpcs "
                              "gauge"));

  const std::string promtool = FindOnPath("promtool");
  ASSERT_FALSE(promtool.empty())
      << "promtool is not on PATH; it comes with Debian's prometheus package "
         "(apt-get install -y prometheus). This test needs it.";
  const CommandResult check = PromtoolCheckMetrics(promtool, text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n--- scraped:\n" << text;
}

TEST_F(MetricsServerTest, BusyAddressIsUnavailableNamingTheAddress) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> first =
      MetricsServer::Start("127.0.0.1:0", registry_);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*first)->port());

  absl::StatusOr<std::unique_ptr<MetricsServer>> second =
      MetricsServer::Start(address, registry_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(address));
}

TEST_F(MetricsServerTest, NullRegistryIsInvalidArgument) {
  EXPECT_EQ(MetricsServer::Start("127.0.0.1:0", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace omnihub::metrics

// Keeps the benchmark from rotting: the load generator runs for a moment in
// every mode and workload against a real redis-server and the real hub, and
// must come back with calls made, no errors, and its JSON line.
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/segments.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {
namespace {

class LoadgenSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = ::testing::TempDir() + "/loadgen-smoke";
    std::filesystem::create_directories(directory_);
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    hub_port_ = *PickFreeLoopbackPort();
    auto hub = ChildProcess::Start(
        OMNIHUB_TIMELINE_BINARY,
        {absl::StrCat("--listen=127.0.0.1:", hub_port_),
         absl::StrCat("--metrics_listen=127.0.0.1:", *PickFreeLoopbackPort()),
         "--redis_address=" + redis_->address()},
        {}, directory_ + "/hub.log");
    ASSERT_TRUE(hub.ok()) << hub.status();
    hub_ = *std::move(hub);
  }

  // Runs the load generator; its JSON line, or null when it failed.
  nlohmann::json Loadgen(std::vector<std::string> flags) {
    flags.push_back(absl::StrCat("--target=127.0.0.1:", hub_port_));
    flags.push_back("--redis_address=" + redis_->address());
    flags.push_back("--duration=500ms");
    flags.push_back("--customers=100");
    const std::string output = directory_ + "/loadgen.out";
    std::remove(output.c_str());
    auto loadgen =
        ChildProcess::Start(OMNIHUB_LOADGEN_BINARY, flags, {}, output);
    EXPECT_TRUE(loadgen.ok()) << loadgen.status();
    if (!loadgen.ok()) return nullptr;
    absl::StatusOr<int> exit_code = (*loadgen)->Wait(absl::Seconds(60));
    std::ifstream file(output);
    std::string line, json_line, all;
    while (std::getline(file, line)) {
      all += line + "\n";
      if (!line.empty() && line[0] == '{') json_line = line;
    }
    EXPECT_TRUE(exit_code.ok() && *exit_code == 0) << all;
    return nlohmann::json::parse(json_line, nullptr, false);
  }

  std::string directory_;
  std::unique_ptr<RedisServer> redis_;
  int hub_port_ = 0;
  std::unique_ptr<ChildProcess> hub_;
};

TEST_F(LoadgenSmokeTest, EveryModeAndWorkloadRuns) {
  // A segment for segment_members to list (customers without a purchase).
  auto segments = v1::SegmentService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", hub_port_),
                          grpc::InsecureChannelCredentials()));
  v1::CreateSegmentRequest create;
  create.mutable_segment()->set_name("smoke");
  create.mutable_segment()
      ->mutable_condition()
      ->mutable_lifecycle_stage()
      ->add_stages(v1::LIFECYCLE_STAGE_PROSPECT);
  v1::Segment created;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  context.set_wait_for_ready(true);
  grpc::Status status = segments->CreateSegment(&context, create, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();

  const std::vector<std::vector<std::string>> runs = {
      {"--mode=redis", "--batch=10"},
      {"--mode=empty", "--batch=1"},
      {"--batch=10"},
      {"--batch=1"},
      {"--workload=timeline", "--rate=200"},
      {"--workload=customer", "--rate=200"},
      {"--workload=insights", "--rate=200"},
      {"--workload=cross_sell", "--rate=200"},
      {"--workload=segment_members", "--segment=smoke", "--page_size=10",
       "--rate=200"},
      {"--workload=top_customers", "--currency=GBP", "--page_size=10",
       "--rate=200"},
      {"--batch=10", "--purchase_percent=50", "--line_items=3",
       "--catalogue=50"},
  };
  for (const auto& run : runs) {
    const nlohmann::json result = Loadgen(run);
    ASSERT_TRUE(result.is_object()) << run[0];
    EXPECT_GT(result.value("calls", 0), 0) << result;
    EXPECT_EQ(result.value("errors", -1), 0) << result;
    EXPECT_GT(result.value("p50_ms", 0.0), 0.0) << result;
  }
  // The ingest runs stored what they reported.
  auto events = redis_->Command({"EVAL",
                                 "local n = 0 for _, k in ipairs(redis.call("
                                 "'KEYS', '*:ev')) do n = n + redis.call("
                                 "'HLEN', k) end return n",
                                 "0"});
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_GT(events->integer, 0);
}

TEST_F(LoadgenSmokeTest, ReportPrintsRatiosAgainstTheCeiling) {
  const std::string results = directory_ + "/results.jsonl";
  {
    std::ofstream file(results);
    file
        << R"({"name":"ceiling","events_per_second":1000,"p99_ms":2})"
        << "\n"
        << R"({"name":"run","ceiling":"ceiling","events_per_second":600,"p99_ms":3})"
        << "\n"
        << R"({"name":"paced","ceiling":"ceiling","rate":500,"events_per_second":500,"p99_ms":5})"
        << "\n";
  }
  const std::string output = directory_ + "/report.out";
  std::remove(output.c_str());
  auto report = ChildProcess::Start(OMNIHUB_LOADGEN_BINARY,
                                    {"--report=" + results}, {}, output);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(*(*report)->Wait(absl::Seconds(10)), 0);
  std::ifstream file(output);
  const std::string table((std::istreambuf_iterator<char>(file)),
                          std::istreambuf_iterator<char>());
  EXPECT_NE(table.find("0.60"), std::string::npos) << table;
  EXPECT_NE(table.find("p99 x2.5"), std::string::npos) << table;
}

}  // namespace
}  // namespace omnihub::testing

// The omnihub-timeline executable as a user runs it: a real process on real
// ports, configured by flags and environment, with health, reflection,
// Prometheus metrics and graceful shutdown.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/file_text.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

class TimelineBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto grpc_port = PickFreeLoopbackPort();
    auto metrics_port = PickFreeLoopbackPort();
    ASSERT_TRUE(grpc_port.ok() && metrics_port.ok());
    grpc_address_ = absl::StrCat("127.0.0.1:", *grpc_port);
    metrics_port_ = *metrics_port;
    log_path_ = ::testing::TempDir() + "/timeline-" +
                std::to_string(*grpc_port) + ".log";
    // The listen address comes from the environment, the rest from flags:
    // both ways of configuring are exercised.
    auto process = ChildProcess::Start(
        OMNIHUB_TIMELINE_BINARY,
        {absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port_),
         "--redis_address=" + redis_->address(), "--shutdown_grace=5s"},
        {{"OMNIHUB_LISTEN", grpc_address_}}, log_path_);
    ASSERT_TRUE(process.ok()) << process.status();
    process_ = *std::move(process);
    channel_ =
        grpc::CreateChannel(grpc_address_, grpc::InsecureChannelCredentials());
    ASSERT_TRUE(WaitForHealth(HealthCheckResponse::SERVING)) << Log();
  }

  // The health of the server ("") or of one service by name, as a probe
  // asks it; UNKNOWN when the call fails (NOT_FOUND for a name the server
  // does not know).
  HealthCheckResponse::ServingStatus Health(const std::string& service = "") {
    auto stub = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    if (!stub->Check(&context, request, &response).ok()) {
      return HealthCheckResponse::UNKNOWN;
    }
    return response.status();
  }

  bool WaitForHealth(HealthCheckResponse::ServingStatus want,
                     const std::string& service = "") {
    for (int i = 0; i < 200; ++i) {
      if (Health(service) == want) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // The services the server lists through reflection.
  std::vector<std::string> ServiceNames() {
    auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
    grpc::ClientContext context;
    auto stream = stub->ServerReflectionInfo(&context);
    grpc::reflection::v1alpha::ServerReflectionRequest request;
    request.set_list_services("");
    std::vector<std::string> names;
    grpc::reflection::v1alpha::ServerReflectionResponse response;
    if (!stream->Write(request) || !stream->Read(&response)) return names;
    for (const auto& service : response.list_services_response().service()) {
      names.push_back(service.name());
    }
    stream->WritesDone();
    return names;
  }

  // Runs omnihub-cli to the end: its exit code and what it wrote (stdout
  // and stderr together).
  static std::pair<int, std::string> RunCli(
      std::vector<std::string> args,
      std::vector<std::pair<std::string, std::string>> env = {}) {
    static int runs = 0;
    const std::string path =
        absl::StrCat(::testing::TempDir(), "/cli-", ::getpid(), "-", ++runs);
    auto process = ChildProcess::Start(OMNIHUB_CLI_BINARY, std::move(args),
                                       std::move(env), path);
    if (!process.ok()) return {-1, std::string(process.status().message())};
    absl::StatusOr<int> exit_code = (*process)->Wait(absl::Seconds(30));
    return {exit_code.value_or(-1), FileText(path)};
  }

  std::string Log() { return FileText(log_path_); }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<ChildProcess> process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string grpc_address_;
  int metrics_port_ = 0;
  std::string log_path_;
};

TEST_F(TimelineBinaryTest, ReflectionListsTheServices) {
  std::vector<std::string> names = ServiceNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "omnihub.v1.TimelineService"),
            names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "grpc.health.v1.Health"),
            names.end());
}

TEST_F(TimelineBinaryTest, MetricsCountEventsAndPassPromtool) {
  auto stub = v1::TimelineService::NewStub(channel_);
  v1::IngestRequest request;
  v1::InteractionEvent* event = request.add_events();
  event->set_event_id("m-1");
  event->set_channel(v1::CHANNEL_WEB);
  event->set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
  event->mutable_occurred_at()->set_seconds(1700000000);
  event->add_identities()->set_kind(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID);
  event->mutable_identities(0)->set_value("anon-m");
  *request.add_events() = *event;
  request.mutable_events(1)->set_event_id("");  // rejected: no event_id
  v1::IngestResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->Ingest(&context, request, &response).ok());

  httplib::Client http("127.0.0.1", metrics_port_);
  auto result = http.Get("/metrics");
  ASSERT_TRUE(result) << "no answer from /metrics";
  ASSERT_EQ(result->status, 200);
  const std::string& text = result->body;
  EXPECT_NE(
      text.find("omnihub_events_total{channel=\"web\",result=\"accepted\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("omnihub_events_total{channel=\"web\",result=\"rejected\"} 1"),
      std::string::npos);
  EXPECT_NE(text.find("omnihub_grpc_server_handled_total"), std::string::npos);
  EXPECT_NE(text.find("omnihub_grpc_server_handling_seconds_bucket"),
            std::string::npos);
  EXPECT_NE(text.find("omnihub_redis_command_duration_seconds_bucket"),
            std::string::npos);
  EXPECT_NE(text.find("omnihub_redis_connections"), std::string::npos);
  EXPECT_NE(text.find("omnihub_build_info"), std::string::npos);

  const std::string path = ::testing::TempDir() + "/metrics.txt";
  std::ofstream(path) << text;
  const int exit_code = std::system(
      ("promtool check metrics < " + path + " > " + path + ".out 2>&1")
          .c_str());
  EXPECT_EQ(exit_code, 0) << "promtool check metrics:\n"
                          << FileText(path + ".out");
}

TEST_F(TimelineBinaryTest, HealthFollowsRedis) {
  ASSERT_TRUE(redis_->Kill().ok());
  EXPECT_TRUE(WaitForHealth(HealthCheckResponse::NOT_SERVING)) << Log();
  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_TRUE(WaitForHealth(HealthCheckResponse::SERVING)) << Log();
}

// Kubernetes gRPC probes and grpc_health_probe -service=... ask by name:
// every service the server lists answers as the server does.
TEST_F(TimelineBinaryTest, HealthByServiceNameFollowsRedis) {
  std::vector<std::string> services = ServiceNames();
  for (const char* ours :
       {"omnihub.v1.TimelineService", "omnihub.v1.CustomerService"}) {
    EXPECT_NE(std::find(services.begin(), services.end(), ours), services.end())
        << ours;
  }
  for (const std::string& service : services) {
    EXPECT_EQ(Health(service), HealthCheckResponse::SERVING) << service;
  }
  EXPECT_EQ(Health("omnihub.v1.NoSuchService"), HealthCheckResponse::UNKNOWN);
  ASSERT_TRUE(redis_->Kill().ok());
  for (const std::string& service : services) {
    EXPECT_TRUE(WaitForHealth(HealthCheckResponse::NOT_SERVING, service))
        << service << "\n"
        << Log();
  }
  ASSERT_TRUE(redis_->Restart().ok());
  for (const std::string& service : services) {
    EXPECT_TRUE(WaitForHealth(HealthCheckResponse::SERVING, service))
        << service << "\n"
        << Log();
  }
}

TEST_F(TimelineBinaryTest, TheCliFindsTheHubByHubAddress) {
  auto [code, out] =
      RunCli({"--hub_address=" + grpc_address_, "link",
              "--identities=email:ana@x.example", "--source=crm/test"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"customer_id\""), std::string::npos) << out;
  // From the environment, as every flag.
  std::tie(code, out) = RunCli({"resolve", "--identity=email:ana@x.example"},
                               {{"OMNIHUB_HUB_ADDRESS", grpc_address_}});
  EXPECT_EQ(code, 0) << out;
  // The old name still works, and says it is old.
  std::tie(code, out) = RunCli({"--target=" + grpc_address_, "resolve",
                                "--identity=email:ana@x.example"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("--target is deprecated"), std::string::npos) << out;
  // Both names, for different addresses: which one was meant is unclear.
  std::tie(code, out) =
      RunCli({"--hub_address=" + grpc_address_, "--target=127.0.0.1:1",
              "resolve", "--identity=email:ana@x.example"});
  EXPECT_EQ(code, 2) << out;
}

// The container image's HEALTHCHECK and the Kubernetes probes run
// `omnihub-cli health`: 0 while SERVING, 3 while the hub answers but cannot
// reach Redis (not dead: liveness must not restart it), 1 when no hub
// answers.
TEST_F(TimelineBinaryTest, TheCliHealthCommandFollowsRedis) {
  auto [code, out] = RunCli({"--hub_address=" + grpc_address_, "health"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("SERVING"), std::string::npos) << out;
  std::tie(code, out) = RunCli({"--hub_address=" + grpc_address_, "health",
                                "--service=omnihub.v1.TimelineService"});
  EXPECT_EQ(code, 0) << out;
  ASSERT_TRUE(redis_->Kill().ok());
  ASSERT_TRUE(WaitForHealth(HealthCheckResponse::NOT_SERVING)) << Log();
  std::tie(code, out) = RunCli({"--hub_address=" + grpc_address_, "health"});
  EXPECT_EQ(code, 3) << out;
  EXPECT_NE(out.find("NOT_SERVING"), std::string::npos) << out;
  std::tie(code, out) =
      RunCli({"--hub_address=127.0.0.1:1", "--timeout_seconds=1", "health"});
  EXPECT_EQ(code, 1) << out;
}

TEST_F(TimelineBinaryTest, TheCliSuppressesListsChecksAndLifts) {
  const std::string hub = "--hub_address=" + grpc_address_;
  auto [code, out] = RunCli(
      {hub, "link", "--identities=email:ana@x.example", "--source=crm/test"});
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) =
      RunCli({hub, "forget", "--identity=email:ana@x.example",
              "--requested_by=ticket-1", "--suppress", "--suppress_for=1h"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"identities_suppressed\": \"1\""), std::string::npos)
      << out;
  std::tie(code, out) =
      RunCli({hub, "check-suppression", "--identity=email:Ana@X.example"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"suppressed\": true"), std::string::npos) << out;
  std::tie(code, out) = RunCli({hub, "suppressions"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"identity_hash\""), std::string::npos) << out;
  EXPECT_NE(out.find("ticket-1"), std::string::npos) << out;
  EXPECT_EQ(out.find("ana@"), std::string::npos) << out;
  // A link cannot bring the person back.
  std::tie(code, out) = RunCli(
      {hub, "link", "--identities=email:ana@x.example", "--source=crm/test"});
  EXPECT_EQ(code, 1) << out;
  std::tie(code, out) =
      RunCli({hub, "lift-suppression", "--identity=email:ana@x.example",
              "--requested_by=ticket-2"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(Log().find("at the request of ticket-2"), std::string::npos)
      << Log();
  std::tie(code, out) =
      RunCli({hub, "check-suppression", "--identity=email:ana@x.example"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out.find("\"suppressed\": true"), std::string::npos) << out;
  // Neither or both of --identity and --identity_hash: bad usage.
  std::tie(code, out) =
      RunCli({hub, "lift-suppression", "--requested_by=ticket-2"});
  EXPECT_EQ(code, 2) << out;
}

TEST(TimelineFlagsTest, ASuppressionPeriodOutOfBoundsStopsTheHub) {
  // Refused before anything starts: no Redis needed.
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {"--suppression_period=0s"},
           {"--suppression_period=48h", "--max_suppression_period=24h"}}) {
    std::vector<std::string> args = flags;
    args.push_back("--redis_address=127.0.0.1:1");
    args.push_back("--listen=127.0.0.1:0");
    args.push_back("--metrics_listen=127.0.0.1:0");
    const std::string log = ::testing::TempDir() + "/timeline-bad-flags.log";
    auto process = ChildProcess::Start(OMNIHUB_TIMELINE_BINARY, args, {}, log);
    ASSERT_TRUE(process.ok()) << process.status();
    absl::StatusOr<int> exit_code = (*process)->Wait(absl::Seconds(20));
    ASSERT_TRUE(exit_code.ok()) << exit_code.status();
    EXPECT_EQ(*exit_code, 2) << FileText(log);
    EXPECT_NE(FileText(log).find("--suppression_period"), std::string::npos)
        << FileText(log);
  }
}

TEST_F(TimelineBinaryTest, SigtermShutsDownCleanly) {
  ASSERT_TRUE(process_->Signal(SIGTERM).ok());
  absl::StatusOr<int> exit_status = process_->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(*exit_status, 0) << Log();
  EXPECT_NE(Log().find("stopped cleanly"), std::string::npos) << Log();
}

// Starts the hub against `redis` with `flags` and `env`. Expecting it to
// stop by itself: its exit code (-2 if it did not within 10 s). Otherwise
// -1 once it serves (health SERVING: Redis took its password), when it is
// stopped with SIGTERM, or -2 if it never does.
int HubExitOrServing(const RedisServer& redis, std::vector<std::string> flags,
                     std::vector<std::pair<std::string, std::string>> env,
                     const std::string& log, bool expect_stop = false) {
  auto grpc_port = PickFreeLoopbackPort();
  auto metrics_port = PickFreeLoopbackPort();
  if (!grpc_port.ok() || !metrics_port.ok()) return -2;
  const std::string address = absl::StrCat("127.0.0.1:", *grpc_port);
  flags.insert(flags.end(),
               {"--listen=" + address,
                absl::StrCat("--metrics_listen=127.0.0.1:", *metrics_port),
                "--redis_address=" + redis.address(), "--shutdown_grace=1s"});
  auto hub = ChildProcess::Start(OMNIHUB_TIMELINE_BINARY, flags, env, log);
  if (!hub.ok()) return -2;
  if (expect_stop) return (*hub)->Wait(absl::Seconds(10)).value_or(-2);
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 200; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(200));
    HealthCheckResponse response;
    if (stub->Check(&context, {}, &response).ok() &&
        response.status() == HealthCheckResponse::SERVING) {
      (void)(*hub)->Signal(SIGTERM);
      (void)(*hub)->Wait(absl::Seconds(10));
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return -2;
}

// Redis with a password for its default user and an ACL user: the hub
// authenticates from a file or the environment, never a command-line value,
// and a wrong password stops it at start saying so.
TEST(TimelineRedisAuthTest, PasswordFromFileOrEnvironmentWrongOneStops) {
  auto redis =
      RedisServer::Start({"--requirepass", "default-pw", "--user", "omnihub",
                          "on", ">omnihub-pw", "~*", "&*", "+@all"});
  ASSERT_TRUE(redis.ok()) << redis.status();
  const std::string dir =
      absl::StrCat(::testing::TempDir(), "/redis-auth-", getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/good") << "omnihub-pw\n";
  std::ofstream(dir + "/bad") << "guessed-pw\n";

  const std::string wrong_log = dir + "/wrong.log";
  EXPECT_EQ(HubExitOrServing(**redis,
                             {"--redis_user=omnihub",
                              "--redis_password_file=" + dir + "/bad"},
                             {}, wrong_log, /*expect_stop=*/true),
            2);
  EXPECT_NE(FileText(wrong_log).find("WRONGPASS"), std::string::npos)
      << FileText(wrong_log);
  EXPECT_NE(FileText(wrong_log).find("--redis_password_file"),
            std::string::npos);
  EXPECT_EQ(FileText(wrong_log).find("guessed-pw"), std::string::npos);
  // No password where Redis wants one.
  const std::string none_log = dir + "/none.log";
  EXPECT_EQ(HubExitOrServing(**redis, {}, {}, none_log, /*expect_stop=*/true),
            2);
  EXPECT_NE(FileText(none_log).find("NOAUTH"), std::string::npos)
      << FileText(none_log);

  EXPECT_EQ(HubExitOrServing(**redis,
                             {"--redis_user=omnihub",
                              "--redis_password_file=" + dir + "/good"},
                             {}, dir + "/file.log"),
            -1)
      << FileText(dir + "/file.log");
  EXPECT_EQ(
      HubExitOrServing(**redis, {}, {{"OMNIHUB_REDIS_PASSWORD", "default-pw"}},
                       dir + "/env.log"),
      -1)
      << FileText(dir + "/env.log");
  const std::string flag_log = dir + "/flag.log";
  EXPECT_EQ(HubExitOrServing(**redis, {"--redis_password=default-pw"}, {},
                             flag_log, /*expect_stop=*/true),
            2);
  EXPECT_NE(FileText(flag_log).find("--redis_password_file"), std::string::npos)
      << FileText(flag_log);
}

TEST(TimelineHelpTest, HelpListsTheFlags) {
  const std::string path = ::testing::TempDir() + "/timeline-help.txt";
  std::system(
      (std::string(OMNIHUB_TIMELINE_BINARY) + " --help > " + path + " 2>&1")
          .c_str());
  const std::string text = FileText(path);
  for (const char* flag : {"--redis_address", "--listen", "--metrics_listen",
                           "--retention_max_events", "OMNIHUB_"}) {
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(text.find("--flagfile"), std::string::npos)
      << "absl's own flags should not clutter --help";
}

TEST(CliHelpTest, HelpShowsTheHubAddressFirst) {
  const std::string path = ::testing::TempDir() + "/cli-help.txt";
  std::system((std::string(OMNIHUB_CLI_BINARY) + " --help > " + path + " 2>&1")
                  .c_str());
  const std::string text = FileText(path);
  const size_t hub_address = text.find("--hub_address");
  ASSERT_NE(hub_address, std::string::npos) << text;
  for (const char* later : {"omnihub-cli ingest", "--customer_id", "--identity",
                            "--source", "--target"}) {
    const size_t at = text.find(later);
    EXPECT_NE(at, std::string::npos) << later << " missing from\n" << text;
    EXPECT_LT(hub_address, at) << later << " comes before --hub_address in\n"
                               << text;
  }
}

}  // namespace
}  // namespace omnihub::testing

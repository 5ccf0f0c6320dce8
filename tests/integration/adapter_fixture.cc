#include "tests/integration/adapter_fixture.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "tests/support/file_text.h"
#include "tests/support/free_port.h"

namespace omnihub::testing {

nlohmann::json PhoneCallRecord(const std::string& call_id,
                               const std::string& caller) {
  return {{"call_id", call_id},
          {"direction", "inbound"},
          {"caller", caller},
          {"callee", "200"},
          {"started_at", "2026-11-20T09:30:00Z"},
          {"disposition", "answered"},
          {"duration_seconds", 60}};
}

std::set<std::string> EventIdsOf(
    const std::vector<v1::InteractionEvent>& events) {
  std::set<std::string> ids;
  for (const v1::InteractionEvent& event : events) ids.insert(event.event_id());
  return ids;
}
namespace {

// A channel to the hub that, when the hub is down, tries again every 100 ms
// (gRPC's default backoff grows to two minutes, longer than a test waits for
// a restarted hub).
std::shared_ptr<grpc::Channel> HubChannel(int port) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(),
                                   arguments);
}

v1::CustomerSelector ByIdentity(v1::IdentityKind kind,
                                const std::string& value) {
  v1::CustomerSelector selector;
  selector.mutable_identity()->set_kind(kind);
  selector.mutable_identity()->set_value(value);
  return selector;
}

}  // namespace

AdapterEndToEndTest::AdapterEndToEndTest(std::string adapter_binary,
                                         std::vector<std::string> adapter_flags,
                                         std::vector<std::string> hub_flags)
    : hub_flags_(std::move(hub_flags)),
      adapter_flags_(std::move(adapter_flags)),
      adapter_binary_(std::move(adapter_binary)) {}

void AdapterEndToEndTest::SetUp() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  directory_ = absl::StrCat(::testing::TempDir(), "/e2e-",
                            test->test_suite_name(), "-", test->name());
  std::filesystem::remove_all(directory_);
  std::filesystem::create_directories(directory_);
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  redis_ = *std::move(redis);
  auto hub_port = PickFreeLoopbackPort();
  auto adapter_port = PickFreeLoopbackPort();
  auto admin_port = PickFreeLoopbackPort();
  ASSERT_TRUE(hub_port.ok() && adapter_port.ok() && admin_port.ok());
  hub_port_ = *hub_port;
  adapter_port_ = *adapter_port;
  admin_port_ = *admin_port;
  ASSERT_NO_FATAL_FAILURE(StartHub());
  ASSERT_NO_FATAL_FAILURE(StartAdapter());
  stub_ = v1::TimelineService::NewStub(HubChannel(hub_port_));
}

void AdapterEndToEndTest::StartHub() {
  auto metrics_port = PickFreeLoopbackPort();
  ASSERT_TRUE(metrics_port.ok());
  std::vector<std::string> flags = {
      absl::StrCat("--listen=127.0.0.1:", hub_port_),
      absl::StrCat("--metrics_listen=127.0.0.1:", *metrics_port),
      "--redis_address=" + redis_->address(), "--default_region=GB"};
  flags.insert(flags.end(), hub_flags_.begin(), hub_flags_.end());
  auto hub = ChildProcess::Start(OMNIHUB_TIMELINE_BINARY, flags, {},
                                 directory_ + "/hub.log");
  ASSERT_TRUE(hub.ok()) << hub.status();
  hub_ = *std::move(hub);
  // Started once it takes a gRPC connection. A hub that exits instead (a
  // port it cannot bind) fails here with its log, not later as a timeline
  // that never fills.
  std::shared_ptr<grpc::Channel> channel = HubChannel(hub_port_);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::milliseconds(100))) {
    if (hub_->HasExited() || absl::Now() > deadline) {
      FAIL() << "the hub did not start on port " << hub_port_ << "; "
             << directory_ << "/hub.log says:\n"
             << FileText(directory_ + "/hub.log");
    }
  }
}

void AdapterEndToEndTest::StartAdapter() {
  std::vector<std::string> flags = {
      absl::StrCat("--listen=127.0.0.1:", adapter_port_),
      absl::StrCat("--admin_listen=127.0.0.1:", admin_port_),
      absl::StrCat("--hub_address=127.0.0.1:", hub_port_),
      "--spool_dir=" + directory_ + "/spool",
      "--default_region=GB",
      "--shutdown_grace=2s"};
  flags.insert(flags.end(), adapter_flags_.begin(), adapter_flags_.end());
  auto adapter = ChildProcess::Start(adapter_binary_, flags, {},
                                     directory_ + "/adapter.log");
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  adapter_ = *std::move(adapter);
  httplib::Client http("127.0.0.1", admin_port_);
  for (int i = 0; i < 100; ++i) {
    if (auto result = http.Get("/healthz"); result && result->status == 200) {
      return;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  FAIL() << adapter_binary_ << " never answered /healthz; see " << directory_
         << "/adapter.log";
}

httplib::Result AdapterEndToEndTest::Post(const std::string& path,
                                          const std::string& body,
                                          const std::string& content_type,
                                          const httplib::Headers& headers) {
  httplib::Client http("127.0.0.1", adapter_port_);
  http.set_read_timeout(10, 0);
  return http.Post(path.c_str(), headers, body, content_type.c_str());
}

std::vector<v1::InteractionEvent> AdapterEndToEndTest::ReadTimeline(
    v1::IdentityKind kind, const std::string& value) {
  std::vector<v1::InteractionEvent> events;
  v1::GetTimelineRequest request;
  *request.mutable_customer() = ByIdentity(kind, value);
  request.set_page_size(500);
  do {
    v1::GetTimelineResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    if (!stub_->GetTimeline(&context, request, &response).ok()) return {};
    events.insert(events.end(), response.events().begin(),
                  response.events().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return events;
}

std::vector<v1::InteractionEvent> AdapterEndToEndTest::WaitForTimeline(
    v1::IdentityKind kind, const std::string& value, size_t count) {
  std::vector<v1::InteractionEvent> events;
  for (int attempt = 0; attempt < 300; ++attempt) {
    events = ReadTimeline(kind, value);
    if (events.size() >= count) return events;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return events;
}

std::optional<v1::CustomerView> AdapterEndToEndTest::Customer(
    v1::IdentityKind kind, const std::string& value) {
  v1::GetCustomerRequest request;
  *request.mutable_customer() = ByIdentity(kind, value);
  v1::GetCustomerResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  if (!stub_->GetCustomer(&context, request, &response).ok()) {
    return std::nullopt;
  }
  return response.customer();
}

std::vector<std::string> AdapterEndToEndTest::KeysNotOfCustomer(
    const std::string& customer_id) {
  auto keys = redis_->Command({"KEYS", "*"});
  if (!keys.ok()) return {"(KEYS failed: " + keys.status().ToString() + ")"};
  std::vector<std::string> others;
  for (const redis::Reply& key : keys->elements) {
    if (absl::StrContains(key.str, absl::StrCat("c:{", customer_id, "}:"))) {
      continue;
    }
    if (absl::StrContains(key.str, ":id:{")) {
      auto owner = redis_->Command({"GET", key.str});
      if (owner.ok() && owner->str == customer_id) continue;
    }
    // The hub's own bookkeeping (the purchase model's and the lifecycle
    // sweep's leases and state, the customer index's mark) is nobody's
    // record.
    if (absl::StrContains(key.str, "{insights}:") ||
        absl::StrContains(key.str, "{customers}:")) {
      continue;
    }
    // A shard of the lifecycle deadline index or of the customer index.
    if (absl::StrContains(key.str, ":dl:{") ||
        absl::StrContains(key.str, ":cx:{")) {
      auto members = redis_->Command({"ZRANGE", key.str, "0", "-1"});
      if (members.ok() && members->elements.size() == 1 &&
          members->elements[0].str == customer_id) {
        continue;
      }
    }
    others.push_back(key.str);
  }
  return others;
}

bool AdapterEndToEndTest::WaitUntil(const std::function<bool()>& condition,
                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

int AdapterEndToEndTest::ReadyzStatus() {
  httplib::Client http("127.0.0.1", admin_port_);
  http.set_read_timeout(5, 0);
  auto result = http.Get("/readyz");
  return result ? result->status : 0;
}

std::string AdapterEndToEndTest::FetchMetrics() {
  httplib::Client http("127.0.0.1", admin_port_);
  http.set_read_timeout(5, 0);
  auto result = http.Get("/metrics");
  return result && result->status == 200 ? result->body : "";
}

std::string AdapterEndToEndTest::PromtoolComplaints(const std::string& text) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/adapter-metrics-", getpid(), ".txt");
  std::ofstream(path) << text;
  const int status = std::system(
      absl::StrCat("promtool check metrics < ", path, " > ", path, ".out 2>&1")
          .c_str());
  const std::string said = FileText(path + ".out");
  std::remove(path.c_str());
  std::remove((path + ".out").c_str());
  if (status == 0) return "";
  return absl::StrCat("promtool check metrics (status ", status, "):\n", said);
}

std::optional<double> AdapterEndToEndTest::MetricValue(
    const std::string& text, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    // name{label="value",...} number
    const size_t end_of_name = line.find_first_of("{ ");
    if (end_of_name == absl::string_view::npos ||
        line.substr(0, end_of_name) != name) {
      continue;
    }
    std::map<std::string, std::string> found;
    absl::string_view rest = line.substr(end_of_name);
    if (absl::ConsumePrefix(&rest, "{")) {
      const size_t close = rest.find('}');
      if (close == absl::string_view::npos) continue;
      // Our label values hold no commas, quotes or backslashes.
      for (absl::string_view pair :
           absl::StrSplit(rest.substr(0, close), ',', absl::SkipEmpty())) {
        std::pair<absl::string_view, absl::string_view> parts =
            absl::StrSplit(pair, absl::MaxSplits('=', 1));
        absl::string_view value = parts.second;
        absl::ConsumePrefix(&value, "\"");
        absl::ConsumeSuffix(&value, "\"");
        found[std::string(parts.first)] = std::string(value);
      }
      rest = rest.substr(close + 1);
    }
    bool matches = true;
    for (const auto& [label, value] : labels) {
      auto it = found.find(label);
      matches = matches && it != found.end() && it->second == value;
    }
    double number = 0;
    if (matches &&
        absl::SimpleAtod(absl::StripAsciiWhitespace(rest), &number)) {
      return number;
    }
  }
  return std::nullopt;
}

std::string AdapterEndToEndTest::DeadLetters() {
  return FileText(directory_ + "/spool/dead-letters.jsonl");
}

void ExpectEachFlagStopsTheAdapter(
    const std::string& adapter_binary,
    const std::vector<std::pair<std::string, std::string>>& cases) {
  std::string directory = ::testing::TempDir() + "adapter-flags-XXXXXX";
  ASSERT_NE(mkdtemp(directory.data()), nullptr);
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string log = absl::StrCat(directory, "/bad-flag-", i, ".log");
    auto adapter = ChildProcess::Start(
        adapter_binary,
        {"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
         "--hub_address=127.0.0.1:1",
         absl::StrCat("--spool_dir=", directory, "/spool-", i), cases[i].first},
        {}, log);
    ASSERT_TRUE(adapter.ok()) << adapter.status();
    absl::StatusOr<int> exit_code = (*adapter)->Wait(absl::Seconds(5));
    EXPECT_TRUE(exit_code.ok() && *exit_code == 2)
        << cases[i].first << " did not stop the adapter";
    EXPECT_THAT(FileText(log), ::testing::HasSubstr(cases[i].second))
        << cases[i].first;
  }
}

}  // namespace omnihub::testing

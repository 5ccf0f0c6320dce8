// The hub's gRPC port secured as a user runs it: a real omnihub-timeline
// process with a token file, TLS certificates made here with the openssl
// command, and clients built with omnihub's own channel (common/auth).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/client_channel.h"
#include "common/auth/method_scopes.h"
#include "common/auth/token_table.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "omnihub/v1/customer.grpc.pb.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/file_text.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// Runs a shell script to the end; its exit code.
int RunScript(const std::string& script, const std::string& log) {
  auto process = ChildProcess::Start("/bin/sh", {"-ec", script}, {}, log);
  if (!process.ok()) return -1;
  return (*process)->Wait(absl::Seconds(30)).value_or(-1);
}

// A CA, a server certificate for 127.0.0.1 and localhost, a client
// certificate from the same CA, and a second CA that signed neither of them
// but a "renewed" server certificate.
struct Certificates {
  std::string dir;
  std::string path(const std::string& name) const { return dir + "/" + name; }
};

Certificates MakeCertificates() {
  static int made = 0;
  Certificates certificates{
      absl::StrCat(::testing::TempDir(), "/tls-", ::getpid(), "-", ++made)};
  std::filesystem::create_directories(certificates.dir);
  const std::string script = absl::StrCat(
      "mkdir -p '", certificates.dir, "' && cd '", certificates.dir, "'\n",
      R"(key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { key "$1.key"; openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1"; }
signed() {  # name ca extension
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 -out "$1.pem" -extfile "$1.ext" 2>/dev/null
}
ca ca
ca other-ca
signed server ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
signed client ca "extendedKeyUsage=clientAuth"
signed renewed other-ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
)");
  const int exit_code = RunScript(script, certificates.path("openssl.log"));
  EXPECT_EQ(exit_code, 0) << FileText(certificates.path("openssl.log"));
  return certificates;
}

// Tokens and what they may do; the file holds only their hashes.
constexpr char kIngestToken[] = "ingest-token-1";
constexpr char kReadToken[] = "read-token-1";
constexpr char kPrivacyToken[] = "privacy-token-1";
constexpr char kAgentToken[] = "agent-token-1";

std::string TokenLine(const std::string& token, const std::string& principal,
                      const std::string& scopes) {
  return absl::StrCat(auth::Sha256Hex(token), " ", principal, " ", scopes,
                      "\n");
}

class HubSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis).release();
  }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }

  void SetUp() override {
    dir_ = absl::StrCat(
        ::testing::TempDir(), "/security-", ::getpid(), "-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    token_file_ = dir_ + "/tokens";
    WriteFile(token_file_, TokenLine(kIngestToken, "adapter", "ingest") +
                               TokenLine(kReadToken, "dashboard", "read") +
                               TokenLine(kPrivacyToken, "dpo", "privacy,read") +
                               TokenLine(kAgentToken, "agent-console", "link"));
  }

  // Starts the hub with `flags` on a free loopback port; false when it did
  // not start (the log says why).
  bool StartHub(std::vector<std::string> flags,
                const std::string& host = "127.0.0.1") {
    auto grpc_port = PickFreeLoopbackPort();
    auto metrics_port = PickFreeLoopbackPort();
    if (!grpc_port.ok() || !metrics_port.ok()) return false;
    address_ = absl::StrCat("127.0.0.1:", *grpc_port);
    metrics_port_ = *metrics_port;
    log_path_ = dir_ + "/hub.log";
    flags.push_back(absl::StrCat("--listen=", host, ":", *grpc_port));
    flags.push_back(absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port_));
    flags.push_back("--redis_address=" + redis_->address());
    flags.push_back("--shutdown_grace=1s");
    flags.push_back("--insights=false");
    auto process = ChildProcess::Start(OMNIHUB_TIMELINE_BINARY,
                                       std::move(flags), {}, log_path_);
    if (!process.ok()) return false;
    hub_ = *std::move(process);
    return true;
  }

  std::shared_ptr<grpc::Channel> Channel(const auth::ClientSecurity& security) {
    return auth::CreateHubChannel(address_, security);
  }
  std::shared_ptr<grpc::Channel> Channel(const std::string& token) {
    return Channel(auth::ClientSecurity{.token = token});
  }

  // `wait`: until connected or the deadline (a failing call returns at once
  // and leaves nobody polling the connection attempt: gRPC's backup poller
  // would find it only seconds later).
  static grpc::Status Health(const std::shared_ptr<grpc::Channel>& channel,
                             bool wait = false) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_wait_for_ready(wait);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(wait ? 200 : 2000));
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, {}, &response);
  }

  // Waits until the hub answers health checks over `channel`.
  bool WaitUntilServing(const std::shared_ptr<grpc::Channel>& channel) {
    for (int i = 0; i < 100; ++i) {
      const grpc::Status status = Health(channel, /*wait=*/true);
      if (status.ok()) return true;
      last_error_ = status.error_message();
      if (hub_->HasExited()) {
        last_error_ += " (the hub exited)";
        return false;
      }
    }
    return false;
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(5));
    return context;
  }

  static grpc::Status Ingest(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& event_id,
                             const std::string& email) {
    v1::IngestRequest request;
    v1::InteractionEvent* event = request.add_events();
    event->set_event_id(event_id);
    event->set_channel(v1::CHANNEL_WEB);
    event->set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
    event->mutable_occurred_at()->set_seconds(1700000000);
    v1::Identity* identity = event->add_identities();
    identity->set_kind(v1::IDENTITY_KIND_EMAIL);
    identity->set_value(email);
    v1::IngestResponse response;
    grpc::Status status = v1::TimelineService::NewStub(channel)->Ingest(
        Context().get(), request, &response);
    if (status.ok() &&
        response.results(0).status() != v1::IngestResult::STATUS_ACCEPTED) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "not accepted");
    }
    return status;
  }

  static v1::CustomerSelector ByEmail(const std::string& email) {
    v1::CustomerSelector selector;
    selector.mutable_identity()->set_kind(v1::IDENTITY_KIND_EMAIL);
    selector.mutable_identity()->set_value(email);
    return selector;
  }

  static absl::StatusOr<v1::CustomerView> Customer(
      const std::shared_ptr<grpc::Channel>& channel, const std::string& email) {
    v1::GetCustomerRequest request;
    *request.mutable_customer() = ByEmail(email);
    v1::GetCustomerResponse response;
    grpc::Status status = v1::TimelineService::NewStub(channel)->GetCustomer(
        Context().get(), request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return response.customer();
  }

  std::string Metrics() {
    httplib::Client client("127.0.0.1", metrics_port_);
    auto response = client.Get("/metrics");
    return response ? response->body : "";
  }

  std::string Log() { return last_error_ + "\n" + FileText(log_path_); }

  static RedisServer* redis_;
  std::string dir_;
  std::string token_file_;
  std::string address_;
  int metrics_port_ = 0;
  std::string log_path_;
  std::unique_ptr<ChildProcess> hub_;
  std::string last_error_;
};

RedisServer* HubSecurityTest::redis_ = nullptr;

// A call of `method` with an empty message, whatever its kind: the token is
// checked before the message is read.
grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel,
                       const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  return done.get_future().get();
}

TEST_F(HubSecurityTest, EveryRpcWithoutATokenIsUnauthenticated) {
  ASSERT_TRUE(StartHub({"--auth_tokens_file=" + token_file_}));
  std::shared_ptr<grpc::Channel> anonymous = Channel("");
  ASSERT_TRUE(WaitUntilServing(anonymous)) << Log();  // health stays open
  std::shared_ptr<grpc::Channel> unknown = Channel("not-a-known-token");
  int checked = 0;
  for (const auto& [method, access] : auth::MethodTable()) {
    if (access.open) continue;
    const std::string name(method);
    EXPECT_EQ(CallEmpty(anonymous, name).error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << name;
    EXPECT_EQ(CallEmpty(unknown, name).error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << name;
    ++checked;
  }
  EXPECT_GE(checked, 14);
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("omnihub_grpc_auth_refused_total{method=\"/omnihub."
                         "v1.CustomerService/ForgetCustomer\",reason=\""
                         "missing_token\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("reason=\"unknown_token\""), std::string::npos);
  // The token reaches neither the log nor the metrics.
  EXPECT_EQ(Log().find("not-a-known-token"), std::string::npos);
  EXPECT_EQ(metrics.find("not-a-known-token"), std::string::npos);
}

TEST_F(HubSecurityTest, ReadTokenCannotForgetExportOrLinkAndNothingChanges) {
  ASSERT_TRUE(StartHub({"--auth_tokens_file=" + token_file_}));
  std::shared_ptr<grpc::Channel> ingest = Channel(kIngestToken);
  std::shared_ptr<grpc::Channel> read = Channel(kReadToken);
  ASSERT_TRUE(WaitUntilServing(read)) << Log();
  ASSERT_TRUE(Ingest(ingest, "sec-1", "ann@example.com").ok());
  ASSERT_TRUE(Ingest(ingest, "sec-2", "bob@example.com").ok());
  absl::StatusOr<v1::CustomerView> ann = Customer(read, "ann@example.com");
  ASSERT_TRUE(ann.ok()) << ann.status();

  auto customers = v1::CustomerService::NewStub(read);
  v1::ForgetCustomerRequest forget;
  *forget.mutable_customer() = ByEmail("ann@example.com");
  forget.set_requested_by("ticket-1");
  v1::ForgetCustomerResponse forgotten;
  EXPECT_EQ(customers->ForgetCustomer(Context().get(), forget, &forgotten)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ExportCustomerRequest export_request;
  *export_request.mutable_customer() = ByEmail("ann@example.com");
  export_request.set_requested_by("ticket-2");
  v1::ExportCustomerResponse exported;
  EXPECT_EQ(
      customers->ExportCustomer(Context().get(), export_request, &exported)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(exported.json().empty());
  v1::LinkIdentitiesRequest link;
  *link.add_identities() = ByEmail("ann@example.com").identity();
  *link.add_identities() = ByEmail("bob@example.com").identity();
  link.set_source("agent/x");
  v1::LinkIdentitiesResponse linked;
  EXPECT_EQ(
      customers->LinkIdentities(Context().get(), link, &linked).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // An ingest token cannot read either.
  EXPECT_EQ(Customer(ingest, "ann@example.com").status().code(),
            absl::StatusCode::kPermissionDenied);

  // Nothing changed: both still there, still apart.
  absl::StatusOr<v1::CustomerView> ann_after =
      Customer(read, "ann@example.com");
  absl::StatusOr<v1::CustomerView> bob_after =
      Customer(read, "bob@example.com");
  ASSERT_TRUE(ann_after.ok() && bob_after.ok());
  EXPECT_EQ(ann_after->customer_id(), ann->customer_id());
  EXPECT_NE(bob_after->customer_id(), ann->customer_id());
  EXPECT_EQ(ann_after->total_interactions(), 1);
  EXPECT_NE(Metrics().find("reason=\"missing_scope\"} 1"), std::string::npos);

  // The privacy token may export, and the hub logs who did.
  auto privacy = v1::CustomerService::NewStub(Channel(kPrivacyToken));
  ASSERT_TRUE(
      privacy->ExportCustomer(Context().get(), export_request, &exported).ok());
  EXPECT_NE(exported.json().find("ann@example.com"), std::string::npos);
}

TEST_F(HubSecurityTest, AuditedCallsRecordThePrincipalBesideWhatTheCallerSays) {
  ASSERT_TRUE(StartHub({"--auth_tokens_file=" + token_file_}));
  std::shared_ptr<grpc::Channel> ingest = Channel(kIngestToken);
  ASSERT_TRUE(WaitUntilServing(ingest)) << Log();
  ASSERT_TRUE(Ingest(ingest, "audit-1", "cy@example.com").ok());
  ASSERT_TRUE(Ingest(ingest, "audit-2", "di@example.com").ok());

  v1::LinkIdentitiesRequest link;
  *link.add_identities() = ByEmail("cy@example.com").identity();
  *link.add_identities() = ByEmail("di@example.com").identity();
  link.set_source("agent/maria");
  link.set_reason("same person, confirmed by phone");
  v1::LinkIdentitiesResponse linked;
  ASSERT_TRUE(v1::CustomerService::NewStub(Channel(kAgentToken))
                  ->LinkIdentities(Context().get(), link, &linked)
                  .ok());
  ASSERT_EQ(linked.merged_customer_ids_size(), 1);

  auto privacy = v1::CustomerService::NewStub(Channel(kPrivacyToken));
  v1::GetMergeLogRequest log_request;
  *log_request.mutable_customer() = ByEmail("cy@example.com");
  v1::GetMergeLogResponse merge_log;
  ASSERT_TRUE(
      privacy->GetMergeLog(Context().get(), log_request, &merge_log).ok());
  ASSERT_EQ(merge_log.records_size(), 1);
  EXPECT_EQ(merge_log.records(0).principal(), "agent-console");
  EXPECT_EQ(merge_log.records(0).source(), "agent/maria");

  v1::ForgetCustomerRequest forget;
  *forget.mutable_customer() = ByEmail("cy@example.com");
  forget.set_requested_by("ticket-42");
  v1::ForgetCustomerResponse forgotten;
  ASSERT_TRUE(
      privacy->ForgetCustomer(Context().get(), forget, &forgotten).ok());
  const std::string log = Log();
  EXPECT_NE(log.find("by principal agent-console for agent/maria"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("erased by principal dpo at the request of ticket-42"),
            std::string::npos)
      << log;
  for (const char* token : {kIngestToken, kAgentToken, kPrivacyToken}) {
    EXPECT_EQ(log.find(token), std::string::npos) << token;
  }
}

TEST_F(HubSecurityTest, TokenFileIsReadAgainOnSighup) {
  ASSERT_TRUE(StartHub({"--auth_tokens_file=" + token_file_}));
  ASSERT_TRUE(WaitUntilServing(Channel(""))) << Log();
  std::shared_ptr<grpc::Channel> old_reader = Channel(kReadToken);
  std::shared_ptr<grpc::Channel> new_reader = Channel("read-token-2");
  auto read_status = [](const std::shared_ptr<grpc::Channel>& channel) {
    return CallEmpty(channel, "/omnihub.v1.TimelineService/GetCustomer")
        .error_code();
  };
  // An empty GetCustomer passes the token check and fails validation.
  EXPECT_EQ(read_status(old_reader), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(read_status(new_reader), grpc::StatusCode::UNAUTHENTICATED);

  // A broken file is refused and the tokens stay as they were.
  WriteFile(token_file_, "read-token-2 reader read\n");
  ASSERT_TRUE(hub_->Signal(SIGHUP).ok());
  for (int i = 0; i < 50 && Log().find("tokens unchanged") == std::string::npos;
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_NE(Log().find("tokens unchanged"), std::string::npos) << Log();
  EXPECT_EQ(read_status(old_reader), grpc::StatusCode::INVALID_ARGUMENT);

  // The old token revoked, a new one added.
  WriteFile(token_file_, TokenLine("read-token-2", "reader", "read"));
  ASSERT_TRUE(hub_->Signal(SIGHUP).ok());
  grpc::StatusCode now = grpc::StatusCode::UNKNOWN;
  for (int i = 0; i < 50; ++i) {
    now = read_status(new_reader);
    if (now == grpc::StatusCode::INVALID_ARGUMENT) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(now, grpc::StatusCode::INVALID_ARGUMENT) << Log();
  EXPECT_EQ(read_status(old_reader), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(hub_->HasExited());
}

TEST_F(HubSecurityTest, TlsHandshakeWithTheRightCaOnly) {
  const Certificates tls = MakeCertificates();
  ASSERT_TRUE(StartHub({"--auth_tokens_file=" + token_file_,
                        "--tls_cert_file=" + tls.path("server.pem"),
                        "--tls_key_file=" + tls.path("server.key")}));
  absl::StatusOr<auth::ClientSecurity> trusted = auth::ReadClientSecurity(
      {.token_file = "", .ca_file = tls.path("ca.pem")});
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  trusted->token = kIngestToken;
  std::shared_ptr<grpc::Channel> channel = Channel(*trusted);
  ASSERT_TRUE(WaitUntilServing(channel)) << Log();
  EXPECT_NE(Log().find("gRPC security on 127.0.0.1:"), std::string::npos);
  EXPECT_TRUE(Ingest(channel, "tls-1", "tls@example.com").ok());

  auth::ClientSecurity wrong_ca = *trusted;
  wrong_ca.ca_pem = FileText(tls.path("other-ca.pem"));
  grpc::Status refused = Health(Channel(wrong_ca));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.error_message();
  // A client that does not speak TLS gets nothing either.
  EXPECT_EQ(Health(Channel(kIngestToken)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// omnihub-cli as a user runs it against a hub with TLS and tokens: the token
// and the CA from files.
TEST_F(HubSecurityTest, CliSendsItsTokenOverTls) {
  const Certificates tls = MakeCertificates();
  ASSERT_TRUE(StartHub({"--auth_tokens_file=" + token_file_,
                        "--tls_cert_file=" + tls.path("server.pem"),
                        "--tls_key_file=" + tls.path("server.key")}));
  absl::StatusOr<auth::ClientSecurity> trusted =
      auth::ReadClientSecurity({.ca_file = tls.path("ca.pem")});
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  trusted->token = kIngestToken;
  ASSERT_TRUE(WaitUntilServing(Channel(*trusted))) << Log();
  ASSERT_TRUE(Ingest(Channel(*trusted), "cli-1", "eve@example.com").ok());
  const std::string read_token = dir_ + "/read.token";
  WriteFile(read_token, std::string(kReadToken) + "\n");

  auto run_cli = [&](std::vector<std::string> args) {
    const std::string output = dir_ + "/cli.out";
    std::filesystem::remove(output);
    args.insert(args.begin(), "--hub_address=" + address_);
    auto process =
        ChildProcess::Start(OMNIHUB_CLI_BINARY, std::move(args), {}, output);
    if (!process.ok()) return std::make_pair(-1, std::string());
    absl::StatusOr<int> exit_code = (*process)->Wait(absl::Seconds(20));
    return std::make_pair(exit_code.value_or(-1), FileText(output));
  };
  const std::string ca = "--tls_ca_file=" + tls.path("ca.pem");
  auto [code, output] = run_cli({"--token_file=" + read_token, ca, "customer",
                                 "--identity=email:eve@example.com"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("eve@example.com"), std::string::npos) << output;
  std::tie(code, output) =
      run_cli({ca, "customer", "--identity=email:eve@example.com"});
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("missing bearer token"), std::string::npos) << output;
  std::tie(code, output) =
      run_cli({"--token_file=" + read_token, ca, "forget",
               "--identity=email:eve@example.com", "--requested_by=t-1"});
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("lacks scope privacy"), std::string::npos) << output;
  std::tie(code, output) =
      run_cli({"--token_file=" + dir_ + "/missing", ca, "customer",
               "--identity=email:eve@example.com"});
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find("--token_file"), std::string::npos) << output;
}

TEST_F(HubSecurityTest, RenewedCertificateIsServedWithoutARestart) {
  const Certificates tls = MakeCertificates();
  const std::string cert = dir_ + "/hub.pem";
  const std::string key = dir_ + "/hub.key";
  std::filesystem::copy_file(tls.path("server.pem"), cert);
  std::filesystem::copy_file(tls.path("server.key"), key);
  ASSERT_TRUE(
      StartHub({"--auth_tokens_file=" + token_file_, "--tls_cert_file=" + cert,
                "--tls_key_file=" + key, "--tls_refresh_interval=1s"}));
  auth::ClientSecurity old_ca{.ca_pem = FileText(tls.path("ca.pem"))};
  auth::ClientSecurity new_ca{.ca_pem = FileText(tls.path("other-ca.pem"))};
  ASSERT_TRUE(WaitUntilServing(Channel(old_ca))) << Log();
  EXPECT_FALSE(Health(Channel(new_ca)).ok());

  WriteFile(key, FileText(tls.path("renewed.key")));
  WriteFile(cert, FileText(tls.path("renewed.pem")));
  bool renewed = false;
  for (int i = 0; i < 50 && !renewed; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    // A new channel each time: a fresh handshake, not a kept connection.
    renewed = Health(Channel(new_ca)).ok();
  }
  EXPECT_TRUE(renewed) << Log();
  EXPECT_FALSE(hub_->HasExited());
}

TEST_F(HubSecurityTest, MutualTlsRequiresAClientCertificate) {
  const Certificates tls = MakeCertificates();
  ASSERT_TRUE(StartHub({"--auth_tokens_file=" + token_file_,
                        "--tls_cert_file=" + tls.path("server.pem"),
                        "--tls_key_file=" + tls.path("server.key"),
                        "--tls_client_ca_file=" + tls.path("ca.pem")}));
  absl::StatusOr<auth::ClientSecurity> with_certificate =
      auth::ReadClientSecurity({.ca_file = tls.path("ca.pem"),
                                .client_cert_file = tls.path("client.pem"),
                                .client_key_file = tls.path("client.key")});
  ASSERT_TRUE(with_certificate.ok()) << with_certificate.status();
  with_certificate->token = kIngestToken;
  ASSERT_TRUE(WaitUntilServing(Channel(*with_certificate))) << Log();
  EXPECT_TRUE(
      Ingest(Channel(*with_certificate), "mtls-1", "mtls@example.com").ok());

  auth::ClientSecurity without_certificate = *with_certificate;
  without_certificate.client_cert_pem.clear();
  without_certificate.client_key_pem.clear();
  EXPECT_EQ(Health(Channel(without_certificate)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(HubSecurityTest, OtherMachinesOnlyWithTlsAndTokensOrInsecure) {
  ASSERT_TRUE(StartHub({}, "0.0.0.0"));
  absl::StatusOr<int> exit_code = hub_->Wait(absl::Seconds(10));
  EXPECT_EQ(exit_code.value_or(-1), 2);
  EXPECT_NE(Log().find("is reachable from other machines"), std::string::npos)
      << Log();

  ASSERT_TRUE(StartHub({"--insecure"}, "0.0.0.0"));
  ASSERT_TRUE(WaitUntilServing(Channel(""))) << Log();
  EXPECT_NE(Log().find("--insecure: reachable from other machines"),
            std::string::npos)
      << Log();
}

TEST_F(HubSecurityTest, LoopbackWithoutTokensSaysSo) {
  ASSERT_TRUE(StartHub({}));
  ASSERT_TRUE(WaitUntilServing(Channel(""))) << Log();
  EXPECT_NE(Log().find("serving loopback only"), std::string::npos) << Log();
  EXPECT_TRUE(Ingest(Channel(""), "open-1", "open@example.com").ok());
}

}  // namespace
}  // namespace omnihub::testing

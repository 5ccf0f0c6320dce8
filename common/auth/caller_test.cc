// What a handler learns about its caller (caller.h), on a real server with
// the token check: per call, even when calls of different principals share
// one connection (gRPC's AuthContext is the connection's).
#include "common/auth/caller.h"

#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/str_cat.h"
#include "common/auth/client_channel.h"
#include "common/auth/server_security.h"
#include "common/auth/token_table.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace omnihub::auth {
namespace {

// Answers any call with "<principal>:<may assert verified>" as the status
// message (the method must be one of the table's to pass the check).
class WhoAmI final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(std::string answer) {
        Finish(grpc::Status(grpc::StatusCode::ABORTED, answer));
      }
      void OnDone() override { delete this; }
    };
    return new Reactor(
        absl::StrCat(CallerPrincipal(*context), ":",
                     MayAssertVerified(*context) ? "true" : "false"));
  }
};

std::string Ask(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/omnihub.v1.TimelineService/Ingest",
                 grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  const grpc::Status status = done.get_future().get();
  return status.error_code() == grpc::StatusCode::ABORTED
             ? status.error_message()
             : absl::StrCat("refused: ", status.error_code());
}

TEST(CallerTest, EachCallIsItsOwnCallerOnASharedConnection) {
  const std::string token_file =
      absl::StrCat(::testing::TempDir(), "/caller-test-tokens-", ::getpid());
  std::ofstream(token_file)
      << Sha256Hex("server-key") << " shop-backend ingest,ingest-verified\n"
      << Sha256Hex("browser-key") << " web-adapter ingest\n";
  prometheus::Registry registry;
  absl::StatusOr<ServerSecurity> security = MakeServerSecurity(
      {.listen = "127.0.0.1:0", .token_file = token_file}, registry);
  ASSERT_TRUE(security.ok()) << security.status();
  WhoAmI service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", security->credentials, &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);

  // Same channel arguments: both share one connection.
  auto trusted = CreateHubChannel(address, {.token = "server-key"});
  auto untrusted = CreateHubChannel(address, {.token = "browser-key"});
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(Ask(trusted), "shop-backend:true");
    EXPECT_EQ(Ask(untrusted), "web-adapter:false");
  }
  EXPECT_EQ(Ask(CreateHubChannel(address, {})),
            absl::StrCat("refused: ", grpc::StatusCode::UNAUTHENTICATED));
  server->Shutdown();
  SetCallAuthenticator(nullptr);
  std::filesystem::remove(token_file);
}

}  // namespace
}  // namespace omnihub::auth

#include "common/auth/server_security.h"

#include "gtest/gtest.h"

namespace omnihub::auth {
namespace {

TEST(IsLoopbackAddressTest, OnlyThisMachine) {
  for (const char* address : {"127.0.0.1:50051", "127.1.2.3:1", "localhost:80",
                              "[::1]:50051", "unix:/run/omnihub.sock"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "hub.internal:50051",
        ":50051", "localhost.evil.example:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(MakeServerSecurityTest, RefusesHalfConfigurations) {
  prometheus::Registry registry;
  auto error = [&](ServerSecurityOptions options) {
    absl::StatusOr<ServerSecurity> security =
        MakeServerSecurity(options, registry);
    return security.ok() ? std::string("ok")
                         : std::string(security.status().message());
  };
  EXPECT_NE(error({.listen = "127.0.0.1:1", .tls_cert_file = "c.pem"})
                .find("--tls_cert_file and --tls_key_file go together"),
            std::string::npos);
  EXPECT_NE(error({.listen = "127.0.0.1:1", .tls_client_ca_file = "ca.pem"})
                .find("--tls_client_ca_file needs"),
            std::string::npos);
  EXPECT_NE(error({.listen = "0.0.0.0:1"}).find("--insecure"),
            std::string::npos);
  EXPECT_NE(error({.listen = "0.0.0.0:1",
                   .token_file = "/nonexistent",
                   .insecure = true})
                .find("needs TLS"),
            std::string::npos);
  EXPECT_NE(error({.listen = "127.0.0.1:1", .token_file = "/nonexistent"})
                .find("cannot read token file"),
            std::string::npos);
  EXPECT_NE(error({.listen = "127.0.0.1:1",
                   .tls_cert_file = "/nonexistent.pem",
                   .tls_key_file = "/nonexistent.key"})
                .find("--tls_cert_file: cannot read"),
            std::string::npos);
  EXPECT_EQ(error({.listen = "127.0.0.1:1"}), "ok");
  EXPECT_EQ(error({.listen = "0.0.0.0:1", .insecure = true}), "ok");
}

}  // namespace
}  // namespace omnihub::auth

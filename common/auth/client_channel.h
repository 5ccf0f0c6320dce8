// The channel every omnihub gRPC client opens to the hub: TLS when a CA is
// given (with a client certificate for mutual TLS), and the bearer token on
// every call.
//
//   absl::StatusOr<ClientSecurity> security = ClientSecurityFromFlags();
//   std::shared_ptr<grpc::Channel> channel =
//       CreateHubChannel("hub.internal:50051", *security);
#ifndef OMNIHUB_COMMON_AUTH_CLIENT_CHANNEL_H_
#define OMNIHUB_COMMON_AUTH_CLIENT_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace omnihub::auth {

struct ClientSecurityFiles {
  std::string token_file = {};        // the bearer token itself, one line
  std::string ca_file = {};           // set: TLS, the hub's certificate checked
  std::string client_cert_file = {};  // with client_key_file: mutual TLS
  std::string client_key_file = {};
  std::string server_name = {};  // the name the hub's certificate must carry,
                                 // when not the host of the address
};

struct ClientSecurity {
  std::string token = {};  // empty: none sent
  std::string ca_pem = {};
  std::string client_cert_pem = {};
  std::string client_key_pem = {};
  std::string server_name = {};
  bool tls() const { return !ca_pem.empty(); }
};

// Reads and checks the files; errors name the flag (--token_file, ...).
absl::StatusOr<ClientSecurity> ReadClientSecurity(
    const ClientSecurityFiles& files);

std::shared_ptr<grpc::Channel> CreateHubChannel(
    const std::string& target, const ClientSecurity& security,
    grpc::ChannelArguments arguments = {});

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_CLIENT_CHANNEL_H_

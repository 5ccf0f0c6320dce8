// How the hub's gRPC port is secured, decided in one place from its flags:
// TLS (certificate files re-read when they change, optional client
// certificates), bearer tokens with scopes, and the safe default — without
// TLS and tokens the hub serves loopback only unless told --insecure.
//
//   absl::StatusOr<ServerSecurity> security =
//       MakeServerSecurity({.listen = "0.0.0.0:50051", .tls_cert_file = ...,
//                           .token_file = ...}, registry);
//   builder.AddListeningPort(listen, security->credentials, &port);
//   log::Info("%s", security->description);
#ifndef OMNIHUB_COMMON_AUTH_SERVER_SECURITY_H_
#define OMNIHUB_COMMON_AUTH_SERVER_SECURITY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/token_authenticator.h"
#include "grpcpp/security/server_credentials.h"
#include "prometheus/registry.h"

namespace omnihub::auth {

struct ServerSecurityOptions {
  std::string listen = {};
  // PEM files; both or neither. Re-read every `tls_refresh_interval`.
  std::string tls_cert_file = {};
  std::string tls_key_file = {};
  // Set: clients must present a certificate signed by this CA (mutual TLS).
  std::string tls_client_ca_file = {};
  absl::Duration tls_refresh_interval = absl::Minutes(1);
  // Hashes of the accepted bearer tokens (token_table.h); empty: none.
  std::string token_file = {};
  // Serve a non-loopback address without TLS or tokens.
  bool insecure = false;
};

struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Null when no token file is given; Reload() it on SIGHUP. Also what
  // caller.h asks (installed for the process).
  std::shared_ptr<TokenAuthenticator> authenticator;
  // One line for the start-up log: what protects the port.
  std::string description = {};
  // The configuration is unsafe (--insecure in use): log `description` as a
  // warning.
  bool warn = false;
};

absl::StatusOr<ServerSecurity> MakeServerSecurity(
    const ServerSecurityOptions& options, prometheus::Registry& registry);

// "127.0.0.1:50051", "localhost:1", "[::1]:2", "unix:/path": reachable from
// this machine only.
bool IsLoopbackAddress(absl::string_view address);

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_SERVER_SECURITY_H_

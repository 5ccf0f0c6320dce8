// The flags every omnihub gRPC client takes to reach a secured hub
// (--token_file, --tls_ca_file, --tls_client_cert_file, --tls_client_key_file,
// --tls_server_name); secrets only ever from files, never as flag values.
//
//   absl::StatusOr<ClientSecurity> security = ClientSecurityFromFlags();
#ifndef OMNIHUB_COMMON_AUTH_CLIENT_FLAGS_H_
#define OMNIHUB_COMMON_AUTH_CLIENT_FLAGS_H_

#include "absl/status/statusor.h"
#include "common/auth/client_channel.h"

namespace omnihub::auth {

absl::StatusOr<ClientSecurity> ClientSecurityFromFlags();

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_CLIENT_FLAGS_H_

#include "common/auth/client_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, token_file, "",
          "File holding the bearer token sent to the hub (one line); empty: "
          "none (a hub without --auth_tokens_file).");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA certificate(s) the hub's certificate must chain to; set: "
          "connect to the hub with TLS.");
ABSL_FLAG(std::string, tls_client_cert_file, "",
          "PEM client certificate for a hub that requires mutual TLS (with "
          "--tls_client_key_file).");
ABSL_FLAG(std::string, tls_client_key_file, "",
          "PEM private key of --tls_client_cert_file.");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name the hub's certificate must carry, when not the host of the "
          "hub's address.");

namespace omnihub::auth {

absl::StatusOr<ClientSecurity> ClientSecurityFromFlags() {
  return ReadClientSecurity(
      {.token_file = absl::GetFlag(FLAGS_token_file),
       .ca_file = absl::GetFlag(FLAGS_tls_ca_file),
       .client_cert_file = absl::GetFlag(FLAGS_tls_client_cert_file),
       .client_key_file = absl::GetFlag(FLAGS_tls_client_key_file),
       .server_name = absl::GetFlag(FLAGS_tls_server_name)});
}

}  // namespace omnihub::auth

#include "common/auth/server_security.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/caller.h"
#include "common/auth/pem_files.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace omnihub::auth {
namespace {

// The host of "host:port", "[v6]:port".
absl::string_view HostOf(absl::string_view address) {
  if (absl::StartsWith(address, "[")) {
    const size_t end = address.find(']');
    return end == absl::string_view::npos ? address
                                          : address.substr(1, end - 1);
  }
  const size_t colon = address.rfind(':');
  return colon == absl::string_view::npos ? address : address.substr(0, colon);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(
    const ServerSecurityOptions& options) {
  absl::StatusOr<std::string> certificate =
      ReadCertificates("tls_cert_file", options.tls_cert_file);
  if (!certificate.ok()) return certificate.status();
  if (absl::StatusOr<std::string> key =
          ReadKeyFor("tls_key_file", options.tls_key_file, *certificate);
      !key.ok()) {
    return key.status();
  }
  const bool mutual = !options.tls_client_ca_file.empty();
  if (mutual) {
    if (absl::StatusOr<std::string> ca =
            ReadCertificates("tls_client_ca_file", options.tls_client_ca_file);
        !ca.ok()) {
      return ca.status();
    }
  }
  const auto refresh_seconds = static_cast<unsigned int>(
      std::max<int64_t>(absl::ToInt64Seconds(options.tls_refresh_interval), 1));
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          options.tls_key_file, options.tls_cert_file,
          options.tls_client_ca_file, refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (mutual) {
    tls.watch_root_certs();
    tls.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace

bool IsLoopbackAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:")) return true;
  const absl::string_view host = HostOf(address);
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<ServerSecurity> MakeServerSecurity(
    const ServerSecurityOptions& options, prometheus::Registry& registry) {
  const bool tls = !options.tls_cert_file.empty();
  if (tls != !options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file go together");
  }
  if (!tls && !options.tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  const bool tokens = !options.token_file.empty();
  const bool loopback = IsLoopbackAddress(options.listen);
  if (!loopback && !(tls && tokens) && !options.insecure) {
    const std::string missing =
        !tls && !tokens ? "TLS (--tls_cert_file, --tls_key_file) and tokens "
                          "(--auth_tokens_file) are"
        : !tls          ? "TLS (--tls_cert_file, --tls_key_file) is"
                        : "tokens (--auth_tokens_file) are";
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen=", options.listen, " is reachable from other machines, but ",
        missing,
        " not configured: anyone who can reach it could read, export, erase "
        "or merge customers. Configure them, listen on a loopback address, "
        "or pass --insecure to serve it anyway"));
  }
  if (!tls && tokens && !loopback) {
    return absl::InvalidArgumentError(
        "--auth_tokens_file on a non-loopback address needs TLS: bearer "
        "tokens would cross the network in clear text");
  }

  ServerSecurity security;
  if (tls) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        TlsCredentials(options);
    if (!credentials.ok()) return credentials.status();
    security.credentials = *std::move(credentials);
  } else if (tokens) {
    // Local credentials carry the token check where plain insecure ones
    // cannot; they accept loopback (or Unix socket) peers only.
    security.credentials = grpc::experimental::LocalServerCredentials(
        absl::StartsWith(options.listen, "unix:") ? UDS : LOCAL_TCP);
  } else {
    security.credentials = grpc::InsecureServerCredentials();
  }
  if (tokens) {
    absl::StatusOr<std::shared_ptr<TokenAuthenticator>> authenticator =
        TokenAuthenticator::Create(options.token_file, registry);
    if (!authenticator.ok()) return authenticator.status();
    security.authenticator = *std::move(authenticator);
    security.credentials->SetAuthMetadataProcessor(security.authenticator);
    SetCallAuthenticator(security.authenticator);
  }

  const std::string transport =
      tls ? (options.tls_client_ca_file.empty()
                 ? "TLS"
                 : "mutual TLS (client certificates required)")
          : "no TLS (plaintext)";
  const std::string callers =
      tokens ? absl::StrCat("bearer tokens with scopes (",
                            security.authenticator->token_count(),
                            " tokens from ", options.token_file, ")")
             : "no tokens: every caller may call everything";
  security.description = absl::StrCat("gRPC security on ", options.listen, ": ",
                                      transport, "; ", callers);
  if (!loopback && !(tls && tokens)) {
    security.warn = true;
    absl::StrAppend(&security.description,
                    " — --insecure: reachable from other machines without ",
                    tls ? "tokens" : "TLS",
                    "; do not run it like this where people's data is");
  } else if (loopback && !tokens) {
    absl::StrAppend(&security.description,
                    " — serving loopback only; to serve other machines, "
                    "configure TLS and --auth_tokens_file");
  }
  return security;
}

}  // namespace omnihub::auth

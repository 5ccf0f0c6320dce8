#include "common/auth/client_channel.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/auth/pem_files.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/client_interceptor.h"

namespace omnihub::auth {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Call credentials would be dropped on a plaintext or local channel; the
// token goes as plain metadata, so the same client works against a hub on
// loopback without TLS.
class BearerTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* header)
      : header_(header) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BearerTokenFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(const std::string& token)
      : header_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(&header_);
  }

 private:
  const std::string header_;
};

}  // namespace

absl::StatusOr<ClientSecurity> ReadClientSecurity(
    const ClientSecurityFiles& files) {
  ClientSecurity security;
  security.server_name = files.server_name;
  if (!files.token_file.empty()) {
    absl::StatusOr<std::string> token =
        ReadSecretFile("token_file", files.token_file);
    if (!token.ok()) return token.status();
    security.token = *std::move(token);
  }
  if (files.client_cert_file.empty() != files.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_cert_file and --tls_client_key_file go together");
  }
  if (files.ca_file.empty()) {
    if (!files.client_cert_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_cert_file needs --tls_ca_file");
    }
    return security;
  }
  absl::StatusOr<std::string> ca =
      ReadCertificates("tls_ca_file", files.ca_file);
  if (!ca.ok()) return ca.status();
  security.ca_pem = *std::move(ca);
  if (!files.client_cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadCertificates("tls_client_cert_file", files.client_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key =
        ReadKeyFor("tls_client_key_file", files.client_key_file, *cert);
    if (!key.ok()) return key.status();
    security.client_cert_pem = *std::move(cert);
    security.client_key_pem = *std::move(key);
  }
  return security;
}

std::shared_ptr<grpc::Channel> CreateHubChannel(
    const std::string& target, const ClientSecurity& security,
    grpc::ChannelArguments arguments) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (security.tls()) {
    credentials =
        grpc::SslCredentials({.pem_root_certs = security.ca_pem,
                              .pem_private_key = security.client_key_pem,
                              .pem_cert_chain = security.client_cert_pem});
    if (!security.server_name.empty()) {
      arguments.SetSslTargetNameOverride(security.server_name);
    }
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  if (security.token.empty()) {
    return grpc::CreateCustomChannel(target, credentials, arguments);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<BearerTokenFactory>(security.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, credentials, arguments, std::move(interceptors));
}

}  // namespace omnihub::auth

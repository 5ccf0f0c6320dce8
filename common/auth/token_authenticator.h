// Checks every call's bearer token (gRPC metadata "authorization: Bearer
// <token>") against the token file and the method's scope (method_scopes.h)
// before any handler runs: gRPC calls it for each call on a server whose
// credentials carry it (ServerCredentials::SetAuthMetadataProcessor).
//
//   missing or unknown token → UNAUTHENTICATED
//   token without the method's scope → PERMISSION_DENIED
//   method not in the table → PERMISSION_DENIED
//
// Refusals are counted in omnihub_grpc_auth_refused_total{method,reason};
// the token is never logged. Handlers learn who called with caller.h, which
// asks Identify(): gRPC shares one AuthContext among all the calls of a
// connection, so the caller cannot be stored there.
//
//   auto authenticator = TokenAuthenticator::Create("tokens.txt", registry);
//   credentials->SetAuthMetadataProcessor(*authenticator);
//   ... on SIGHUP: (*authenticator)->Reload();
#ifndef OMNIHUB_COMMON_AUTH_TOKEN_AUTHENTICATOR_H_
#define OMNIHUB_COMMON_AUTH_TOKEN_AUTHENTICATOR_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/token_table.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"

namespace omnihub::auth {

class TokenAuthenticator final : public grpc::AuthMetadataProcessor {
 public:
  // Reads the token file; a file that cannot be read or parsed is an error.
  static absl::StatusOr<std::shared_ptr<TokenAuthenticator>> Create(
      std::string token_file, prometheus::Registry& registry);

  // Reads the token file again. On an error the tokens read before stay in
  // force (a half-edited file never locks every caller out).
  absl::Status Reload();
  size_t token_count() const;

  // The principal of an "authorization" metadata value ("Bearer <token>");
  // nullopt when it names no known token.
  std::optional<Principal> Identify(absl::string_view authorization) const;

  // A table lookup and a hash: cheap enough to run on gRPC's own thread.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  TokenAuthenticator(std::string token_file, prometheus::Registry& registry);
  grpc::Status Refuse(grpc::StatusCode code, absl::string_view method_label,
                      absl::string_view reason, std::string message);

  const std::string token_file_;
  prometheus::Family<prometheus::Counter>* refused_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const TokenTable> table_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_TOKEN_AUTHENTICATOR_H_

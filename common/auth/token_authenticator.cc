#include "common/auth/token_authenticator.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/caller.h"
#include "common/auth/method_scopes.h"
#include "common/logging/log.h"

namespace omnihub::auth {
namespace {

constexpr absl::string_view kBearer = "bearer ";

// The token of "Bearer <token>"; empty when the value is not of that form.
absl::string_view BearerToken(absl::string_view header) {
  if (header.size() <= kBearer.size() ||
      !absl::StartsWithIgnoreCase(header, kBearer)) {
    return {};
  }
  return absl::StripAsciiWhitespace(header.substr(kBearer.size()));
}

absl::string_view MetadataValue(
    const grpc::AuthMetadataProcessor::InputMetadata& metadata,
    absl::string_view key) {
  auto found = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (found == metadata.end()) return {};
  return absl::string_view(found->second.data(), found->second.size());
}

}  // namespace

absl::StatusOr<std::shared_ptr<TokenAuthenticator>> TokenAuthenticator::Create(
    std::string token_file, prometheus::Registry& registry) {
  std::shared_ptr<TokenAuthenticator> authenticator(
      new TokenAuthenticator(std::move(token_file), registry));
  if (absl::Status read = authenticator->Reload(); !read.ok()) return read;
  return authenticator;
}

TokenAuthenticator::TokenAuthenticator(std::string token_file,
                                       prometheus::Registry& registry)
    : token_file_(std::move(token_file)),
      refused_(&prometheus::BuildCounter()
                    .Name("omnihub_grpc_auth_refused_total")
                    .Help("gRPC calls refused before any handler ran, by "
                          "method and reason (missing_token, unknown_token, "
                          "missing_scope, unknown_method).")
                    .Register(registry)) {}

absl::Status TokenAuthenticator::Reload() {
  absl::StatusOr<TokenTable> table = TokenTable::ReadFile(token_file_);
  if (!table.ok()) return table.status();
  auto shared = std::make_shared<const TokenTable>(*std::move(table));
  absl::MutexLock lock(&mutex_);
  table_ = std::move(shared);
  return absl::OkStatus();
}

size_t TokenAuthenticator::token_count() const {
  absl::MutexLock lock(&mutex_);
  return table_->size();
}

std::optional<Principal> TokenAuthenticator::Identify(
    absl::string_view authorization) const {
  std::shared_ptr<const TokenTable> table;
  {
    absl::MutexLock lock(&mutex_);
    table = table_;
  }
  const Principal* principal = table->Find(BearerToken(authorization));
  if (principal == nullptr) return std::nullopt;
  return *principal;
}

grpc::Status TokenAuthenticator::Refuse(grpc::StatusCode code,
                                        absl::string_view method_label,
                                        absl::string_view reason,
                                        std::string message) {
  refused_
      ->Add({{"method", std::string(method_label)},
             {"reason", std::string(reason)}})
      .Increment();
  return grpc::Status(code, std::move(message));
}

grpc::Status TokenAuthenticator::Process(const InputMetadata& auth_metadata,
                                         grpc::AuthContext* context,
                                         OutputMetadata* consumed_auth_metadata,
                                         OutputMetadata* response_metadata) {
  const absl::string_view method = MetadataValue(auth_metadata, ":path");
  const std::optional<MethodAccess> access = AccessOf(method);
  if (!access.has_value()) {
    // Not the caller's string as a label: unbounded label values would let
    // anyone grow the metrics without limit.
    return Refuse(grpc::StatusCode::PERMISSION_DENIED, "unknown",
                  "unknown_method", "no such method on this hub");
  }
  if (access->open) return grpc::Status::OK;

  const absl::string_view header =
      MetadataValue(auth_metadata, "authorization");
  if (header.empty()) {
    return Refuse(grpc::StatusCode::UNAUTHENTICATED, method, "missing_token",
                  "missing bearer token (metadata \"authorization: Bearer "
                  "<token>\")");
  }
  if (BearerToken(header).empty()) {
    return Refuse(grpc::StatusCode::UNAUTHENTICATED, method, "unknown_token",
                  "the authorization metadata must be \"Bearer <token>\"");
  }
  // The header stays on the call (not consumed): caller.h identifies the
  // caller from it again, as the AuthContext is the connection's, not the
  // call's. Nothing logs it.
  const std::optional<Principal> principal = Identify(header);
  if (!principal.has_value()) {
    return Refuse(grpc::StatusCode::UNAUTHENTICATED, method, "unknown_token",
                  "unknown bearer token");
  }
  if (!principal->scopes.Has(access->scope)) {
    log::Warning("%s called %s without scope %s", principal->name, method,
                 ScopeName(access->scope));
    return Refuse(grpc::StatusCode::PERMISSION_DENIED, method, "missing_scope",
                  absl::StrCat("principal ", principal->name, " lacks scope ",
                               ScopeName(access->scope), " for ", method));
  }
  return grpc::Status::OK;
}

}  // namespace omnihub::auth

#include "common/auth/caller.h"

#include <optional>

#include "absl/synchronization/mutex.h"
#include "common/auth/token_authenticator.h"

namespace omnihub::auth {
namespace {

struct Installed {
  absl::Mutex mutex;
  std::shared_ptr<const TokenAuthenticator> tokens ABSL_GUARDED_BY(mutex);
};

Installed& Current() {
  static Installed* installed = new Installed;
  return *installed;
}

std::shared_ptr<const TokenAuthenticator> CurrentTokens() {
  Installed& installed = Current();
  absl::MutexLock lock(&installed.mutex);
  return installed.tokens;
}

// nullopt (no principal) also when the token was revoked since the call
// was let in: such a caller is trusted with nothing more.
std::optional<Principal> Identify(const TokenAuthenticator& tokens,
                                  const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto found = metadata.find("authorization");
  if (found == metadata.end()) return std::nullopt;
  return tokens.Identify(
      absl::string_view(found->second.data(), found->second.size()));
}

}  // namespace

void SetCallAuthenticator(std::shared_ptr<const TokenAuthenticator> tokens) {
  Installed& installed = Current();
  absl::MutexLock lock(&installed.mutex);
  installed.tokens = std::move(tokens);
}

std::string CallerPrincipal(const grpc::ServerContextBase& context) {
  std::shared_ptr<const TokenAuthenticator> tokens = CurrentTokens();
  if (tokens == nullptr) return "";
  std::optional<Principal> principal = Identify(*tokens, context);
  return principal.has_value() ? principal->name : "unknown (token revoked)";
}

bool CallerHasScope(const grpc::ServerContextBase& context, Scope scope) {
  std::shared_ptr<const TokenAuthenticator> tokens = CurrentTokens();
  if (tokens == nullptr) return true;
  std::optional<Principal> principal = Identify(*tokens, context);
  return principal.has_value() && principal->scopes.Has(scope);
}

}  // namespace omnihub::auth

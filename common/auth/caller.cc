#include "common/auth/caller.h"

#include <vector>

namespace omnihub::auth {

std::string CallerPrincipal(const grpc::AuthContext* context) {
  if (context == nullptr) return "";
  const std::vector<grpc::string_ref> names =
      context->FindPropertyValues(kPrincipalProperty);
  if (names.empty()) return "";
  return std::string(names.front().data(), names.front().size());
}

std::string CallerPrincipal(const grpc::ServerContextBase& context) {
  return CallerPrincipal(context.auth_context().get());
}

bool CallerHasScope(const grpc::AuthContext* context, Scope scope) {
  // The authenticator puts a principal on every call it lets through; a
  // call without one reached a hub that checks no tokens.
  if (context == nullptr ||
      context->FindPropertyValues(kPrincipalProperty).empty()) {
    return true;
  }
  for (const grpc::string_ref& value :
       context->FindPropertyValues(kScopeProperty)) {
    if (absl::string_view(value.data(), value.size()) == ScopeName(scope)) {
      return true;
    }
  }
  return false;
}

bool CallerHasScope(const grpc::ServerContextBase& context, Scope scope) {
  return CallerHasScope(context.auth_context().get(), scope);
}

}  // namespace omnihub::auth

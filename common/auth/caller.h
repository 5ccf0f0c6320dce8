// Who is calling, as the token authenticator established it: for audit logs
// and records, and for decisions a scope alone does not make (whether an
// event's identities may be taken as verified).
//
//   void CustomerService::ForgetCustomer(grpc::CallbackServerContext* ctx, ...)
//     log::Info("erasure by %s", CallerPrincipal(*ctx));
//     ingester.Ingest(events, /*caller_may_verify=*/MayAssertVerified(*ctx));
#ifndef OMNIHUB_COMMON_AUTH_CALLER_H_
#define OMNIHUB_COMMON_AUTH_CALLER_H_

#include <string>

#include "common/auth/scopes.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server_context.h"

namespace omnihub::auth {

// AuthContext properties the authenticator adds to an accepted call.
inline constexpr char kPrincipalProperty[] = "omnihub.principal";
inline constexpr char kScopeProperty[] = "omnihub.scope";

// The token's principal; "" when the hub runs without tokens (loopback
// only, every caller trusted).
std::string CallerPrincipal(const grpc::ServerContextBase& context);
std::string CallerPrincipal(const grpc::AuthContext* context);

// Whether the caller holds `scope`. Without tokens (no principal on the
// call) every caller holds every scope.
bool CallerHasScope(const grpc::ServerContextBase& context, Scope scope);
bool CallerHasScope(const grpc::AuthContext* context, Scope scope);

// Whether the hub may take the identities of the caller's events as
// verified (scope ingest-verified); true without tokens.
inline bool MayAssertVerified(const grpc::ServerContextBase& context) {
  return CallerHasScope(context, Scope::kIngestVerified);
}

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_CALLER_H_

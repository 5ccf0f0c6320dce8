// Who is calling, for audit logs and records, and for decisions a method's
// scope alone does not make (whether an event's identities may be taken as
// verified). Answered from the call's bearer token by the authenticator the
// server uses (MakeServerSecurity installs it); a hub without tokens has
// none, and then every caller is trusted with everything (it serves
// loopback only).
//
//   void CustomerService::ForgetCustomer(grpc::CallbackServerContext* ctx, ...)
//     log::Info("erasure by %s", CallerPrincipal(*ctx));
//     ingester.Ingest(events, /*caller_may_verify=*/MayAssertVerified(*ctx));
#ifndef OMNIHUB_COMMON_AUTH_CALLER_H_
#define OMNIHUB_COMMON_AUTH_CALLER_H_

#include <memory>
#include <string>

#include "common/auth/scopes.h"
#include "grpcpp/server_context.h"

namespace omnihub::auth {

class TokenAuthenticator;

// The authenticator of this process's gRPC server; null: tokens off.
void SetCallAuthenticator(std::shared_ptr<const TokenAuthenticator> tokens);

// The token's principal; "" when the hub checks no tokens.
std::string CallerPrincipal(const grpc::ServerContextBase& context);

// Whether the caller's token holds `scope`; true when the hub checks no
// tokens.
bool CallerHasScope(const grpc::ServerContextBase& context, Scope scope);

// Whether the hub may take the identities of the caller's events as
// verified: its token has scope ingest-verified (or the hub checks no
// tokens).
inline bool MayAssertVerified(const grpc::ServerContextBase& context) {
  return CallerHasScope(context, Scope::kIngestVerified);
}

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_CALLER_H_

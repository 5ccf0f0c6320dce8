// The one place that says which scope each gRPC method needs. Every method of
// every service in proto/ must be listed (method_scopes_test checks it
// against the compiled descriptors), so a new RPC cannot be served without
// someone deciding who may call it; a method not listed is refused.
//
//   std::optional<MethodAccess> access =
//       AccessOf("/omnihub.v1.CustomerService/ForgetCustomer");
//   // access->scope == Scope::kPrivacy
#ifndef OMNIHUB_COMMON_AUTH_METHOD_SCOPES_H_
#define OMNIHUB_COMMON_AUTH_METHOD_SCOPES_H_

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/auth/scopes.h"

namespace omnihub::auth {

struct MethodAccess {
  // Health checks and reflection: answered without a token, so probes and
  // tools work; they reveal no customer data.
  bool open = false;
  Scope scope = Scope::kRead;  // when not open
};

// `method` as gRPC names it on the wire: "/package.Service/Method".
// nullopt: not a method omnihub serves (refused).
std::optional<MethodAccess> AccessOf(absl::string_view method);

// Every entry, for tests and documentation.
const std::vector<std::pair<absl::string_view, MethodAccess>>& MethodTable();

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_METHOD_SCOPES_H_

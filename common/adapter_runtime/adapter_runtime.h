// What every channel adapter executable does around its own routes: flags
// (with OMNIHUB_* environment equivalents), the durable spool, the publisher
// to the hub, the HTTP intake, and a graceful stop on SIGTERM/SIGINT that
// lets in-flight requests finish and tries to flush the spool. SIGHUP
// re-reads --api_keys_file, then runs what the routes registered with
// OnReload (their own secret files).
//
//   int main(int argc, char** argv) {
//     return RunAdapter(argc, argv, {.name = "phone", .default_port = 8081,
//     ...},
//                       [](HttpIntake& intake, const IdentityNormalizer& n) {
//                         RegisterPhoneRoutes(intake, &n, {});
//                       });
//   }
#ifndef OMNIHUB_COMMON_ADAPTER_RUNTIME_ADAPTER_RUNTIME_H_
#define OMNIHUB_COMMON_ADAPTER_RUNTIME_ADAPTER_RUNTIME_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/http_intake/http_intake.h"
#include "common/identity/identity_normalizer.h"

namespace omnihub::adapter {

struct AdapterDescription {
  std::string name;   // "phone": names the spool folder and metrics labels
  int default_port;   // when --listen is not given
  std::string usage;  // first lines of --help
  // Whether its routes require --api_keys_file's keys (phone, visit; the
  // web adapter has write keys of its own).
  bool takes_api_keys = false;
};

// Registers the adapter's routes from its flags; an error (a flag that
// makes no sense) stops the adapter before it listens, with exit code 2.
using RouteRegistrar = std::function<absl::Status(
    http_intake::HttpIntake&, const identity::IdentityNormalizer&)>;

// --max_json_depth, for the routes' JSON parsers; read it in the registrar
// (the flags are parsed by then).
size_t MaxJsonDepth();

// Runs `reload` on every SIGHUP, after the API keys are re-read; call it from
// the registrar. `reload` keeps what is in use when a file no longer reads
// (and logs why).
void OnReload(std::function<void()> reload);

// Parses flags, runs until SIGTERM/SIGINT, returns the exit code.
int RunAdapter(int argc, char** argv, const AdapterDescription& description,
               const RouteRegistrar& register_routes);

}  // namespace omnihub::adapter

#endif  // OMNIHUB_COMMON_ADAPTER_RUNTIME_ADAPTER_RUNTIME_H_

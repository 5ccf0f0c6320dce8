// Command-line flags with environment-variable equivalents, for containers.
//
// Every flag --some_name can also be set as OMNIHUB_SOME_NAME; a flag given on
// the command line wins over the environment.
//
//   ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "...");
//   int main(int argc, char** argv) {
//     omnihub::config::ParseFlags(argc, argv, "Runs the timeline service.");
//   }
#ifndef OMNIHUB_COMMON_CONFIG_ENV_FLAGS_H_
#define OMNIHUB_COMMON_CONFIG_ENV_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace omnihub::config {

// The environment variable that sets flag `flag_name`: "OMNIHUB_" + upper case.
std::string EnvironmentVariableFor(absl::string_view flag_name);

// Sets every registered flag whose environment variable is present. Returns
// INVALID_ARGUMENT naming the variable when a value does not parse.
absl::Status ApplyEnvironment();

// Sets the usage text (listing only omnihub's own flags under --help), applies
// the environment, then parses argv; also turns off absl::Mutex deadlock
// detection, which costs the services CPU on every lock. Exits with a message
// on bad input, like absl::ParseCommandLine. Returns the positional arguments.
std::vector<char*> ParseFlags(int argc, char** argv, absl::string_view usage);

}  // namespace omnihub::config

#endif  // OMNIHUB_COMMON_CONFIG_ENV_FLAGS_H_

// Secrets (passwords, auth tokens) are read from files, never taken as a
// command-line value, which any user of the machine sees in `ps`.
//
//   absl::StatusOr<std::string> token =
//       ReadSecretFile("twilio_auth_token_file", path);
#ifndef OMNIHUB_COMMON_CONFIG_SECRET_FILE_H_
#define OMNIHUB_COMMON_CONFIG_SECRET_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::config {

// The file's content without surrounding white space (an editor's final
// newline is not part of the secret). INVALID_ARGUMENT naming --`flag` when
// the file cannot be read or holds nothing.
absl::StatusOr<std::string> ReadSecretFile(absl::string_view flag,
                                           const std::string& path);

}  // namespace omnihub::config

#endif  // OMNIHUB_COMMON_CONFIG_SECRET_FILE_H_

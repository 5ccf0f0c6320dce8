// Checks PEM files with OpenSSL before gRPC is handed their paths: gRPC reads
// them in the background and would only fail each handshake, so a typo in a
// path or a key that does not match its certificate is reported at start.
#ifndef OMNIHUB_COMMON_AUTH_PEM_FILES_H_
#define OMNIHUB_COMMON_AUTH_PEM_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace omnihub::auth {

// The file's text, or an error naming `flag` and what is wrong.
absl::StatusOr<std::string> ReadCertificates(const std::string& flag,
                                             const std::string& path);
// The key's text; INVALID_ARGUMENT when it is not the certificate's key.
absl::StatusOr<std::string> ReadKeyFor(const std::string& flag,
                                       const std::string& path,
                                       const std::string& certificate_pem);

// A small secret file (a token): its text without surrounding whitespace.
absl::StatusOr<std::string> ReadSecretFile(const std::string& flag,
                                           const std::string& path);

}  // namespace omnihub::auth

#endif  // OMNIHUB_COMMON_AUTH_PEM_FILES_H_

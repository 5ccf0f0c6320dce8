#include "common/redis/redis_credentials.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/config/secret_file.h"

namespace omnihub::redis {

absl::StatusOr<RedisCredentials> RedisCredentialsFrom(
    std::string user, const std::string& password_file) {
  RedisCredentials credentials{std::move(user), ""};
  const char* variable = std::getenv(kRedisPasswordVariable);
  if (!password_file.empty()) {
    if (variable != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis_password_file and ", kRedisPasswordVariable,
                       " are both set; give the password one way"));
    }
    absl::StatusOr<std::string> password =
        config::ReadSecretFile("redis_password_file", password_file);
    if (!password.ok()) return password.status();
    credentials.password = *std::move(password);
  } else if (variable != nullptr) {
    credentials.password = variable;
  }
  if (!credentials.user.empty() && credentials.password.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--redis_user: \"", credentials.user,
                     "\" needs a password (--redis_password_file or ",
                     kRedisPasswordVariable, ")"));
  }
  return credentials;
}

}  // namespace omnihub::redis

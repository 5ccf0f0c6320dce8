// Who omnihub is to Redis: an ACL user (Redis 6 and later; empty for the
// default user) and its password, sent as AUTH on every connection. The
// password comes from a file or the environment, never from a command-line
// value, which any user of the machine sees in `ps`.
//
//   absl::StatusOr<RedisCredentials> credentials =
//       RedisCredentialsFrom(absl::GetFlag(FLAGS_redis_user),
//                            absl::GetFlag(FLAGS_redis_password_file));
#ifndef OMNIHUB_COMMON_REDIS_REDIS_CREDENTIALS_H_
#define OMNIHUB_COMMON_REDIS_REDIS_CREDENTIALS_H_

#include <string>

#include "absl/status/statusor.h"

namespace omnihub::redis {

// Holds the password when --redis_password_file is not given.
inline constexpr char kRedisPasswordVariable[] = "OMNIHUB_REDIS_PASSWORD";

struct RedisCredentials {
  std::string user;      // empty: AUTH <password>, the default user
  std::string password;  // empty: no AUTH
};

// `user` as given; the password read from `password_file` when it is not
// empty, else from $OMNIHUB_REDIS_PASSWORD. INVALID_ARGUMENT naming the flag
// for a file that cannot be read, for both a file and the variable, and for
// a user without a password.
absl::StatusOr<RedisCredentials> RedisCredentialsFrom(
    std::string user, const std::string& password_file);

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_REDIS_CREDENTIALS_H_

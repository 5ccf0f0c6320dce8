// A Lua script run by SHA: sent as EVALSHA, and as EVAL (which also loads it)
// when Redis answers NOSCRIPT, e.g. after a restart or SCRIPT FLUSH.
//
//   const RedisScript script(std::string(kIngestEventLua));
//   script.Run(client, {key}, {arg}, [](absl::StatusOr<Reply> reply) {...});
#ifndef OMNIHUB_COMMON_REDIS_REDIS_SCRIPT_H_
#define OMNIHUB_COMMON_REDIS_REDIS_SCRIPT_H_

#include <string>
#include <vector>

#include "common/redis/redis_client.h"

namespace omnihub::redis {

class RedisScript {
 public:
  explicit RedisScript(std::string source);

  const std::string& source() const { return source_; }
  // Lower-case hex SHA-1 of the source, as Redis names scripts.
  const std::string& sha1() const { return sha1_; }

  // Both the script and `client` must outlive `done`: the NOSCRIPT retry
  // needs them. Scripts are meant to be built once, at start-up.
  void Run(RedisClient& client, std::vector<std::string> keys,
           std::vector<std::string> args, ReplyCallback done) const;

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_REDIS_SCRIPT_H_

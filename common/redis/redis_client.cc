#include "common/redis/redis_client.h"

#include <utility>

#include "absl/status/status.h"

namespace omnihub::redis {

void RedisClient::ExecuteAll(std::vector<std::vector<std::string>> commands,
                             std::vector<ReplyCallback> done) {
  if (commands.size() != done.size()) {
    for (ReplyCallback& callback : done) {
      std::move(callback)(absl::InvalidArgumentError(
          "ExecuteAll needs one callback per command"));
    }
    return;
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    Execute(std::move(commands[i]), std::move(done[i]));
  }
}

}  // namespace omnihub::redis

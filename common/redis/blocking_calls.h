// Blocking calls over the asynchronous RedisClient, for the rare multi-step
// operations (merging customers, erasing one, exporting one) that run on
// threads of their own: never call these on a Redis client thread or inside a
// gRPC reactor, which must not block. Each checks the thread's call scope
// (call_scope.h) first: once the call is cancelled or past its deadline it
// sends nothing and answers CANCELLED or DEADLINE_EXCEEDED, so a long
// operation stops between steps.
//
//   absl::StatusOr<Reply> reply = CallAndWait(client, {"SMEMBERS", key});
//   std::vector<absl::StatusOr<Reply>> replies = CallAllAndWait(client, {...});
#ifndef OMNIHUB_COMMON_REDIS_BLOCKING_CALLS_H_
#define OMNIHUB_COMMON_REDIS_BLOCKING_CALLS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_script.h"
#include "common/redis/reply_gatherer.h"

namespace omnihub::redis {

absl::StatusOr<Reply> CallAndWait(RedisClient& client,
                                  std::vector<std::string> argv);

absl::StatusOr<Reply> RunAndWait(RedisClient& client, const RedisScript& script,
                                 std::vector<std::string> keys,
                                 std::vector<std::string> args);

// Sends every command at once, so they share round trips, and waits for all
// the replies, in the commands' order.
Replies CallAllAndWait(RedisClient& client,
                       std::vector<std::vector<std::string>> commands);

struct ScriptCall {
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

// Runs the script once per call, all at once, and waits for every reply.
Replies RunAllAndWait(RedisClient& client, const RedisScript& script,
                      std::vector<ScriptCall> calls);

// The same without waiting: the calls are sent, and Wait() gives their
// replies once they are all in. Lets a caller work on one batch while Redis
// works on the next.
class PendingReplies {
 public:
  Replies Wait();

  // Where the replies are handed over; shared with the callbacks, so a
  // PendingReplies dropped unwaited leaves nothing dangling.
  struct Handover;

 private:
  friend PendingReplies RunAll(RedisClient& client, const RedisScript& script,
                               std::vector<ScriptCall> calls);
  friend PendingReplies CallAll(RedisClient& client,
                                std::vector<std::vector<std::string>> commands);
  std::shared_ptr<Handover> handover_;
};
PendingReplies RunAll(RedisClient& client, const RedisScript& script,
                      std::vector<ScriptCall> calls);
PendingReplies CallAll(RedisClient& client,
                       std::vector<std::vector<std::string>> commands);

// An error reply becomes a status (INTERNAL naming `what`, or UNAVAILABLE for
// the replies Redis gives while it cannot serve: OOM at maxmemory, LOADING,
// BUSY, MASTERDOWN, READONLY, TRYAGAIN); other replies pass through.
absl::StatusOr<Reply> ErrorReplyAsStatus(absl::StatusOr<Reply> reply,
                                         absl::string_view what);

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_BLOCKING_CALLS_H_

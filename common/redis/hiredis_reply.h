// Turns what hiredis parses into omnihub's Reply value, which owns its data
// and can cross threads: the reader builds each reply as a Reply directly,
// so there is no hiredis reply tree to copy and free.
//
//   redis::BuildRepliesAsValues(context->reader);  // right after connecting
//   void* raw = nullptr;
//   redisGetReply(context, &raw);
//   redis::Reply reply = redis::TakeBuiltReply(raw);
//
//   // Or one command, waiting for its reply:
//   auto pong = redis::CommandAndWait(context, {"PING"});
#ifndef OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_
#define OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_

#include <hiredis/hiredis.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/redis_client.h"

namespace omnihub::redis {

// From now on `reader` builds each reply as a Reply (what redisGetReply or
// redisReaderGetReply gives is then one, to pass to TakeBuiltReply, never
// to freeReplyObject).
void BuildRepliesAsValues(redisReader* reader);

// A reply from a reader set up by BuildRepliesAsValues, which this frees.
Reply TakeBuiltReply(void* built);

// Sends `argv` on a blocking context set up by BuildRepliesAsValues and
// waits for its reply (an error reply is a Reply of kError); UNAVAILABLE
// with hiredis's message when the connection failed.
absl::StatusOr<Reply> CommandAndWait(redisContext* context,
                                     const std::vector<std::string>& argv);

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_

// Turns what hiredis parses into omnihub's Reply value, which owns its data
// and can cross threads. Two ways:
//
//   // A context whose replies are built as Reply values directly (the
//   // client's connections: no hiredis reply tree to copy and free).
//   redis::BuildRepliesAsValues(context->reader);
//   void* raw = nullptr;
//   redisGetReply(context, &raw);
//   redis::Reply reply = redis::TakeBuiltReply(raw);
//
//   // A context left as hiredis made it.
//   redis::Reply reply = redis::FromHiredis(*raw);
//   freeReplyObject(raw);
#ifndef OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_
#define OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_

#include <hiredis/hiredis.h>

#include "common/redis/redis_client.h"

namespace omnihub::redis {

Reply FromHiredis(const redisReply& raw);

// From now on `reader` builds each reply as a Reply (what redisGetReply or
// redisReaderGetReply gives is then one, to pass to TakeBuiltReply, never
// to freeReplyObject).
void BuildRepliesAsValues(redisReader* reader);

// A reply from a reader set up by BuildRepliesAsValues, which this frees.
Reply TakeBuiltReply(void* built);

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_

// Copies a hiredis reply into omnihub's Reply value, which owns its data and
// can cross threads.
//
//   redis::Reply reply = redis::FromHiredis(*raw);
//   freeReplyObject(raw);
#ifndef OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_
#define OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_

#include <hiredis/hiredis.h>

#include "common/redis/redis_client.h"

namespace omnihub::redis {

Reply FromHiredis(const redisReply& raw);

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_HIREDIS_REPLY_H_

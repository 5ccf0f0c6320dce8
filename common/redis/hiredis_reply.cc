#include "common/redis/hiredis_reply.h"

#include <memory>
#include <utility>

namespace omnihub::redis {
namespace {

// The Reply a read task fills: a new top-level one, or the element its
// parent array (pre-sized, so element addresses stay put) holds for it.
Reply* ReplyOf(const redisReadTask* task) {
  if (task->parent == nullptr) return new Reply();
  auto* parent = static_cast<Reply*>(task->parent->obj);
  return &parent->elements[static_cast<size_t>(task->idx)];
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  Reply* reply = ReplyOf(task);
  switch (task->type) {
    case REDIS_REPLY_STATUS:
      reply->type = Reply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      reply->type = Reply::Type::kError;
      break;
    default:
      reply->type = Reply::Type::kString;
      break;
  }
  reply->str.assign(str, len);
  return reply;
}

void* CreateArray(const redisReadTask* task, int elements) {
  Reply* reply = ReplyOf(task);
  reply->type = Reply::Type::kArray;
  reply->elements.resize(static_cast<size_t>(elements));
  return reply;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  Reply* reply = ReplyOf(task);
  reply->type = Reply::Type::kInteger;
  reply->integer = value;
  return reply;
}

void* CreateNil(const redisReadTask* task) { return ReplyOf(task); }

// hiredis frees only top-level replies this way; elements belong to them.
void FreeReply(void* reply) { delete static_cast<Reply*>(reply); }

// In hiredis 0.14's order (1.x adds members and would not compile here).
redisReplyObjectFunctions kReplyValueFunctions = {
    CreateString, CreateArray, CreateInteger, CreateNil, FreeReply};

}  // namespace

void BuildRepliesAsValues(redisReader* reader) {
  reader->fn = &kReplyValueFunctions;
}

Reply TakeBuiltReply(void* built) {
  std::unique_ptr<Reply> reply(static_cast<Reply*>(built));
  return std::move(*reply);
}

absl::StatusOr<Reply> CommandAndWait(redisContext* context,
                                     const std::vector<std::string>& argv) {
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
  pointers.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const std::string& arg : argv) {
    pointers.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  void* built = redisCommandArgv(context, static_cast<int>(argv.size()),
                                 pointers.data(), lengths.data());
  if (built == nullptr) return absl::UnavailableError(context->errstr);
  return TakeBuiltReply(built);
}

}  // namespace omnihub::redis

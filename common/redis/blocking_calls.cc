#include "common/redis/blocking_calls.h"

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/call_scope.h"
#include "common/redis/reply_gatherer.h"

namespace omnihub::redis {

// Waits for what a gatherer hands over.
struct PendingReplies::Handover {
  absl::Mutex mutex;
  bool ready ABSL_GUARDED_BY(mutex) = false;
  Replies replies ABSL_GUARDED_BY(mutex);

  void Receive(Replies all) {
    absl::MutexLock lock(&mutex);
    replies = std::move(all);
    ready = true;
  }
  Replies Wait() {
    absl::MutexLock lock(&mutex);
    mutex.Await(absl::Condition(&ready));
    return std::move(replies);
  }
};

namespace {
using Handover = PendingReplies::Handover;
}  // namespace

Replies PendingReplies::Wait() { return handover_->Wait(); }

PendingReplies CallAll(RedisClient& client,
                       std::vector<std::vector<std::string>> commands) {
  PendingReplies pending;
  pending.handover_ = std::make_shared<Handover>();
  ExecuteGathered(client, std::move(commands),
                  [handover = pending.handover_](Replies all) {
                    handover->Receive(std::move(all));
                  });
  return pending;
}

Replies CallAllAndWait(RedisClient& client,
                       std::vector<std::vector<std::string>> commands) {
  if (absl::Status wanted = CurrentCallStatus(); !wanted.ok()) {
    return Replies(commands.size(), wanted);
  }
  return CallAll(client, std::move(commands)).Wait();
}

absl::StatusOr<Reply> CallAndWait(RedisClient& client,
                                  std::vector<std::string> argv) {
  // Between the steps of a long operation: stop once its caller has gone.
  if (absl::Status wanted = CurrentCallStatus(); !wanted.ok()) return wanted;
  std::vector<std::vector<std::string>> commands;
  commands.push_back(std::move(argv));
  return std::move(CallAllAndWait(client, std::move(commands))[0]);
}

PendingReplies RunAll(RedisClient& client, const RedisScript& script,
                      std::vector<ScriptCall> calls) {
  PendingReplies pending;
  pending.handover_ = std::make_shared<Handover>();
  auto gatherer = ReplyGatherer::Create(
      calls.size(), [handover = pending.handover_](Replies all) {
        handover->Receive(std::move(all));
      });
  for (size_t i = 0; i < calls.size(); ++i) {
    script.Run(client, std::move(calls[i].keys), std::move(calls[i].args),
               gatherer->Slot(i));
  }
  gatherer->StartIfEmpty();
  return pending;
}

Replies RunAllAndWait(RedisClient& client, const RedisScript& script,
                      std::vector<ScriptCall> calls) {
  if (absl::Status wanted = CurrentCallStatus(); !wanted.ok()) {
    return Replies(calls.size(), wanted);
  }
  return RunAll(client, script, std::move(calls)).Wait();
}

absl::StatusOr<Reply> RunAndWait(RedisClient& client, const RedisScript& script,
                                 std::vector<std::string> keys,
                                 std::vector<std::string> args) {
  std::vector<ScriptCall> calls;
  calls.push_back({.keys = std::move(keys), .args = std::move(args)});
  return std::move(RunAllAndWait(client, script, std::move(calls))[0]);
}

absl::StatusOr<Reply> ErrorReplyAsStatus(absl::StatusOr<Reply> reply,
                                         absl::string_view what) {
  if (!reply.ok() || !reply->is_error()) return reply;
  // noeviction at maxmemory: Redis refuses writes until memory is freed or
  // maxmemory raised; the write did not happen, so sending it again later
  // is safe. A script's write refused so may come back wrapped in its
  // error, hence the search for the message.
  if (absl::StartsWith(reply->str, "OOM") ||
      absl::StrContains(reply->str, "OOM command not allowed")) {
    return absl::UnavailableError(
        absl::StrCat("Redis is full (maxmemory reached) and refused ", what,
                     "; nothing was written, send again later: ", reply->str));
  }
  for (absl::string_view transient :
       {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN"}) {
    if (absl::StartsWith(reply->str, transient)) {
      return absl::UnavailableError(
          absl::StrCat("Redis cannot serve ", what, " now: ", reply->str));
    }
  }
  return absl::InternalError(
      absl::StrCat("Redis refused ", what, ": ", reply->str));
}

}  // namespace omnihub::redis

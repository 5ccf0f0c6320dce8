// Gathers the replies of commands sent together (so they share round trips)
// and hands them over at once, in the commands' order, when the last one
// arrives.
//
//   auto gatherer = ReplyGatherer::Create(2, [](std::vector<...> replies) {});
//   client.Execute({"GET", a}, gatherer->Slot(0));
//   client.Execute({"GET", b}, gatherer->Slot(1));
#ifndef OMNIHUB_COMMON_REDIS_REPLY_GATHERER_H_
#define OMNIHUB_COMMON_REDIS_REPLY_GATHERER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/redis_client.h"

namespace omnihub::redis {

using Replies = std::vector<absl::StatusOr<Reply>>;

class ReplyGatherer : public std::enable_shared_from_this<ReplyGatherer> {
 public:
  // `then` runs once, on the thread of the last reply; with n == 0, from
  // StartIfEmpty().
  static std::shared_ptr<ReplyGatherer> Create(
      size_t n, absl::AnyInvocable<void(Replies) &&> then);

  // The callback for the i-th command; each i exactly once.
  ReplyCallback Slot(size_t i);

  // For n == 0: runs `then` with no replies. Does nothing otherwise.
  void StartIfEmpty();

 private:
  ReplyGatherer(size_t n, absl::AnyInvocable<void(Replies) &&> then);

  const size_t expected_;
  absl::Mutex mutex_;
  Replies replies_ ABSL_GUARDED_BY(mutex_);
  size_t remaining_ ABSL_GUARDED_BY(mutex_);
  absl::AnyInvocable<void(Replies) &&> then_;
};

// Sends the commands together (RedisClient::ExecuteAll: one queueing, on
// one connection) and hands every reply over to `then`, in the commands'
// order, on the thread of the last reply (at once when there are none).
void ExecuteGathered(RedisClient& client,
                     std::vector<std::vector<std::string>> commands,
                     absl::AnyInvocable<void(Replies) &&> then);

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_REPLY_GATHERER_H_

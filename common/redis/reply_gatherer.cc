#include "common/redis/reply_gatherer.h"

namespace omnihub::redis {

std::shared_ptr<ReplyGatherer> ReplyGatherer::Create(
    size_t n, absl::AnyInvocable<void(Replies) &&> then) {
  return std::shared_ptr<ReplyGatherer>(new ReplyGatherer(n, std::move(then)));
}

ReplyGatherer::ReplyGatherer(size_t n,
                             absl::AnyInvocable<void(Replies) &&> then)
    : expected_(n),
      replies_(n, absl::UnknownError("no reply")),
      remaining_(n),
      then_(std::move(then)) {}

ReplyCallback ReplyGatherer::Slot(size_t i) {
  return [self = shared_from_this(), i](absl::StatusOr<Reply> reply) {
    Replies all;
    {
      absl::MutexLock lock(&self->mutex_);
      self->replies_[i] = std::move(reply);
      if (--self->remaining_ != 0) return;
      all = std::move(self->replies_);
    }
    std::move(self->then_)(std::move(all));
  };
}

void ReplyGatherer::StartIfEmpty() {
  if (expected_ != 0) return;
  std::move(then_)(Replies());
}

void ExecuteGathered(RedisClient& client,
                     std::vector<std::vector<std::string>> commands,
                     absl::AnyInvocable<void(Replies) &&> then) {
  auto gatherer = ReplyGatherer::Create(commands.size(), std::move(then));
  std::vector<ReplyCallback> slots;
  slots.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    slots.push_back(gatherer->Slot(i));
  }
  client.ExecuteAll(std::move(commands), std::move(slots));
  gatherer->StartIfEmpty();
}

}  // namespace omnihub::redis

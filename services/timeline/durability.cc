#include "services/timeline/durability.h"

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"

namespace omnihub::timeline {
namespace {

// The value of `parameter` in a CONFIG GET reply (a flat name, value list).
absl::StatusOr<std::string> ConfigValue(redis::RedisClient& client,
                                        const std::string& parameter) {
  absl::StatusOr<redis::Reply> reply =
      redis::CallAndWait(client, {"CONFIG", "GET", parameter});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) {
    return absl::UnavailableError(
        absl::StrCat("Redis refused CONFIG GET ", parameter, ": ", reply->str));
  }
  if (reply->elements.size() != 2) {
    return absl::UnavailableError(
        absl::StrCat("Redis has no setting ", parameter));
  }
  return absl::AsciiStrToLower(reply->elements[1].str);
}

}  // namespace

absl::StatusOr<Durability> ParseDurability(absl::string_view text) {
  if (text == "none") return Durability::kNone;
  if (text == "fsync") return Durability::kFsync;
  if (text == "replica") return Durability::kReplica;
  return absl::InvalidArgumentError(absl::StrCat(
      "--durability must be none, fsync or replica, got \"", text, "\""));
}

absl::Status CheckRedisDurability(redis::RedisClient& client,
                                  Durability durability) {
  if (durability != Durability::kFsync) return absl::OkStatus();
  for (const auto& [parameter, wanted] :
       {std::pair<std::string, std::string>{"appendonly", "yes"},
        std::pair<std::string, std::string>{"appendfsync", "always"}}) {
    absl::StatusOr<std::string> value = ConfigValue(client, parameter);
    if (!value.ok()) return value.status();
    if (*value != wanted) {
      return absl::FailedPreconditionError(
          absl::StrCat("--durability=fsync needs Redis with ", parameter, " ",
                       wanted, ", but it has ", parameter, " ", *value,
                       " (set it in redis.conf, or CONFIG SET ", parameter, " ",
                       wanted, ")"));
    }
  }
  return absl::OkStatus();
}

ReplicaBarrier::ReplicaBarrier(redis::RedisClient* client,
                               ReplicaBarrierOptions options)
    : client_(client), options_(std::move(options)) {}

void ReplicaBarrier::Wait(absl::AnyInvocable<void(absl::Status) &&> done) {
  std::vector<Waiter> round;
  {
    absl::MutexLock lock(&mutex_);
    waiting_.push_back(std::move(done));
    if (in_flight_) return;  // the round after the one out takes it
    in_flight_ = true;
    round.swap(waiting_);
  }
  SendRound(std::move(round));
}

void ReplicaBarrier::SendRound(std::vector<Waiter> round) {
  struct Round {
    std::vector<Waiter> waiters;
    absl::Status marker;
  };
  auto state = std::make_shared<Round>();
  state->waiters = std::move(round);
  // One connection: the WAIT follows the marker, so it covers every write
  // Redis answered before the marker, whichever connection carried it.
  client_->Execute({"INCR", options_.marker_key},
                   [state](absl::StatusOr<redis::Reply> reply) {
                     reply = redis::ErrorReplyAsStatus(std::move(reply),
                                                       "the durability marker");
                     if (!reply.ok()) state->marker = reply.status();
                   });
  client_->Execute(
      {"WAIT", absl::StrCat(options_.replicas),
       absl::StrCat(absl::ToInt64Milliseconds(options_.timeout))},
      [this, state](absl::StatusOr<redis::Reply> reply) {
        reply = redis::ErrorReplyAsStatus(std::move(reply), "WAIT");
        absl::Status status = state->marker;
        if (status.ok() && !reply.ok()) status = reply.status();
        if (status.ok() && reply->integer < options_.replicas) {
          status = absl::UnavailableError(absl::StrCat(
              "only ", reply->integer, " of the ", options_.replicas,
              " Redis replicas asked for (--durability_replicas) confirmed "
              "the writes within ",
              absl::FormatDuration(options_.timeout),
              "; not acknowledged, send again"));
        }
        if (!status.ok() && !absl::IsUnavailable(status)) {
          // Whatever went wrong, the writes are not known to be replicated:
          // the sender must send again.
          status = absl::UnavailableError(status.message());
        }
        for (Waiter& waiter : state->waiters) std::move(waiter)(status);
        std::vector<Waiter> next;
        {
          absl::MutexLock lock(&mutex_);
          if (waiting_.empty()) {
            in_flight_ = false;
            return;
          }
          next.swap(waiting_);
        }
        SendRound(std::move(next));
      });
}

}  // namespace omnihub::timeline

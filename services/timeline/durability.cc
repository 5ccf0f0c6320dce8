#include "services/timeline/durability.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"
#include "common/redis_cluster/key_slot.h"

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

std::string ReplicaBarrier::MarkerKey(const redis::KeyspaceNode& node) {
  if (node.slot < 0) {
    return absl::StrCat(options_.key_prefix, "{durability}:wait");
  }
  absl::MutexLock lock(&mutex_);
  auto [it, added] = markers_.try_emplace(node.slot);
  if (added) {
    it->second = absl::StrCat(
        options_.key_prefix, "{",
        redis_cluster::HashTagInSlot("durability", node.slot), "}:wait");
  }
  return it->second;
}

void ReplicaBarrier::SendRound(std::vector<Waiter> round) {
  std::vector<redis::KeyspaceNode> nodes = client_->KeyspaceNodes();
  // A cluster master that serves no slot (any more) holds none of the
  // writes: nothing to wait for there.
  std::erase_if(nodes, [](const redis::KeyspaceNode& node) {
    return !node.name.empty() && node.slot < 0;
  });
  if (nodes.empty()) {
    client_->NodesMayHaveChanged();
    return FinishRound(
        std::move(round),
        absl::UnavailableError(
            "no Redis master known to serve every slot, so no replica can "
            "confirm the writes; not acknowledged, send again"));
  }
  struct Round {
    absl::Mutex mutex;
    std::vector<Waiter> waiters;
    size_t left = 0;
    absl::Status status;  // the first failure
  };
  auto state = std::make_shared<Round>();
  state->waiters = std::move(round);
  state->left = nodes.size();
  for (const redis::KeyspaceNode& node : nodes) {
    auto marker = std::make_shared<absl::Status>();
    // One connection per node: the WAIT follows the marker, so it covers
    // every write the node answered before the marker, whichever
    // connection carried it.
    node.client->Execute({"INCR", MarkerKey(node)},
                         [marker](absl::StatusOr<redis::Reply> reply) {
                           reply = redis::ErrorReplyAsStatus(
                               std::move(reply), "the durability marker");
                           if (!reply.ok()) *marker = reply.status();
                         });
    node.client->Execute(
        {"WAIT", absl::StrCat(options_.replicas),
         absl::StrCat(absl::ToInt64Milliseconds(options_.timeout))},
        [this, state, marker,
         name = node.name](absl::StatusOr<redis::Reply> reply) {
          reply = redis::ErrorReplyAsStatus(std::move(reply), "WAIT");
          absl::Status status = *marker;
          if (status.ok() && !reply.ok()) status = reply.status();
          if (status.ok() && reply->integer < options_.replicas) {
            status = absl::UnavailableError(absl::StrCat(
                "only ", reply->integer, " of the ", options_.replicas,
                " Redis replicas asked for (--durability_replicas) ",
                name.empty() ? "" : absl::StrCat("of master ", name, " "),
                "confirmed the writes within ",
                absl::FormatDuration(options_.timeout),
                "; not acknowledged, send again"));
          }
          std::vector<Waiter> waiters;
          absl::Status first_failure;
          {
            absl::MutexLock lock(&state->mutex);
            if (!status.ok() && state->status.ok()) state->status = status;
            if (--state->left > 0) return;
            waiters.swap(state->waiters);
            first_failure = state->status;
          }
          // A node that moved its slots or went away (a failover) is not
          // one to wait on next time.
          if (!first_failure.ok()) client_->NodesMayHaveChanged();
          FinishRound(std::move(waiters), first_failure);
        });
  }
}

void ReplicaBarrier::FinishRound(std::vector<Waiter> round,
                                 const absl::Status& status) {
  absl::Status answer = status;
  if (!answer.ok() && !absl::IsUnavailable(answer)) {
    // Whatever went wrong, the writes are not known to be replicated: the
    // sender must send again.
    answer = absl::UnavailableError(answer.message());
  }
  for (Waiter& waiter : round) std::move(waiter)(answer);
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
}

}  // namespace omnihub::timeline

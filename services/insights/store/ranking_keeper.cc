#include "services/insights/store/ranking_keeper.h"

#include <cmath>
#include <memory>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/reply_gatherer.h"

namespace omnihub::insights {
namespace {

using redis::Reply;

// Rounds lost to concurrent purchases before giving up (the sender's retry
// finishes the job).
constexpr int kMaxAttempts = 8;

// One refresh of one customer; see RankingKeeper.
class RankingRefresh : public std::enable_shared_from_this<RankingRefresh> {
 public:
  RankingRefresh(const RankingKeeper* keeper, std::string customer_id,
                 absl::AnyInvocable<void(absl::Status) &&> done)
      : keeper_(keeper),
        customer_id_(std::move(customer_id)),
        done_(std::move(done)) {}

  void Start() {
    if (++attempts_ > kMaxAttempts) {
      return Finish(absl::AbortedError(absl::StrCat(
          "customer ", customer_id_,
          ": its purchases kept changing while its rankings were written; "
          "try again")));
    }
    const timeline::CustomerKeys keys =
        keeper_->context().keys.ForCustomer(customer_id_);
    keeper_->scripts().read_ranking.Run(
        *keeper_->context().redis,
        {keys.view, keeper_->keys().RankedIn(customer_id_), keys.aliases}, {},
        [self = shared_from_this()](absl::StatusOr<Reply> reply) {
          self->OnRead(std::move(reply));
        });
  }

 private:
  void OnRead(absl::StatusOr<Reply> reply) {
    reply =
        redis::ErrorReplyAsStatus(std::move(reply), "a customer's rankings");
    if (!reply.ok()) return Finish(reply.status());
    if (reply->type != Reply::Type::kArray || reply->elements.size() != 3) {
      return Finish(
          absl::InternalError("a customer's rankings: unexpected reply"));
    }
    absl::StatusOr<CustomerRead> read =
        ParseCustomerRead(std::move(reply->elements[0]));
    if (!read.ok()) return Finish(read.status());
    std::set<std::string> ranked = written_;
    int64_t aliases_handled = 0;
    const std::vector<Reply>& rk = reply->elements[1].elements;
    for (size_t i = 0; i + 1 < rk.size(); i += 2) {
      if (rk[i].str == "na") {
        absl::SimpleAtoi(rk[i + 1].str, &aliases_handled);
      } else {
        ranked.insert(rk[i].str);
      }
    }
    if (!read->record.has_value()) return RemoveGone(ranked);

    const InsightsKeys& keys = keeper_->keys();
    const std::string rk_key = keys.RankedIn(customer_id_);
    const std::vector<RankingEntry> entries = RankingEntriesOf(
        *read->record, DayOf(keeper_->context().options.clock()),
        *keeper_->model().Get(), keeper_->value());
    std::set<std::string> wanted;
    std::vector<std::string> add = {"HSET", rk_key};
    std::vector<std::vector<std::string>> writes;
    for (const RankingEntry& entry : entries) {
      wanted.insert(entry.field);
      written_.insert(entry.field);
      if (!ranked.contains(entry.field)) {
        add.push_back(entry.field);
        add.push_back("1");
      }
      writes.push_back({"ZADD",
                        keys.RankingShardOfField(entry.field, customer_id_),
                        absl::StrCat(entry.micros), customer_id_});
    }
    std::vector<std::string> after = {"HDEL", rk_key};
    for (const std::string& field : ranked) {
      if (wanted.contains(field)) continue;
      writes.push_back({"ZREM", keys.RankingShardOfField(field, customer_id_),
                        customer_id_});
      after.push_back(field);
    }
    std::vector<std::vector<std::string>> last;
    if (after.size() > 2) last.push_back(std::move(after));
    const std::vector<Reply>& aliases = reply->elements[2].elements;
    std::vector<std::string> merged;
    if (static_cast<int64_t>(aliases.size()) != aliases_handled) {
      for (const Reply& alias : aliases) merged.push_back(alias.str);
      last.push_back({"HSET", rk_key, "na", absl::StrCat(aliases.size())});
    }
    std::vector<std::vector<std::string>> first;
    if (add.size() > 2) first.push_back(std::move(add));
    redis::RedisClient& redis = *keeper_->context().redis;
    // The rankings named in "rk" first: a refresh that stops half way
    // leaves the customer listed where it may be, never the reverse.
    ExecuteAll(redis, std::move(first),
               [self = shared_from_this(), writes = std::move(writes),
                merged = std::move(merged), last = std::move(last),
                version = read->record->purchase_version()](
                   absl::Status status) mutable {
                 if (!status.ok()) return self->Finish(std::move(status));
                 self->Write(std::move(writes), std::move(merged),
                             std::move(last), std::move(version));
               });
  }

  void Write(std::vector<std::vector<std::string>> writes,
             std::vector<std::string> merged,
             std::vector<std::vector<std::string>> last, std::string version) {
    ExecuteAll(
        *keeper_->context().redis, std::move(writes),
        [self = shared_from_this(), merged = std::move(merged),
         last = std::move(last),
         version = std::move(version)](absl::Status status) mutable {
          if (!status.ok()) return self->Finish(std::move(status));
          RemoveFromRankings(
              self->keeper_->context(), self->keeper_->keys(),
              std::move(merged),
              [self, last = std::move(last),
               version = std::move(version)](absl::Status status) mutable {
                if (!status.ok()) return self->Finish(std::move(status));
                ExecuteAll(*self->keeper_->context().redis, std::move(last),
                           [self, version = std::move(version)](
                               absl::Status status) mutable {
                             if (!status.ok()) {
                               return self->Finish(std::move(status));
                             }
                             self->Verify(std::move(version));
                           });
              });
        });
  }

  void Verify(std::string version) {
    keeper_->context().redis->Execute(
        {"HMGET", keeper_->context().keys.ForCustomer(customer_id_).view,
         "alias", "pv"},
        [self = shared_from_this(),
         version = std::move(version)](absl::StatusOr<Reply> reply) {
          reply = redis::ErrorReplyAsStatus(std::move(reply),
                                            "checking a customer's rankings");
          if (!reply.ok()) return self->Finish(reply.status());
          if (reply->type != Reply::Type::kArray ||
              reply->elements.size() != 2) {
            return self->Finish(absl::InternalError(
                "checking a customer's rankings: unexpected reply"));
          }
          if (reply->elements[0].type == Reply::Type::kString ||
              TextOf(reply->elements[1]) != version) {
            return self->Start();
          }
          self->Finish(absl::OkStatus());
        });
  }

  // Merged away or erased: out of every ranking it may be in.
  void RemoveGone(const std::set<std::string>& ranked) {
    std::vector<std::vector<std::string>> commands;
    for (const std::string& field : ranked) {
      commands.push_back(
          {"ZREM", keeper_->keys().RankingShardOfField(field, customer_id_),
           customer_id_});
    }
    commands.push_back({"DEL", keeper_->keys().RankedIn(customer_id_)});
    ExecuteAll(*keeper_->context().redis, std::move(commands),
               [self = shared_from_this()](absl::Status status) {
                 self->Finish(std::move(status));
               });
  }

  void Finish(absl::Status status) { std::move(done_)(std::move(status)); }

  const RankingKeeper* keeper_;
  const std::string customer_id_;
  absl::AnyInvocable<void(absl::Status) &&> done_;
  // Rankings this refresh put the customer in, in an earlier round.
  std::set<std::string> written_;
  int attempts_ = 0;
};

}  // namespace

void RemoveFromRankings(const timeline::StoreContext& context,
                        const InsightsKeys& keys,
                        std::vector<std::string> customers,
                        absl::AnyInvocable<void(absl::Status) &&> done) {
  std::vector<std::vector<std::string>> reads;
  for (const std::string& customer : customers) {
    reads.push_back({"HKEYS", keys.RankedIn(customer)});
  }
  redis::ExecuteGathered(
      *context.redis, std::move(reads),
      [&context, &keys, customers = std::move(customers),
       done = std::move(done)](redis::Replies replies) mutable {
        std::vector<std::vector<std::string>> removals;
        for (size_t i = 0; i < customers.size(); ++i) {
          absl::StatusOr<Reply> reply =
              redis::ErrorReplyAsStatus(std::move(replies[i]), "the rankings");
          if (!reply.ok()) return std::move(done)(reply.status());
          for (const Reply& field : reply->elements) {
            if (field.str == "na") continue;
            removals.push_back(
                {"ZREM", keys.RankingShardOfField(field.str, customers[i]),
                 customers[i]});
          }
          removals.push_back({"DEL", keys.RankedIn(customers[i])});
        }
        ExecuteAll(*context.redis, std::move(removals), std::move(done));
      });
}

std::vector<RankingEntry> RankingEntriesOf(const CustomerRecord& record,
                                           int64_t day,
                                           const CurrentModel& model,
                                           const ValueSettings& value,
                                           LifetimeValueCache* cache) {
  std::vector<RankingEntry> entries;
  if (record.OccasionsOn(day) == 0) return entries;
  for (const CurrencySpend& spend : record.SpendOn(day)) {
    entries.push_back({.field = absl::StrCat("h:", spend.currency),
                       .micros = spend.total_micros});
  }
  if (model.fitted.has_value()) {
    for (const CurrencyValue& predicted :
         Predict(*model.fitted, record, day, {}, value, cache).value) {
      if (!std::isfinite(predicted.lifetime_value)) continue;
      entries.push_back(
          {.field = absl::StrCat("p:", predicted.currency),
           .micros = std::llround(predicted.lifetime_value * 1e6)});
    }
  }
  return entries;
}

void ExecuteAll(redis::RedisClient& redis,
                std::vector<std::vector<std::string>> commands,
                absl::AnyInvocable<void(absl::Status) &&> done) {
  redis::ExecuteGathered(
      redis, std::move(commands),
      [done = std::move(done)](redis::Replies replies) mutable {
        for (absl::StatusOr<Reply>& reply : replies) {
          reply = redis::ErrorReplyAsStatus(std::move(reply), "the rankings");
          if (!reply.ok()) return std::move(done)(reply.status());
        }
        std::move(done)(absl::OkStatus());
      });
}

RankingKeeper::RankingKeeper(const timeline::StoreContext* context,
                             const InsightsKeys* keys,
                             const InsightsScripts* scripts,
                             const ModelHolder* model, ValueSettings value)
    : context_(context),
      keys_(keys),
      scripts_(scripts),
      model_(model),
      value_(value) {}

void RankingKeeper::PurchasesChanged(
    const std::string& customer_id,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  {
    absl::MutexLock lock(&mutex_);
    auto [running, first] = running_.try_emplace(customer_id);
    if (!first) {
      running->second.push_back(std::move(done));
      return;
    }
  }
  std::vector<Done> waiting;
  waiting.push_back(std::move(done));
  Refresh(customer_id, std::move(waiting));
}

void RankingKeeper::Refresh(const std::string& customer_id,
                            std::vector<Done> waiting) {
  std::make_shared<RankingRefresh>(
      this, customer_id,
      [this, customer_id,
       waiting = std::move(waiting)](absl::Status status) mutable {
        for (Done& done : waiting) std::move(done)(status);
        std::vector<Done> next;
        {
          absl::MutexLock lock(&mutex_);
          auto running = running_.find(customer_id);
          if (running->second.empty()) {
            running_.erase(running);
            return;
          }
          next.swap(running->second);
        }
        Refresh(customer_id, std::move(next));
      })
      ->Start();
}

void RankingKeeper::Forgetting(const std::string& customer_id,
                               absl::AnyInvocable<void(absl::Status) &&> done) {
  RemoveFromRankings(*context_, *keys_, {customer_id}, std::move(done));
}

}  // namespace omnihub::insights

#include "services/insights/store/lifecycle_keeper.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/redis/blocking_calls.h"

namespace omnihub::insights {
namespace {

using redis::Reply;

// Compare-and-set rounds lost to concurrent writes before giving up (the
// entry stays due, or the sender retries).
constexpr int kMaxAttempts = 8;

// One refresh of one customer; see LifecycleKeeper.
class Refresh : public std::enable_shared_from_this<Refresh> {
 public:
  Refresh(const LifecycleKeeper* keeper, std::string customer_id,
          RefreshTrigger trigger,
          absl::AnyInvocable<void(absl::Status) &&> done)
      : keeper_(keeper),
        customer_id_(std::move(customer_id)),
        view_key_(keeper->context().keys.ForCustomer(customer_id_).view),
        shard_key_(keeper->keys().DeadlineShardOf(customer_id_)),
        trigger_(trigger),
        done_(std::move(done)) {}

  void Start() {
    if (++attempts_ > kMaxAttempts) {
      return Finish(absl::AbortedError(
          absl::StrCat("customer ", customer_id_,
                       ": its purchases kept changing while its lifecycle was "
                       "recorded; try again")));
    }
    keeper_->context().redis->Execute(
        ReadCustomerCommand(view_key_),
        [self = shared_from_this()](absl::StatusOr<Reply> reply) {
          self->OnRead(ParseCustomerRead(std::move(reply)));
        });
  }

 private:
  bool exact() const { return trigger_ != RefreshTrigger::kPurchase; }

  void OnRead(absl::StatusOr<CustomerRead> read) {
    if (!read.ok()) return Finish(read.status());
    if (const auto& hook = keeper_->options().step_hook) {
      if (absl::Status stop = hook("read"); !stop.ok()) {
        return Finish(std::move(stop));
      }
    }
    if (!read->record.has_value()) {
      // Gone (merged into another, being erased, erased): its survivor has
      // an entry of its own; nothing of it is left to change.
      if (!exact()) return Finish(absl::OkStatus());
      return SetDeadline(std::nullopt, "", "");
    }
    const CustomerRecord& record = *read->record;
    const std::shared_ptr<const CurrentModel> model = keeper_->model().Get();
    const int64_t today = DayOf(keeper_->context().options.clock());
    std::vector<Transition> history = LifecycleHistory(
        record.days(), record.first_seen_day(), today, model->rules);
    const int limit = std::max(keeper_->options().history_limit, 1);
    if (static_cast<int>(history.size()) > limit) {
      history.erase(history.begin(), history.end() - limit);
    }
    const std::optional<int64_t> next =
        NextChangeByTime(record.days(), today, model->rules);
    std::string text = EncodeHistory(history);
    if (text == record.stored_history_text()) {
      return SetDeadline(next, record.purchase_version(), std::move(text));
    }
    keeper_->scripts().write_lifecycle.Run(
        *keeper_->context().redis, {view_key_},
        {record.purchase_version(), record.stored_history_text(), text},
        [self = shared_from_this(), next, version = record.purchase_version(),
         text, history = std::move(history),
         old = record.stored_history()](absl::StatusOr<Reply> reply) mutable {
          reply = redis::ErrorReplyAsStatus(std::move(reply),
                                            "recording a lifecycle");
          if (!reply.ok()) return self->Finish(reply.status());
          if (reply->type == Reply::Type::kStatus ||
              reply->type == Reply::Type::kString) {
            if (reply->str == "changed") {
              // After a purchase, the loss is to a later write of the
              // customer's purchases, whose own refresh starts after it
              // and records from there, or to a refresh that read the same
              // purchases: either way nothing is left for this one. (A
              // batch of a thousand purchases by one customer, stored
              // concurrently, made a thousand refreshes start again on
              // each other's writes until some gave up.)
              if (!self->exact()) return self->Finish(absl::OkStatus());
              return self->Start();
            }
            if (reply->str == "ok") {
              self->Count(old, history);
              if (const auto& hook = self->keeper_->options().step_hook) {
                if (absl::Status stop = hook("recorded"); !stop.ok()) {
                  return self->Finish(std::move(stop));
                }
              }
              return self->SetDeadline(next, version, std::move(text));
            }
          }
          // Merged away or erased meanwhile: read again to find out.
          self->Start();
        });
  }

  // The transitions of `now` that `before` did not have are new.
  void Count(const std::vector<Transition>& before,
             const std::vector<Transition>& now) {
    InsightsMetrics* metrics = keeper_->metrics();
    if (metrics == nullptr) return;
    std::vector<Transition> old = before;
    for (const Transition& transition : now) {
      auto known = std::find(old.begin(), old.end(), transition);
      if (known != old.end()) {
        old.erase(known);
        continue;
      }
      metrics->transitions(transition.from, transition.to).Increment();
    }
  }

  void SetDeadline(std::optional<int64_t> next, std::string version,
                   std::string history) {
    std::vector<std::string> command;
    if (!exact()) {
      if (!next.has_value()) return Finish(absl::OkStatus());
      command = {"ZADD", shard_key_, "LT", absl::StrCat(*next), customer_id_};
    } else if (next.has_value()) {
      command = {"ZADD", shard_key_, absl::StrCat(*next), customer_id_};
    } else {
      command = {"ZREM", shard_key_, customer_id_};
    }
    keeper_->context().redis->Execute(
        std::move(command),
        [self = shared_from_this(), version = std::move(version),
         history = std::move(history)](absl::StatusOr<Reply> reply) mutable {
          reply = redis::ErrorReplyAsStatus(std::move(reply),
                                            "the lifecycle deadline index");
          if (!reply.ok()) return self->Finish(reply.status());
          if (!self->exact()) return self->Finish(absl::OkStatus());
          self->Verify(std::move(version), std::move(history));
        });
  }

  // An exact deadline was computed from what step 1 read: if the customer
  // changed since, its own refresh may have set an earlier deadline that
  // this one overwrote, so start again.
  void Verify(std::string version, std::string history) {
    keeper_->context().redis->Execute(
        {"HMGET", view_key_, "alias", "pv", "lh", "created"},
        [self = shared_from_this(), version = std::move(version),
         history = std::move(history)](absl::StatusOr<Reply> reply) {
          reply = redis::ErrorReplyAsStatus(std::move(reply),
                                            "checking a lifecycle");
          if (!reply.ok()) return self->Finish(reply.status());
          if (reply->type != Reply::Type::kArray ||
              reply->elements.size() != 4) {
            return self->Finish(
                absl::InternalError("checking a lifecycle: unexpected reply"));
          }
          const std::vector<Reply>& values = reply->elements;
          const bool gone = values[0].type == Reply::Type::kString ||
                            values[3].type != Reply::Type::kString;
          if (gone && history.empty() && version.empty()) {
            return self->Finish(absl::OkStatus());
          }
          if (gone || TextOf(values[1]) != version ||
              TextOf(values[2]) != history) {
            return self->Start();
          }
          self->Finish(absl::OkStatus());
        });
  }

  void Finish(absl::Status status) {
    if (InsightsMetrics* metrics = keeper_->metrics()) {
      metrics->refreshes(trigger_, status.ok()).Increment();
    }
    std::move(done_)(std::move(status));
  }

  const LifecycleKeeper* keeper_;
  const std::string customer_id_;
  const std::string view_key_;
  const std::string shard_key_;
  const RefreshTrigger trigger_;
  absl::AnyInvocable<void(absl::Status) &&> done_;
  int attempts_ = 0;
};

}  // namespace

LifecycleKeeper::LifecycleKeeper(const timeline::StoreContext* context,
                                 const InsightsKeys* keys,
                                 const InsightsScripts* scripts,
                                 const ModelHolder* model,
                                 InsightsMetrics* metrics,
                                 LifecycleKeeperOptions options)
    : context_(context),
      keys_(keys),
      scripts_(scripts),
      model_(model),
      metrics_(metrics),
      options_(options) {}

void LifecycleKeeper::PurchasesChanged(
    const std::string& customer_id,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  std::make_shared<Refresh>(this, customer_id, RefreshTrigger::kPurchase,
                            std::move(done))
      ->Start();
}

void LifecycleKeeper::Forgetting(
    const std::string& customer_id,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  context_->redis->Execute(
      {"ZREM", keys_->DeadlineShardOf(customer_id), customer_id},
      [done = std::move(done)](absl::StatusOr<Reply> reply) mutable {
        std::move(done)(
            redis::ErrorReplyAsStatus(std::move(reply), "the deadline index")
                .status());
      });
}

void LifecycleKeeper::Reconcile(
    const std::string& customer_id, RefreshTrigger trigger,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  std::make_shared<Refresh>(this, customer_id, trigger, std::move(done))
      ->Start();
}

}  // namespace omnihub::insights

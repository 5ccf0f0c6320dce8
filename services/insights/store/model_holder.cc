#include "services/insights/store/model_holder.h"

#include "common/redis/blocking_calls.h"
#include "google/protobuf/util/message_differencer.h"

namespace omnihub::insights {

ModelHolder::ModelHolder(LifecycleRules base_rules)
    : base_rules_(std::move(base_rules)) {
  Set(std::nullopt);
}

std::shared_ptr<const CurrentModel> ModelHolder::Get() const {
  absl::MutexLock lock(&mutex_);
  return current_;
}

bool ModelHolder::Set(std::optional<v1::PurchaseModel> model) {
  {
    absl::MutexLock lock(&mutex_);
    if (current_ != nullptr &&
        current_->proto.has_value() == model.has_value() &&
        (!model.has_value() ||
         google::protobuf::util::MessageDifferencer::Equals(*current_->proto,
                                                            *model))) {
      return false;
    }
  }
  auto next = std::make_shared<CurrentModel>();
  next->rules = base_rules_;
  if (model.has_value()) {
    next->fitted = FittedModelOf(*model);
    next->rules.model = next->fitted->purchases;
  }
  next->proto = std::move(model);
  next->fingerprint = next->rules.Fingerprint();
  absl::MutexLock lock(&mutex_);
  current_ = std::move(next);
  return true;
}

FittedModel FittedModelOf(const v1::PurchaseModel& model) {
  FittedModel fitted;
  fitted.purchases = {
      .r = model.r(), .alpha = model.alpha(), .a = model.a(), .b = model.b()};
  for (const v1::SpendModel& spend : model.spend_models()) {
    fitted.spend[spend.currency()] = {
        .p = spend.p(), .q = spend.q(), .gamma = spend.gamma()};
  }
  return fitted;
}

absl::StatusOr<std::optional<v1::PurchaseModel>> LoadModel(
    redis::RedisClient& redis, const std::string& key) {
  absl::StatusOr<redis::Reply> reply = redis::ErrorReplyAsStatus(
      redis::CallAndWait(redis, {"GET", key}), "the purchase model");
  if (!reply.ok()) return reply.status();
  if (reply->type != redis::Reply::Type::kString) return std::nullopt;
  v1::PurchaseModel model;
  if (!model.ParseFromString(reply->str)) {
    return absl::DataLossError("the stored purchase model is unreadable");
  }
  return model;
}

absl::Status SaveModel(redis::RedisClient& redis, const std::string& key,
                       const v1::PurchaseModel& model) {
  return redis::ErrorReplyAsStatus(
             redis::CallAndWait(redis, {"SET", key, model.SerializeAsString()}),
             "storing the purchase model")
      .status();
}

}  // namespace omnihub::insights

// The purchase model in use on this replica, and the lifecycle rules that
// follow from it: read by every lifecycle refresh and insights answer,
// replaced when a fit finishes or another replica's fit is loaded from Redis.
//
//   ModelHolder holder(base_rules);
//   std::shared_ptr<const CurrentModel> model = holder.Get();
//   if (model->fitted) { ... model->fitted->purchases ... }
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_MODEL_HOLDER_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_MODEL_HOLDER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/redis_client.h"
#include "omnihub/v1/insights.pb.h"
#include "services/insights/analysis/customer_value.h"
#include "services/insights/lifecycle/lifecycle.h"

namespace omnihub::insights {

struct CurrentModel {
  std::optional<v1::PurchaseModel> proto;  // unset: none fitted yet
  std::optional<FittedModel> fitted;
  // The configured thresholds, with the model when there is one.
  LifecycleRules rules;
  std::string fingerprint;  // rules.Fingerprint()
};

class ModelHolder {
 public:
  explicit ModelHolder(LifecycleRules base_rules);

  std::shared_ptr<const CurrentModel> Get() const;
  // Installs `model` (nullopt: none); false when it is the one in use.
  bool Set(std::optional<v1::PurchaseModel> model);

 private:
  const LifecycleRules base_rules_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<const CurrentModel> current_ ABSL_GUARDED_BY(mutex_);
};

FittedModel FittedModelOf(const v1::PurchaseModel& model);

// The model stored in Redis (nullopt when none), and storing one: one SET of
// the whole message, so two replicas fitting at once leave one model or the
// other, never a mix. Blocking.
absl::StatusOr<std::optional<v1::PurchaseModel>> LoadModel(
    redis::RedisClient& redis, const std::string& key);
absl::Status SaveModel(redis::RedisClient& redis, const std::string& key,
                       const v1::PurchaseModel& model);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_MODEL_HOLDER_H_

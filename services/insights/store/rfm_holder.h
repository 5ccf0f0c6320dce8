// The RFM boundaries in use on this replica: replaced when this replica
// computes new ones or loads those another replica stored. Read by every
// insights answer and by code that needs a customer's RFM segment.
//
//   RfmHolder holder;
//   std::shared_ptr<const CurrentRfm> rfm = holder.Get();
//   std::optional<RfmScore> score = ScoreRfm(rfm->boundaries, record, day);
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_RFM_HOLDER_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_RFM_HOLDER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/redis_client.h"
#include "omnihub/v1/insights.pb.h"
#include "services/insights/analysis/rfm.h"

namespace omnihub::insights {

struct CurrentRfm {
  std::optional<v1::RfmSummary> proto;  // unset: never computed
  RfmBoundaries boundaries;             // of an empty base when unset
};

class RfmHolder {
 public:
  RfmHolder();

  std::shared_ptr<const CurrentRfm> Get() const;
  // Installs `summary`; false when it is the one in use.
  bool Set(std::optional<v1::RfmSummary> summary);

 private:
  mutable absl::Mutex mutex_;
  std::shared_ptr<const CurrentRfm> current_ ABSL_GUARDED_BY(mutex_);
};

RfmBoundaries BoundariesOf(const v1::RfmSummary& summary);

// The summary stored in Redis (nullopt when none), and storing one (one SET
// of the whole message). Blocking.
absl::StatusOr<std::optional<v1::RfmSummary>> LoadRfm(redis::RedisClient& redis,
                                                      const std::string& key);
absl::Status SaveRfm(redis::RedisClient& redis, const std::string& key,
                     const v1::RfmSummary& summary);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_RFM_HOLDER_H_

#include "services/insights/store/rfm_holder.h"

#include "common/redis/blocking_calls.h"
#include "google/protobuf/util/message_differencer.h"

namespace omnihub::insights {
namespace {

std::array<int64_t, 4> CutsOf(
    const google::protobuf::RepeatedField<int64_t>& values) {
  std::array<int64_t, 4> cuts = {};
  for (int i = 0; i < 4 && i < values.size(); ++i) cuts[i] = values[i];
  return cuts;
}

}  // namespace

RfmHolder::RfmHolder() : current_(std::make_shared<CurrentRfm>()) {}

std::shared_ptr<const CurrentRfm> RfmHolder::Get() const {
  absl::MutexLock lock(&mutex_);
  return current_;
}

bool RfmHolder::Set(std::optional<v1::RfmSummary> summary) {
  absl::MutexLock lock(&mutex_);
  if (summary.has_value() == current_->proto.has_value() &&
      (!summary.has_value() ||
       google::protobuf::util::MessageDifferencer::Equals(*summary,
                                                          *current_->proto))) {
    return false;
  }
  auto next = std::make_shared<CurrentRfm>();
  if (summary.has_value()) next->boundaries = BoundariesOf(*summary);
  next->proto = std::move(summary);
  current_ = std::move(next);
  return true;
}

RfmBoundaries BoundariesOf(const v1::RfmSummary& summary) {
  RfmBoundaries boundaries;
  boundaries.day = summary.as_of().seconds() / 86400;
  boundaries.customers = summary.customers();
  boundaries.recency_days = CutsOf(summary.recency_days());
  boundaries.occasions = CutsOf(summary.occasions());
  for (const v1::RfmCurrencyBoundaries& currency : summary.monetary()) {
    RfmBoundaries::Currency& entry = boundaries.monetary[currency.currency()];
    entry.customers = currency.customers();
    entry.micros = CutsOf(currency.amount_micros());
  }
  return boundaries;
}

absl::StatusOr<std::optional<v1::RfmSummary>> LoadRfm(redis::RedisClient& redis,
                                                      const std::string& key) {
  absl::StatusOr<redis::Reply> reply = redis::ErrorReplyAsStatus(
      redis::CallAndWait(redis, {"GET", key}), "the RFM boundaries");
  if (!reply.ok()) return reply.status();
  if (reply->type != redis::Reply::Type::kString) return std::nullopt;
  v1::RfmSummary summary;
  if (!summary.ParseFromString(reply->str)) {
    return absl::DataLossError("the stored RFM boundaries are unreadable");
  }
  return summary;
}

absl::Status SaveRfm(redis::RedisClient& redis, const std::string& key,
                     const v1::RfmSummary& summary) {
  return redis::ErrorReplyAsStatus(
             redis::CallAndWait(redis,
                                {"SET", key, summary.SerializeAsString()}),
             "storing the RFM boundaries")
      .status();
}

}  // namespace omnihub::insights

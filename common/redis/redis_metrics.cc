#include "common/redis/redis_metrics.h"

#include "absl/strings/ascii.h"

namespace omnihub::redis {

RedisMetrics::RedisMetrics(prometheus::Registry& registry) {
  durations_ = &prometheus::BuildHistogram()
                    .Name("omnihub_redis_command_duration_seconds")
                    .Help("Time from queueing a Redis command to its reply.")
                    .Register(registry);
  auto& errors = prometheus::BuildCounter()
                     .Name("omnihub_redis_errors_total")
                     .Help("Redis commands that failed, by reason.")
                     .Register(registry);
  errors_[static_cast<int>(Error::kUnavailable)] =
      &errors.Add({{"reason", "unavailable"}});
  errors_[static_cast<int>(Error::kTimeout)] =
      &errors.Add({{"reason", "timeout"}});
  errors_[static_cast<int>(Error::kErrorReply)] =
      &errors.Add({{"reason", "error_reply"}});
  errors_[static_cast<int>(Error::kOverloaded)] =
      &errors.Add({{"reason", "overloaded"}});
  connections_ = &prometheus::BuildGauge()
                      .Name("omnihub_redis_connections")
                      .Help("Open connections to Redis.")
                      .Register(registry)
                      .Add({});
  reconnects_ = &prometheus::BuildCounter()
                     .Name("omnihub_redis_reconnects_total")
                     .Help("Connections to Redis re-made after being lost.")
                     .Register(registry)
                     .Add({});
}

void RedisMetrics::ObserveCommand(absl::string_view command, double seconds) {
  prometheus::Histogram* histogram;
  {
    absl::MutexLock lock(&mutex_);
    auto it = by_command_.find(command);
    if (it == by_command_.end()) {
      const std::string name = absl::AsciiStrToUpper(command);
      static const prometheus::Histogram::BucketBoundaries kBuckets = {
          0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,  0.05,    0.1,    0.25,  1.0,    2.5,   5.0};
      it = by_command_
               .emplace(std::string(command),
                        &durations_->Add({{"command", name}}, kBuckets))
               .first;
    }
    histogram = it->second;
  }
  histogram->Observe(seconds);
}

void RedisMetrics::CountError(Error error) {
  errors_[static_cast<int>(error)]->Increment();
}

}  // namespace omnihub::redis

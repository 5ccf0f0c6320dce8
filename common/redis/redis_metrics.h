// Prometheus metrics of the Redis client, built once from a registry and
// shared by all its connections.
//
//   RedisMetrics metrics(registry);
//   auto client = PipelinedRedisClient::Create(options, &metrics);
#ifndef OMNIHUB_COMMON_REDIS_REDIS_METRICS_H_
#define OMNIHUB_COMMON_REDIS_REDIS_METRICS_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace omnihub::redis {

class RedisMetrics {
 public:
  // Why a command failed, as the `reason` label of omnihub_redis_errors_total.
  enum class Error { kUnavailable, kTimeout, kErrorReply, kOverloaded };

  explicit RedisMetrics(prometheus::Registry& registry);

  // `command` is the command's name, e.g. "EVALSHA".
  void ObserveCommand(absl::string_view command, double seconds);
  void CountError(Error error);
  void ConnectionOpened() { connections_->Increment(); }
  void ConnectionClosed() { connections_->Decrement(); }
  void CountReconnect() { reconnects_->Increment(); }

 private:
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Counter* errors_[4];
  prometheus::Gauge* connections_;
  prometheus::Counter* reconnects_;
  absl::Mutex mutex_;
  // One histogram per command name, made on first use and kept.
  absl::flat_hash_map<std::string, prometheus::Histogram*> by_command_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace omnihub::redis

#endif  // OMNIHUB_COMMON_REDIS_REDIS_METRICS_H_

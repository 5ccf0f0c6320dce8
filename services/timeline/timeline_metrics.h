// The timeline service's own Prometheus metrics, built once at start-up with
// every labelled child created up front, so the hot path only increments.
#ifndef OMNIHUB_SERVICES_TIMELINE_TIMELINE_METRICS_H_
#define OMNIHUB_SERVICES_TIMELINE_TIMELINE_METRICS_H_

#include <array>

#include "omnihub/v1/event.pb.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace omnihub::timeline {

enum class EventResult {
  kAccepted = 0,
  kUpdated,
  kDuplicate,
  kRejected,
  kForgotten,
  kSuppressed
};

class TimelineMetrics {
 public:
  explicit TimelineMetrics(prometheus::Registry& registry);

  void CountEvent(v1::Channel channel, EventResult result);
  prometheus::Counter& identity_conflicts() { return *identity_conflicts_; }
  prometheus::Counter& customers_created() { return *customers_created_; }
  prometheus::Counter& events_trimmed() { return *events_trimmed_; }

 private:
  static constexpr int kChannels = 4;  // unspecified, phone, web, in person
  static constexpr int kResults = 6;
  std::array<std::array<prometheus::Counter*, kResults>, kChannels> events_{};
  prometheus::Counter* identity_conflicts_;
  prometheus::Counter* customers_created_;
  prometheus::Counter* events_trimmed_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_TIMELINE_METRICS_H_

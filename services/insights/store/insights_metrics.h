// Metrics of the insights: lifecycle transitions as they are recorded (by
// from and to stage), customers per stage (from the latest census), the
// lifecycle refreshes (after a purchase, at a deadline, in a re-evaluation)
// and the model fits. Built once, from a registry.
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_METRICS_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_METRICS_H_

#include <array>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/insights/lifecycle/lifecycle.h"

namespace omnihub::insights {

enum class RefreshTrigger { kPurchase = 0, kDeadline = 1, kReevaluation = 2 };

class InsightsMetrics {
 public:
  explicit InsightsMetrics(prometheus::Registry& registry);

  prometheus::Counter& transitions(Stage from, Stage to) {
    return *transitions_[Index(from)][Index(to)];
  }
  prometheus::Gauge& customers(Stage stage) {
    return *customers_[Index(stage)];
  }
  prometheus::Counter& refreshes(RefreshTrigger trigger, bool ok) {
    return *refreshes_[static_cast<int>(trigger)][ok ? 0 : 1];
  }
  prometheus::Counter& fits(bool ok) { return *fits_[ok ? 0 : 1]; }
  prometheus::Histogram& fit_duration() { return *fit_duration_; }
  prometheus::Gauge& deadlines_due() { return *deadlines_due_; }
  // Customers per RFM segment (1 to 10, see RfmSegment) at the last
  // population pass, and how long that pass took.
  prometheus::Gauge& rfm_customers(int segment) {
    return *rfm_customers_[segment - 1];
  }
  prometheus::Gauge& population_pass_seconds() {
    return *population_pass_seconds_;
  }

 private:
  static int Index(Stage stage) { return static_cast<int>(stage) - 1; }

  std::array<std::array<prometheus::Counter*, 5>, 5> transitions_;
  std::array<prometheus::Gauge*, 5> customers_;
  std::array<std::array<prometheus::Counter*, 2>, 3> refreshes_;
  std::array<prometheus::Counter*, 2> fits_;
  prometheus::Histogram* fit_duration_;
  prometheus::Gauge* deadlines_due_;
  std::array<prometheus::Gauge*, 10> rfm_customers_;
  prometheus::Gauge* population_pass_seconds_;
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_METRICS_H_

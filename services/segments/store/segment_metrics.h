// The segments' metrics, built once: every segment's size as a gauge
// (omnihub_segment_members{segment}), evaluations by trigger and outcome,
// and the entries and exits they recorded by trigger (an evaluation that
// changes nothing writes nothing, so these say how often one writes).
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_METRICS_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_METRICS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace omnihub::segments {

class SegmentMetrics {
 public:
  explicit SegmentMetrics(prometheus::Registry& registry);

  // Sets the size of every segment counted; removes the gauges of
  // segments no longer defined.
  void SetSizes(const std::map<std::string, int64_t>& sizes);
  prometheus::Counter& evaluations(int trigger, bool ok);
  prometheus::Counter& changes(int trigger, bool entry);

 private:
  prometheus::Family<prometheus::Gauge>& sizes_family_;
  prometheus::Family<prometheus::Counter>& evaluations_family_;
  std::vector<prometheus::Counter*> evaluations_;  // [trigger * 2 + ok]
  prometheus::Family<prometheus::Counter>& changes_family_;
  std::vector<prometheus::Counter*> changes_;  // [trigger * 2 + entry]
  absl::Mutex mutex_;
  std::map<std::string, prometheus::Gauge*> sizes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_METRICS_H_

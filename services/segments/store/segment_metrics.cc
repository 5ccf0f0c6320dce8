#include "services/segments/store/segment_metrics.h"

#include "prometheus/counter.h"
#include "prometheus/gauge.h"

namespace omnihub::segments {

SegmentMetrics::SegmentMetrics(prometheus::Registry& registry)
    : sizes_family_(prometheus::BuildGauge()
                        .Name("omnihub_segment_members")
                        .Help("Customers in each user-defined segment, as "
                              "last counted")
                        .Register(registry)),
      evaluations_family_(
          prometheus::BuildCounter()
              .Name("omnihub_segment_evaluations_total")
              .Help("Evaluations of one customer's segment memberships, by "
                    "what started them and whether they succeeded")
              .Register(registry)),
      changes_family_(
          prometheus::BuildCounter()
              .Name("omnihub_segment_membership_changes_total")
              .Help("Entries into and exits from a segment recorded by "
                    "evaluations, by what started them (an erasure drops "
                    "memberships without counting them)")
              .Register(registry)) {
  for (const char* trigger : {"event", "deadline", "pass"}) {
    for (const char* outcome : {"error", "ok"}) {
      evaluations_.push_back(&evaluations_family_.Add(
          {{"trigger", trigger}, {"outcome", outcome}}));
    }
    for (const char* change : {"exit", "entry"}) {
      changes_.push_back(
          &changes_family_.Add({{"trigger", trigger}, {"change", change}}));
    }
  }
}

void SegmentMetrics::SetSizes(const std::map<std::string, int64_t>& sizes) {
  absl::MutexLock lock(&mutex_);
  for (auto it = sizes_.begin(); it != sizes_.end();) {
    if (!sizes.contains(it->first)) {
      sizes_family_.Remove(it->second);
      it = sizes_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, size] : sizes) {
    prometheus::Gauge*& gauge = sizes_[name];
    if (gauge == nullptr) gauge = &sizes_family_.Add({{"segment", name}});
    gauge->Set(static_cast<double>(size));
  }
}

prometheus::Counter& SegmentMetrics::evaluations(int trigger, bool ok) {
  return *evaluations_[trigger * 2 + (ok ? 1 : 0)];
}

prometheus::Counter& SegmentMetrics::changes(int trigger, bool entry) {
  return *changes_[trigger * 2 + (entry ? 1 : 0)];
}

}  // namespace omnihub::segments

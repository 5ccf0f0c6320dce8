// Metrics of identity resolution and of the customer's data rights: merges
// (done, refused, resumed after a crash, how long they took), identities the
// rules kept out, customers erased and exported, identities suppressed and
// suppressions lifted. Built once, from a registry.
#ifndef OMNIHUB_SERVICES_TIMELINE_IDENTITY_METRICS_H_
#define OMNIHUB_SERVICES_TIMELINE_IDENTITY_METRICS_H_

#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace omnihub::timeline {

class IdentityMetrics {
 public:
  explicit IdentityMetrics(prometheus::Registry& registry);

  prometheus::Counter& merges_by_event() { return *merges_by_event_; }
  prometheus::Counter& merges_by_link() { return *merges_by_link_; }
  prometheus::Counter& merges_refused() { return *merges_refused_; }
  prometheus::Counter& merges_resumed() { return *merges_resumed_; }
  prometheus::Histogram& merge_duration() { return *merge_duration_; }
  prometheus::Counter& identities_blocked() { return *identities_blocked_; }
  prometheus::Counter& identities_over_limit() {
    return *identities_over_limit_;
  }
  // Unverified identities of events not attached: another customer has them.
  prometheus::Counter& identities_unverified() {
    return *identities_unverified_;
  }
  // Identities a verified event took from a customer that held them only by
  // an unverified claim.
  prometheus::Counter& claims_taken_over() { return *claims_taken_over_; }
  // Merge-log records of untrusted sources not written: the customer had
  // max_untrusted_records of them.
  prometheus::Counter& untrusted_records_dropped() {
    return *untrusted_records_dropped_;
  }
  prometheus::Counter& customers_forgotten() { return *customers_forgotten_; }
  prometheus::Counter& customers_exported() { return *customers_exported_; }
  prometheus::Counter& identities_suppressed() {
    return *identities_suppressed_;
  }
  prometheus::Counter& suppressions_lifted() { return *suppressions_lifted_; }
  prometheus::Counter& links_suppressed() { return *links_suppressed_; }

 private:
  prometheus::Counter* merges_by_event_;
  prometheus::Counter* merges_by_link_;
  prometheus::Counter* merges_refused_;
  prometheus::Counter* merges_resumed_;
  prometheus::Histogram* merge_duration_;
  prometheus::Counter* identities_blocked_;
  prometheus::Counter* identities_over_limit_;
  prometheus::Counter* identities_unverified_;
  prometheus::Counter* claims_taken_over_;
  prometheus::Counter* untrusted_records_dropped_;
  prometheus::Counter* customers_forgotten_;
  prometheus::Counter* customers_exported_;
  prometheus::Counter* identities_suppressed_;
  prometheus::Counter* suppressions_lifted_;
  prometheus::Counter* links_suppressed_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_IDENTITY_METRICS_H_

#include "services/timeline/identity_metrics.h"

namespace omnihub::timeline {
namespace {

prometheus::Counter* Counter(prometheus::Registry& registry, const char* name,
                             const char* help) {
  return &prometheus::BuildCounter()
              .Name(name)
              .Help(help)
              .Register(registry)
              .Add({});
}

}  // namespace

IdentityMetrics::IdentityMetrics(prometheus::Registry& registry) {
  auto& merges = prometheus::BuildCounter()
                     .Name("omnihub_customer_merges_total")
                     .Help(
                         "Customers merged into another, by what proved "
                         "them one person (an event, or LinkIdentities).")
                     .Register(registry);
  merges_by_event_ = &merges.Add({{"trigger", "event"}});
  merges_by_link_ = &merges.Add({{"trigger", "link"}});
  merges_refused_ = Counter(
      registry, "omnihub_customer_merges_refused_total",
      "Merges the identity rules refused (a per-kind limit would be broken).");
  merges_resumed_ = Counter(
      registry, "omnihub_customer_merges_resumed_total",
      "Merges left unfinished (a replica stopped half way) and finished by "
      "another pass.");
  merge_duration_ = &prometheus::BuildHistogram()
                         .Name("omnihub_customer_merge_duration_seconds")
                         .Help("Time to merge one customer into another.")
                         .Register(registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  auto& refused = prometheus::BuildCounter()
                      .Name("omnihub_identities_refused_total")
                      .Help(
                          "Identities of events and links left out of "
                          "resolution, by rule: a blocked value, a "
                          "per-kind limit the customer had reached, or an "
                          "unverified identity another customer has.")
                      .Register(registry);
  identities_blocked_ = &refused.Add({{"rule", "blocked"}});
  identities_over_limit_ = &refused.Add({{"rule", "limit"}});
  identities_unverified_ = &refused.Add({{"rule", "unverified"}});
  claims_taken_over_ = Counter(
      registry, "omnihub_claims_taken_over_total",
      "Identities a verified event took from a customer that held them only "
      "by an unverified claim (see the merge log, reason \"verified source "
      "took over an unverified claim\").");
  untrusted_records_dropped_ =
      Counter(registry, "omnihub_untrusted_records_dropped_total",
              "Merge-log records of untrusted sources not written because the "
              "customer had --max_untrusted_records of them already.");
  customers_forgotten_ =
      Counter(registry, "omnihub_customers_forgotten_total",
              "Customers erased on request (ForgetCustomer).");
  customers_exported_ = Counter(
      registry, "omnihub_customers_exported_total",
      "Customers whose stored data was exported on request (ExportCustomer).");
  identities_suppressed_ = Counter(
      registry, "omnihub_identities_suppressed_total",
      "Identities suppressed by erasures asked with suppress (events that "
      "carry them are refused until the suppression ends or is lifted).");
  suppressions_lifted_ =
      Counter(registry, "omnihub_suppressions_lifted_total",
              "Suppressions lifted on request (LiftSuppression).");
  links_suppressed_ = Counter(
      registry, "omnihub_links_suppressed_total",
      "LinkIdentities calls refused because an identity was suppressed. "
      "Events refused so are omnihub_events_total{result=\"suppressed\"}.");
}

}  // namespace omnihub::timeline

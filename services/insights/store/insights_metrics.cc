#include "services/insights/store/insights_metrics.h"

#include <string>

#include "services/insights/analysis/rfm.h"

namespace omnihub::insights {

InsightsMetrics::InsightsMetrics(prometheus::Registry& registry) {
  constexpr Stage kStages[] = {Stage::kProspect, Stage::kNewCustomer,
                               Stage::kActive, Stage::kAtRisk, Stage::kLapsed};
  auto& transitions =
      prometheus::BuildCounter()
          .Name("omnihub_lifecycle_transitions_total")
          .Help(
              "Lifecycle changes recorded by this replica, by stage left and "
              "stage entered (a change recorded anew after a refit or a "
              "late purchase counts again).")
          .Register(registry);
  auto& customers = prometheus::BuildGauge()
                        .Name("omnihub_lifecycle_customers")
                        .Help(
                            "Customers per lifecycle stage at the latest "
                            "census (the same on every replica).")
                        .Register(registry);
  for (Stage from : kStages) {
    customers_[Index(from)] =
        &customers.Add({{"stage", std::string(StageName(from))}});
    for (Stage to : kStages) {
      transitions_[Index(from)][Index(to)] =
          &transitions.Add({{"from", std::string(StageName(from))},
                            {"to", std::string(StageName(to))}});
    }
  }
  auto& refreshes =
      prometheus::BuildCounter()
          .Name("omnihub_lifecycle_refreshes_total")
          .Help(
              "Customers whose lifecycle was brought up to date, by what "
              "asked for it (a purchase, a deadline falling due, the "
              "re-evaluation of everyone under new rules) and result.")
          .Register(registry);
  const char* triggers[] = {"purchase", "deadline", "reevaluation"};
  for (int trigger = 0; trigger < 3; ++trigger) {
    refreshes_[trigger][0] =
        &refreshes.Add({{"trigger", triggers[trigger]}, {"result", "ok"}});
    refreshes_[trigger][1] =
        &refreshes.Add({{"trigger", triggers[trigger]}, {"result", "error"}});
  }
  auto& fits = prometheus::BuildCounter()
                   .Name("omnihub_purchase_model_fits_total")
                   .Help("Purchase model fits by this replica, by result.")
                   .Register(registry);
  fits_[0] = &fits.Add({{"result", "ok"}});
  fits_[1] = &fits.Add({{"result", "error"}});
  fit_duration_ =
      &prometheus::BuildHistogram()
           .Name("omnihub_purchase_model_fit_duration_seconds")
           .Help("Time to read the customers and fit the purchase model.")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{
                        0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600});
  deadlines_due_ = &prometheus::BuildGauge()
                        .Name("omnihub_lifecycle_deadlines_due")
                        .Help(
                            "Customers whose lifecycle deadline had fallen "
                            "due at this replica's last sweep.")
                        .Register(registry)
                        .Add({});
  auto& rfm = prometheus::BuildGauge()
                  .Name("omnihub_rfm_customers")
                  .Help(
                      "Customers per RFM segment at the last computation of "
                      "the RFM boundaries.")
                  .Register(registry);
  for (int segment = 1; segment <= kRfmSegments; ++segment) {
    rfm_customers_[segment - 1] = &rfm.Add(
        {{"segment",
          std::string(RfmSegmentName(static_cast<RfmSegment>(segment)))}});
  }
  population_pass_seconds_ =
      &prometheus::BuildGauge()
           .Name("omnihub_insights_population_pass_seconds")
           .Help(
               "Duration of the last pass over every customer that "
               "recomputes the RFM boundaries and the predicted-value "
               "rankings.")
           .Register(registry)
           .Add({});
}

}  // namespace omnihub::insights

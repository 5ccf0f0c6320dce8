// The insights' answers: one customer's insights, the KPIs of a period and
// the cohort table, as omnihub.v1 messages. Requests are expected checked
// (see InsightsService). The KPIs and cohorts block: run them on the
// engine's threads.
//
//   ReadCustomerInsights(engine, customer_id, CustomerInsightsQuery{},
//                        [](absl::StatusOr<v1::CustomerInsights> insights) {});
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_QUERIES_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_QUERIES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "omnihub/v1/insights.pb.h"
#include "services/insights/store/insights_engine.h"

namespace omnihub::insights {

struct CustomerInsightsQuery {
  // Evaluate on the day before this one (purchases before it); unset: today.
  std::optional<absl::Time> as_of;
  // Besides 30, 90 and 365 days.
  std::vector<int> horizon_days;
  ValueSettings value;
  std::string currency;  // "": every currency
};

// `customer_id` is live or merged away (followed; merged_from is then set).
// Asynchronous: reads on Redis's threads, computes on the engine's; `done`
// runs on an engine thread.
void ReadCustomerInsights(InsightsEngine& engine,
                          const std::string& customer_id,
                          CustomerInsightsQuery query,
                          timeline::Done<v1::CustomerInsights> done);

// The insights of `record` (customer `live_id`, asked for as `customer_id`).
absl::StatusOr<v1::CustomerInsights> BuildCustomerInsights(
    const InsightsEngine& engine, const std::string& customer_id,
    const std::string& live_id, const CustomerRecord& record,
    const CustomerInsightsQuery& query);

// The period's days, both included; `channel` 0: all, plus each channel.
absl::StatusOr<v1::GetKpisResponse> ComputeKpis(const InsightsEngine& engine,
                                                int64_t first_day,
                                                int64_t last_day, int channel,
                                                const std::string& currency);

absl::StatusOr<v1::GetCohortsResponse> ComputeCohorts(
    const InsightsEngine& engine, absl::CivilMonth first, absl::CivilMonth last,
    int channel);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_QUERIES_H_

// Customers drawn from a BG/NBD population, for the purchase models' tests
// and benchmark: their summaries as a service would make them from purchase
// days.
//
//   std::vector<PurchaseSummary> customers = SimulateBgNbdCustomers(
//       {.r = 0.5, .alpha = 5, .a = 0.7, .b = 3}, 100000, 365, /*seed=*/1);
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_SYNTHETIC_CUSTOMERS_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_SYNTHETIC_CUSTOMERS_H_

#include <cstdint>
#include <vector>

#include "services/insights/purchase_model/bg_nbd.h"

namespace omnihub::insights {

// `customers` summaries in weeks: each customer's purchase rate is drawn
// from Gamma(r, alpha) (per week), the dropout probability from Beta(a, b);
// first purchases fall on whole days spread evenly over the `cohort_days`
// days before the end of observation; repeat purchases come as a Poisson
// process, each followed by dropping out with that probability; t_x and T
// are counted in whole days. The same seed gives the same customers.
std::vector<PurchaseSummary> SimulateBgNbdCustomers(const BgNbdParams& params,
                                                    int customers,
                                                    int cohort_days,
                                                    uint64_t seed);

// The same customers purchase by purchase (for a benchmark that sends them
// as events): each one's first purchase `age_days` days before the end of
// observation, and its repeat purchases, in weeks after the first.
struct SimulatedCustomer {
  int age_days = 0;
  std::vector<double> repeat_weeks;
};
std::vector<SimulatedCustomer> SimulateBgNbdPurchases(const BgNbdParams& params,
                                                      int customers,
                                                      int cohort_days,
                                                      uint64_t seed);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_SYNTHETIC_CUSTOMERS_H_

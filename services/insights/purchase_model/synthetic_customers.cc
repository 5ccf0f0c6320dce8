#include "services/insights/purchase_model/synthetic_customers.h"

#include <cmath>
#include <random>

namespace omnihub::insights {
namespace {

constexpr double kDaysPerWeek = 7;

}  // namespace

std::vector<SimulatedCustomer> SimulateBgNbdPurchases(const BgNbdParams& params,
                                                      int customers,
                                                      int cohort_days,
                                                      uint64_t seed) {
  std::mt19937_64 random(seed);
  std::gamma_distribution<double> rate(params.r, 1 / params.alpha);
  std::gamma_distribution<double> beta_a(params.a, 1);
  std::gamma_distribution<double> beta_b(params.b, 1);
  std::uniform_int_distribution<int> age_days(0, cohort_days - 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<SimulatedCustomer> simulated;
  simulated.reserve(customers);
  for (int i = 0; i < customers; ++i) {
    const double lambda = rate(random);
    const double g = beta_a(random);
    const double dropout = g / (g + beta_b(random));  // Beta(a, b)
    SimulatedCustomer customer;
    customer.age_days = age_days(random);
    const double age = customer.age_days / kDaysPerWeek;
    if (lambda > 0) {  // a rate that rounded to 0: never buys again
      std::exponential_distribution<double> wait(lambda);
      for (double t = wait(random); t <= age; t += wait(random)) {
        customer.repeat_weeks.push_back(t);
        if (uniform(random) < dropout) break;
      }
    }
    simulated.push_back(std::move(customer));
  }
  return simulated;
}

std::vector<PurchaseSummary> SimulateBgNbdCustomers(const BgNbdParams& params,
                                                    int customers,
                                                    int cohort_days,
                                                    uint64_t seed) {
  std::vector<PurchaseSummary> summaries;
  summaries.reserve(customers);
  for (const SimulatedCustomer& customer :
       SimulateBgNbdPurchases(params, customers, cohort_days, seed)) {
    PurchaseSummary summary{
        .x = 0, .t_x = 0, .T = customer.age_days / kDaysPerWeek};
    if (!customer.repeat_weeks.empty()) {
      summary.x = static_cast<double>(customer.repeat_weeks.size());
      summary.t_x = std::floor(customer.repeat_weeks.back() * kDaysPerWeek) /
                    kDaysPerWeek;
    }
    summaries.push_back(summary);
  }
  return summaries;
}

}  // namespace omnihub::insights

#include "services/insights/purchase_model/synthetic_customers.h"

#include <cmath>
#include <random>

namespace omnihub::insights {

std::vector<PurchaseSummary> SimulateBgNbdCustomers(const BgNbdParams& params,
                                                    int customers,
                                                    int cohort_days,
                                                    uint64_t seed) {
  constexpr double kDaysPerWeek = 7;
  std::mt19937_64 random(seed);
  std::gamma_distribution<double> rate(params.r, 1 / params.alpha);
  std::gamma_distribution<double> beta_a(params.a, 1);
  std::gamma_distribution<double> beta_b(params.b, 1);
  std::uniform_int_distribution<int> age_days(0, cohort_days - 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<PurchaseSummary> summaries;
  summaries.reserve(customers);
  for (int i = 0; i < customers; ++i) {
    const double lambda = rate(random);
    const double g = beta_a(random);
    const double dropout = g / (g + beta_b(random));  // Beta(a, b)
    const double age = age_days(random) / kDaysPerWeek;
    PurchaseSummary s{.x = 0, .t_x = 0, .T = age};
    if (!(lambda > 0)) {  // a rate that rounded to 0: never buys again
      summaries.push_back(s);
      continue;
    }
    std::exponential_distribution<double> wait(lambda);
    for (double t = wait(random); t <= age; t += wait(random)) {
      s.x += 1;
      s.t_x = std::floor(t * kDaysPerWeek) / kDaysPerWeek;
      if (uniform(random) < dropout) break;
    }
    summaries.push_back(s);
  }
  return summaries;
}

}  // namespace omnihub::insights

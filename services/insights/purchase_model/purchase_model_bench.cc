// Times the purchase models: the fits on CDNOW and on 1,000,000 simulated
// customers (summaries in whole days, aggregated), and per-customer scoring.
// Not a test: prints what it measured.
//
//   build/stats/services/insights/purchase_model/purchase_model_bench
#include <cstdio>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/insights/purchase_model/bg_nbd_fit.h"
#include "services/insights/purchase_model/cdnow_test_data.h"
#include "services/insights/purchase_model/gamma_gamma.h"
#include "services/insights/purchase_model/lifetime_value.h"
#include "services/insights/purchase_model/synthetic_customers.h"

namespace omnihub::insights {
namespace {

double MillisecondsSince(absl::Time start) {
  return absl::ToDoubleMilliseconds(absl::Now() - start);
}

void Print(const char* what, const absl::StatusOr<BgNbdFit>& fit,
           double milliseconds) {
  if (!fit.ok()) {
    absl::PrintF("%s: %s\n", what, fit.status().ToString());
    return;
  }
  absl::PrintF(
      "%s: r=%.7f alpha=%.7f a=%.7f b=%.7f log-likelihood=%.4f "
      "(%d evaluations) in %.1f ms\n",
      what, fit->params.r, fit->params.alpha, fit->params.a, fit->params.b,
      fit->log_likelihood, fit->evaluations, milliseconds);
}

int Run() {
  absl::StatusOr<std::vector<CdnowCustomer>> sample = ReadCdnowSample();
  if (!sample.ok()) {
    absl::PrintF("%s\n", sample.status().ToString());
    return 1;
  }
  std::vector<WeightedSummary> customers;
  std::vector<WeightedSpend> spenders;
  for (const CdnowCustomer& c : *sample) {
    customers.push_back({c.summary, 1});
    if (c.summary.x > 0) spenders.push_back({{c.summary.x, c.zbar}, 1});
  }
  constexpr int kRepeats = 20;
  absl::Time start = absl::Now();
  absl::StatusOr<BgNbdFit> fit;
  for (int i = 0; i < kRepeats; ++i) fit = FitBgNbd(customers);
  Print("BG/NBD, CDNOW 2,357", fit, MillisecondsSince(start) / kRepeats);

  start = absl::Now();
  absl::StatusOr<GammaGammaFit> spend;
  for (int i = 0; i < kRepeats; ++i) spend = FitGammaGamma(spenders);
  const double spend_ms = MillisecondsSince(start) / kRepeats;
  if (spend.ok()) {
    absl::PrintF(
        "Gamma-Gamma, CDNOW 946: p=%.5f q=%.5f gamma=%.5f log-likelihood=%.4f "
        "(%d evaluations) in %.1f ms\n",
        spend->params.p, spend->params.q, spend->params.gamma,
        spend->log_likelihood, spend->evaluations, spend_ms);
  }

  if (fit.ok() && spend.ok()) {
    start = absl::Now();
    double total = 0;
    for (const CdnowCustomer& c : *sample) {
      const double m =
          ExpectedAverageSpend(spend->params, {c.summary.x, c.zbar});
      total += LifetimeValue(fit->params, c.summary, m, 12, 52.0 / 12, 0.01);
    }
    absl::PrintF(
        "lifetime value, 12 monthly periods, 2,357 customers: total %.2f in "
        "%.1f ms\n",
        total, MillisecondsSince(start));
  }

  const BgNbdParams truth{.r = 0.5, .alpha = 5, .a = 0.7, .b = 3};
  for (int cohort_days : {365, 1095}) {
    const std::vector<PurchaseSummary> simulated =
        SimulateBgNbdCustomers(truth, 1'000'000, cohort_days, 1);
    start = absl::Now();
    const std::vector<WeightedSummary> distinct = AggregateSummaries(simulated);
    const double aggregate_ms = MillisecondsSince(start);
    start = absl::Now();
    absl::StatusOr<BgNbdFit> big = FitBgNbd(distinct);
    const double fit_ms = MillisecondsSince(start);
    absl::PrintF(
        "1,000,000 simulated customers over %d days (r=0.5 alpha=5 a=0.7 "
        "b=3): %d distinct summaries, aggregated in %.0f ms\n",
        cohort_days, distinct.size(), aggregate_ms);
    Print("  BG/NBD on them", big, fit_ms);
  }
  return 0;
}

}  // namespace
}  // namespace omnihub::insights

int main() { return omnihub::insights::Run(); }

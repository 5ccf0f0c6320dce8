// The insights' background work and their population-wide operations, on one
// replica (any number of replicas run one each, against the same Redis):
//   - sweeps the deadline index: customers whose lifecycle changes today by
//     time alone get it recorded (see LifecycleKeeper);
//   - when the rules change (a new model, other thresholds), re-evaluates
//     every customer, one replica at a time, resumable where it stopped;
//   - loads the model other replicas fitted, and fits one on a schedule;
//   - counts customers per stage now and then, for the metrics;
//   - recomputes the RFM boundaries and every customer's top-customer
//     rankings now and then, and after every new model (the population
//     pass, population_pass.cc);
//   - fits the model on request, with a backtest.
// Time comes from the store's clock, so tests move it by days at once.
//
//   InsightsEngine engine(&store.context(), options, &metrics);
//   observers.Add(&engine.keeper());
//   observers.Add(&engine.ranking());
//   store.SetObserver(&observers);
//   engine.Start();  // the background thread
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_ENGINE_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "omnihub/v1/insights.pb.h"
#include "services/insights/analysis/customer_value.h"
#include "services/insights/analysis/model_fit.h"
#include "services/insights/lifecycle/lifecycle.h"
#include "services/insights/store/customer_read.h"
#include "services/insights/store/customer_scan.h"
#include "services/insights/store/insights_keys.h"
#include "services/insights/store/insights_metrics.h"
#include "services/insights/store/lifecycle_keeper.h"
#include "services/insights/store/model_holder.h"
#include "services/insights/store/ranking_keeper.h"
#include "services/insights/store/rfm_holder.h"
#include "services/timeline/store_context.h"
#include "services/timeline/worker_pool.h"

namespace omnihub::insights {

struct InsightsOptions {
  // The thresholds; the model, once fitted, joins them.
  LifecycleRules rules;
  LifecycleKeeperOptions keeper;
  // How often the background thread looks at deadlines, the model, the
  // re-evaluation and the census.
  absl::Duration tick = absl::Seconds(1);
  // Refits the model this often (zero: only on request).
  absl::Duration refit_interval = absl::Hours(24);
  // Counts customers per stage this often, for the metrics (zero: never).
  absl::Duration census_interval = absl::Minutes(15);
  // Recomputes the RFM boundaries and rewrites every customer's rankings
  // (the predicted value drifts with time) this often, and after every new
  // model (zero: never by itself, only RunPopulationPass).
  absl::Duration rfm_interval = absl::Hours(1);
  // Ranking refreshes the population pass starts per second at most (0: no
  // limit), `concurrency` at a time.
  int ranking_refresh_rate = 5000;
  // A fit reads at most this many customers, a uniform sample of all.
  int64_t model_sample_customers = 100000;
  ModelFitOptions fit;
  ValueSettings value;
  // Lifecycle refreshes in flight at once from the sweeper and the
  // re-evaluation, and at most this many started per second (0: no
  // limit), so a million deadlines falling due at once do not take the
  // Redis time ingest needs.
  int concurrency = 64;
  int refresh_rate = 2000;
  // Time the re-evaluation may take from each tick before the sweeper runs.
  absl::Duration reevaluation_slice = absl::Seconds(2);
  ScanOptions scan;
  // This replica's name, in the model's fitted_by and in leases.
  std::string replica = "omnihub";
  // Threads for fits, KPIs and cohorts (they read the whole base).
  int threads = 2;
};

class InsightsEngine {
 public:
  // `metrics` may be null. The context must outlive the engine.
  InsightsEngine(const timeline::StoreContext* context, InsightsOptions options,
                 InsightsMetrics* metrics);
  ~InsightsEngine();

  InsightsEngine(const InsightsEngine&) = delete;
  InsightsEngine& operator=(const InsightsEngine&) = delete;

  // The observer to give the timeline store.
  LifecycleKeeper& keeper() { return keeper_; }
  // The observer that keeps the top-customer rankings.
  RankingKeeper& ranking() { return ranking_; }
  const RfmHolder& rfm() const { return rfm_; }
  const ModelHolder& model() const { return model_; }
  const InsightsOptions& options() const { return options_; }
  const timeline::StoreContext& context() const { return *context_; }
  const InsightsKeys& keys() const { return keys_; }
  const InsightsScripts& scripts() const { return scripts_; }
  absl::Time Now() const { return context_->options.clock(); }

  // The background thread: a tick every options.tick until Stop().
  void Start();
  void Stop();

  // One tick, as the background thread runs it (tests call it directly):
  // loads the model, re-evaluates (for up to a slice of time), sweeps the
  // deadlines due today, starts a scheduled fit or census when one is due.
  absl::Status Tick();
  // Parts of a tick. Blocking.
  absl::Status LoadModel();
  // How many customers were due.
  absl::StatusOr<int64_t> SweepDeadlines();
  // Whether every customer has been evaluated under the current rules.
  absl::StatusOr<bool> Reevaluate(absl::Duration slice);
  absl::Status TakeCensus();
  absl::Status LoadRfm();
  // The population pass: reads every customer, stores new RFM boundaries
  // (and the customers per segment), and refreshes every customer's
  // rankings with the current model. Blocking.
  absl::StatusOr<v1::RfmSummary> RunPopulationPass();

  // A customer's RFM scores and segment on `day`, from its purchases and
  // the boundaries in use; nullopt for a customer without a purchase by
  // then, or before the boundaries were first computed. For any code that
  // needs a customer's RFM segment (e.g. segment conditions).
  std::optional<RfmScore> RfmOf(const CustomerRecord& record,
                                int64_t day) const;

  // Fits the model over the purchases before `as_of` (now when unset) and
  // makes it the one in use; backtests it over `holdout_days` after as_of
  // when more than 0. Blocking.
  absl::StatusOr<v1::PurchaseModel> Fit(std::optional<absl::Time> as_of,
                                        int holdout_days,
                                        absl::string_view trigger);

  // Runs `work` on the engine's threads (fits, KPIs, cohorts).
  void Schedule(absl::AnyInvocable<void() &&> work);

 private:
  // Refreshes every customer of `ids` (`concurrency` at a time) and waits.
  absl::Status ReconcileAll(const std::vector<std::string>& ids,
                            RefreshTrigger trigger);
  // SET NX PX `lease` for this replica, or renew it when it holds it.
  absl::StatusOr<bool> TakeLease(const std::string& key, absl::Duration ttl);
  // SET NX PX only: true when no replica, this one included, held it.
  absl::StatusOr<bool> TakeFreeLease(const std::string& key,
                                     absl::Duration ttl);
  void MaybeStartScheduledFit();
  void MaybeStartCensus();
  void MaybeStartPopulationPass();
  void PublishCensus();

  const timeline::StoreContext* context_;
  const InsightsOptions options_;
  InsightsMetrics* metrics_;
  const InsightsKeys keys_;
  const InsightsScripts scripts_;
  ModelHolder model_;
  LifecycleKeeper keeper_;
  RfmHolder rfm_;
  RankingKeeper ranking_;

  // When the next background refresh may start (see refresh_rate); used by
  // the thread that ticks.
  absl::Time next_refresh_ = absl::InfinitePast();
  std::atomic<bool> fitting_{false};
  std::atomic<bool> counting_{false};
  std::atomic<bool> passing_{false};
  absl::Time last_census_read_ = absl::InfinitePast();
  absl::Notification stop_;
  std::thread thread_;
  // Last: joined first.
  timeline::WorkerPool workers_;
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_INSIGHTS_ENGINE_H_

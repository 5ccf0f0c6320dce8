#include "services/insights/store/insights_engine.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"
#include "common/redis/blocking_calls.h"
#include "services/timeline/stored_event.h"

namespace omnihub::insights {
namespace {

using redis::Reply;

// Entries read from a deadline shard at a time, and rounds per shard per
// tick (a replica that falls behind catches up over the next ticks).
constexpr int kSweepBatch = 500;
constexpr int kSweepRounds = 20;
constexpr absl::Duration kPassLease = absl::Seconds(60);
constexpr absl::Duration kCensusRead = absl::Seconds(10);

v1::PurchaseModel ToProto(const ModelFitReport& report) {
  v1::PurchaseModel model;
  model.set_r(report.model.purchases.r);
  model.set_alpha(report.model.purchases.alpha);
  model.set_a(report.model.purchases.a);
  model.set_b(report.model.purchases.b);
  model.set_log_likelihood(report.purchase_fit.log_likelihood);
  model.set_time_unit_days(kDaysPerModelUnit);
  model.set_customers(report.purchase_fit.customers);
  model.set_repeat_customers(report.repeat_customers);
  for (const auto& [currency, fit] : report.spend_fits) {
    v1::SpendModel* spend = model.add_spend_models();
    spend->set_currency(currency);
    spend->set_p(fit.params.p);
    spend->set_q(fit.params.q);
    spend->set_gamma(fit.params.gamma);
    spend->set_log_likelihood(fit.log_likelihood);
    spend->set_customers(fit.customers);
  }
  return model;
}

void SetBacktest(const BacktestFigures& figures, int64_t as_of_day,
                 int holdout_days, v1::BacktestReport* report) {
  *report->mutable_holdout_start() =
      timeline::FromMicros(absl::ToUnixMicros(StartOfDay(as_of_day)));
  report->set_holdout_days(holdout_days);
  report->set_customers(figures.customers);
  report->set_actual_purchases(figures.actual);
  report->set_predicted_purchases(figures.predicted);
  report->set_correlation(figures.correlation);
  report->set_root_mean_squared_error(figures.root_mean_squared_error);
  for (const BacktestFigures::Bucket& bucket : figures.by_frequency) {
    v1::FrequencyBucket* out = report->add_by_frequency();
    out->set_repeat_occasions(bucket.x);
    out->set_customers(bucket.customers);
    out->set_mean_actual(bucket.mean_actual);
    out->set_mean_predicted(bucket.mean_predicted);
  }
}

}  // namespace

InsightsEngine::InsightsEngine(const timeline::StoreContext* context,
                               InsightsOptions options,
                               InsightsMetrics* metrics)
    : context_(context),
      options_(std::move(options)),
      metrics_(metrics),
      keys_(context->keys.prefix()),
      model_(options_.rules),
      keeper_(context, &keys_, &scripts_, &model_, metrics, options_.keeper),
      ranking_(context, &keys_, &scripts_, &model_, options_.value),
      workers_(options_.threads) {}

InsightsEngine::~InsightsEngine() { Stop(); }

void InsightsEngine::Start() {
  thread_ = std::thread([this] {
    do {
      if (absl::Status status = Tick(); !status.ok()) {
        log::Warning("insights: %s", status.message());
      }
    } while (!stop_.WaitForNotificationWithTimeout(options_.tick));
  });
}

void InsightsEngine::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void InsightsEngine::Schedule(absl::AnyInvocable<void() &&> work) {
  workers_.Schedule(std::move(work));
}

absl::Status InsightsEngine::Tick() {
  absl::Status status = LoadModel();
  if (status.ok()) status = LoadRfm();
  if (status.ok()) {
    absl::StatusOr<bool> evaluated = Reevaluate(options_.reevaluation_slice);
    if (!evaluated.ok()) status = evaluated.status();
  }
  absl::StatusOr<int64_t> swept = SweepDeadlines();
  if (!swept.ok() && status.ok()) status = swept.status();
  MaybeStartScheduledFit();
  MaybeStartCensus();
  if (status.ok()) MaybeStartPopulationPass();
  PublishCensus();
  return status;
}

absl::Status InsightsEngine::LoadModel() {
  absl::StatusOr<std::optional<v1::PurchaseModel>> stored =
      insights::LoadModel(*context_->redis, keys_.Model());
  if (!stored.ok()) return stored.status();
  const bool had = model_.Get()->proto.has_value();
  if (model_.Set(*std::move(stored)) && model_.Get()->proto.has_value()) {
    const v1::PurchaseModel& model = *model_.Get()->proto;
    log::Info(
        "insights: %s purchase model fitted by %s at %d (r=%.4f alpha=%.4f "
        "a=%.4f b=%.4f over %.0f customers)",
        had ? "new" : "using the", model.fitted_by(),
        model.fitted_at().seconds(), model.r(), model.alpha(), model.a(),
        model.b(), model.customers());
  }
  return absl::OkStatus();
}

absl::Status InsightsEngine::ReconcileAll(const std::vector<std::string>& ids,
                                          RefreshTrigger trigger) {
  absl::Mutex mutex;
  absl::CondVar finished;
  int in_flight = 0;
  absl::Status first_error;
  const int limit = std::max(options_.concurrency, 1);
  for (const std::string& id : ids) {
    if (options_.refresh_rate > 0) {
      const absl::Time now = absl::Now();
      if (next_refresh_ > now) absl::SleepFor(next_refresh_ - now);
      next_refresh_ = std::max(next_refresh_, now) +
                      absl::Seconds(1) / options_.refresh_rate;
    }
    {
      absl::MutexLock lock(&mutex);
      while (in_flight >= limit) finished.Wait(&mutex);
      ++in_flight;
    }
    // Not under the lock: `done` may run at once on this thread.
    keeper_.Reconcile(id, trigger, [&](absl::Status status) {
      absl::MutexLock lock(&mutex);
      if (!status.ok() && first_error.ok()) first_error = std::move(status);
      --in_flight;
      finished.Signal();
    });
  }
  absl::MutexLock lock(&mutex);
  while (in_flight > 0) finished.Wait(&mutex);
  return first_error;
}

absl::StatusOr<int64_t> InsightsEngine::SweepDeadlines() {
  const std::string today = absl::StrCat(DayOf(Now()));
  std::vector<std::string> shards = keys_.DeadlineShards();
  // Replicas start at different shards, so they share the work.
  std::shuffle(shards.begin(), shards.end(), absl::BitGen());
  auto due_in = [&](const std::string& shard) -> std::vector<std::string> {
    return {"ZRANGEBYSCORE",          shard, "-inf", today, "LIMIT", "0",
            absl::StrCat(kSweepBatch)};
  };
  // Most ticks find nothing due: one pipelined look at every shard, and
  // only shards with something due are read again.
  std::vector<std::vector<std::string>> looks;
  for (const std::string& shard : shards) looks.push_back(due_in(shard));
  redis::Replies first =
      redis::CallAllAndWait(*context_->redis, std::move(looks));
  int64_t due = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    absl::StatusOr<Reply> entries = std::move(first[s]);
    for (int round = 0; round < kSweepRounds; ++round) {
      entries = timeline::Expect(std::move(entries), Reply::Type::kArray,
                                 "the deadline index");
      if (!entries.ok()) return entries.status();
      if (entries->elements.empty()) break;
      due += static_cast<int64_t>(entries->elements.size());
      std::vector<std::string> ids;
      for (Reply& entry : entries->elements)
        ids.push_back(std::move(entry.str));
      if (absl::Status status = ReconcileAll(ids, RefreshTrigger::kDeadline);
          !status.ok()) {
        return status;
      }
      entries = redis::CallAndWait(*context_->redis, due_in(shards[s]));
    }
  }
  if (metrics_ != nullptr) metrics_->deadlines_due().Set(due);
  return due;
}

absl::StatusOr<bool> InsightsEngine::TakeLease(const std::string& key,
                                               absl::Duration ttl) {
  const std::string millis = absl::StrCat(absl::ToInt64Milliseconds(ttl));
  redis::Replies replies = redis::CallAllAndWait(
      *context_->redis,
      {{"SET", key, options_.replica, "NX", "PX", millis}, {"GET", key}});
  for (absl::StatusOr<Reply>& reply : replies) {
    reply = redis::ErrorReplyAsStatus(std::move(reply), "a lease");
    if (!reply.ok()) return reply.status();
  }
  if (replies[0]->type == Reply::Type::kStatus) return true;
  if (TextOf(*replies[1]) != options_.replica) return false;
  absl::StatusOr<Reply> renewed = redis::ErrorReplyAsStatus(
      redis::CallAndWait(*context_->redis, {"PEXPIRE", key, millis}),
      "a lease");
  if (!renewed.ok()) return renewed.status();
  return true;
}

absl::StatusOr<bool> InsightsEngine::TakeFreeLease(const std::string& key,
                                                   absl::Duration ttl) {
  absl::StatusOr<Reply> taken = redis::ErrorReplyAsStatus(
      redis::CallAndWait(*context_->redis,
                         {"SET", key, options_.replica, "NX", "PX",
                          absl::StrCat(absl::ToInt64Milliseconds(ttl))}),
      "a lease");
  if (!taken.ok()) return taken.status();
  return taken->type == Reply::Type::kStatus;
}

absl::StatusOr<bool> InsightsEngine::Reevaluate(absl::Duration slice) {
  const std::shared_ptr<const CurrentModel> model = model_.Get();
  absl::StatusOr<Reply> state = timeline::Expect(
      redis::CallAndWait(*context_->redis,
                         {"HMGET", keys_.Pass(), "rules", "running", "cursor"}),
      Reply::Type::kArray, "the re-evaluation");
  if (!state.ok()) return state.status();
  if (TextOf(state->elements[0]) == model->fingerprint) return true;
  absl::StatusOr<bool> lease = TakeLease(keys_.PassLease(), kPassLease);
  if (!lease.ok()) return lease.status();
  if (!*lease) return false;  // another replica is at it
  const bool resuming = TextOf(state->elements[1]) == model->fingerprint &&
                        !TextOf(state->elements[2]).empty();
  std::string cursor = resuming ? TextOf(state->elements[2]) : std::string("0");
  if (!resuming) {
    log::Info("insights: evaluating every customer's lifecycle under %s",
              model->fingerprint);
    absl::StatusOr<Reply> started = redis::ErrorReplyAsStatus(
        redis::CallAndWait(*context_->redis,
                           {"HSET", keys_.Pass(), "running", model->fingerprint,
                            "cursor", cursor}),
        "the re-evaluation");
    if (!started.ok()) return started.status();
  }
  const absl::Time until = absl::Now() + slice;
  do {
    absl::StatusOr<CustomerIdsStep> step =
        ScanCustomerIds(*context_, keys_, cursor, options_.scan.scan_count);
    if (!step.ok()) return step.status();
    if (step->restarted) {
      // Each lifecycle is recomputed from the customer's own data, so
      // evaluating some again costs time only.
      log::Info(
          "insights: the Redis nodes changed since the lifecycle pass began "
          "(a failover?): it starts again from the first node");
    }
    if (absl::Status status =
            ReconcileAll(step->ids, RefreshTrigger::kReevaluation);
        !status.ok()) {
      return status;
    }
    cursor = std::move(step->cursor);
    std::vector<std::string> save = {"HSET", keys_.Pass(), "cursor", cursor};
    if (cursor == "0") {
      save = {"HSET",    keys_.Pass(), "rules",  model->fingerprint,
              "running", "",           "cursor", ""};
    }
    absl::StatusOr<Reply> saved = redis::ErrorReplyAsStatus(
        redis::CallAndWait(*context_->redis, std::move(save)),
        "the re-evaluation");
    if (!saved.ok()) return saved.status();
    absl::StatusOr<bool> renewed = TakeLease(keys_.PassLease(), kPassLease);
    if (!renewed.ok()) return renewed.status();
    if (!*renewed) return false;
  } while (cursor != "0" && absl::Now() < until);
  if (cursor != "0") return false;
  log::Info("insights: every customer's lifecycle evaluated under %s",
            model->fingerprint);
  redis::CallAndWait(*context_->redis, {"DEL", keys_.PassLease()})
      .IgnoreError();
  return true;
}

absl::StatusOr<v1::PurchaseModel> InsightsEngine::Fit(
    std::optional<absl::Time> as_of, int holdout_days,
    absl::string_view trigger) {
  const absl::Time started = absl::Now();
  const absl::Time fitted_at = Now();
  const int64_t as_of_day = DayOf(as_of.value_or(fitted_at));
  ModelFitData data(as_of_day, holdout_days);
  ScanOptions scan = options_.scan;
  scan.sample = options_.model_sample_customers;
  absl::StatusOr<ScanResult> scanned =
      ScanCustomers(*context_, keys_, scan,
                    [&](const std::string&, const CustomerRecord& record) {
                      data.Add(record);
                      return absl::OkStatus();
                    });
  absl::StatusOr<ModelFitReport> report =
      scanned.ok() ? FitModel(data, options_.fit)
                   : absl::StatusOr<ModelFitReport>(scanned.status());
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  if (metrics_ != nullptr) {
    metrics_->fits(report.ok()).Increment();
    metrics_->fit_duration().Observe(seconds);
  }
  if (!report.ok()) {
    log::Warning("insights: the purchase model was not fitted (%s): %s",
                 trigger, report.status().message());
    return report.status();
  }
  v1::PurchaseModel model = ToProto(*report);
  *model.mutable_fitted_at() =
      timeline::FromMicros(absl::ToUnixMicros(fitted_at));
  *model.mutable_as_of() =
      timeline::FromMicros(absl::ToUnixMicros(StartOfDay(as_of_day)));
  model.set_population(scanned->customers);
  model.set_fit_seconds(seconds);
  model.set_fitted_by(options_.replica);
  model.set_trigger(std::string(trigger));
  if (report->backtest.has_value()) {
    SetBacktest(*report->backtest, as_of_day, holdout_days,
                model.mutable_backtest());
  }
  if (absl::Status saved = SaveModel(*context_->redis, keys_.Model(), model);
      !saved.ok()) {
    return saved;
  }
  model_.Set(model);
  log::Info(
      "insights: purchase model fitted (%s) as of day %d over %.0f "
      "customers in %.2fs: r=%.4f alpha=%.4f a=%.4f b=%.4f, log-likelihood "
      "%.2f",
      trigger, as_of_day, model.customers(), seconds, model.r(), model.alpha(),
      model.a(), model.b(), model.log_likelihood());
  return model;
}

void InsightsEngine::MaybeStartScheduledFit() {
  if (options_.refit_interval <= absl::ZeroDuration()) return;
  const std::shared_ptr<const CurrentModel> model = model_.Get();
  const absl::Time now = Now();
  if (model->proto.has_value() &&
      absl::FromUnixSeconds(model->proto->fitted_at().seconds()) +
              options_.refit_interval >
          now) {
    return;
  }
  if (fitting_.exchange(true)) return;
  // The lease outlives a failed attempt, so a base too small to fit is
  // tried again an hour (or an interval) later, not on every tick: not
  // renewed by the replica that holds it, which would let it straight back.
  absl::StatusOr<bool> lease = TakeFreeLease(
      keys_.FitLease(), std::min(options_.refit_interval, absl::Hours(1)));
  if (!lease.ok() || !*lease) {
    fitting_ = false;
    return;
  }
  Schedule([this] {
    Fit(std::nullopt, 0, "schedule").IgnoreError();
    fitting_ = false;
  });
}

absl::Status InsightsEngine::TakeCensus() {
  const int64_t today = DayOf(Now());
  int64_t counts[5] = {0, 0, 0, 0, 0};
  absl::StatusOr<ScanResult> scanned = ScanCustomers(
      *context_, keys_, options_.scan,
      [&](const std::string&, const CustomerRecord& record) {
        std::optional<Stage> stage = StageFromHistory(
            record.stored_history(), record.first_seen_day(), today);
        ++counts[static_cast<int>(stage.value_or(Stage::kProspect)) - 1];
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned.status();
  std::vector<std::string> command = {"HSET", keys_.Census(), "at",
                                      absl::StrCat(absl::ToUnixSeconds(Now()))};
  for (int stage = 1; stage <= 5; ++stage) {
    command.push_back(std::string(StageName(static_cast<Stage>(stage))));
    command.push_back(absl::StrCat(counts[stage - 1]));
  }
  last_census_read_ = absl::InfinitePast();
  return redis::ErrorReplyAsStatus(
             redis::CallAndWait(*context_->redis, std::move(command)),
             "the census")
      .status();
}

void InsightsEngine::MaybeStartCensus() {
  if (options_.census_interval <= absl::ZeroDuration()) return;
  if (counting_.exchange(true)) return;
  absl::StatusOr<bool> lease =
      TakeLease(keys_.CensusLease(), options_.census_interval);
  if (!lease.ok() || !*lease) {
    counting_ = false;
    return;
  }
  // The lease is left to expire: the next census is one interval later.
  Schedule([this] {
    if (absl::Status status = TakeCensus(); !status.ok()) {
      log::Warning("insights: census: %s", status.message());
    }
    counting_ = false;
  });
}

void InsightsEngine::PublishCensus() {
  if (metrics_ == nullptr || absl::Now() - last_census_read_ < kCensusRead) {
    return;
  }
  last_census_read_ = absl::Now();
  absl::StatusOr<Reply> census = timeline::Expect(
      redis::CallAndWait(*context_->redis, {"HGETALL", keys_.Census()}),
      Reply::Type::kArray, "the census");
  if (!census.ok()) return;
  for (size_t i = 0; i + 1 < census->elements.size(); i += 2) {
    for (int stage = 1; stage <= 5; ++stage) {
      if (census->elements[i].str == StageName(static_cast<Stage>(stage))) {
        double count = 0;
        if (absl::SimpleAtod(census->elements[i + 1].str, &count)) {
          metrics_->customers(static_cast<Stage>(stage)).Set(count);
        }
      }
    }
  }
}

}  // namespace omnihub::insights

// The population pass of InsightsEngine: every --rfm_interval, and after
// every new purchase model, one replica (the one holding the lease) reads
// every customer node by node, computes the RFM quintile boundaries and the
// customers per segment, stores them for every replica, and refreshes every
// customer's top-customer rankings, so that predicted values follow time
// and the model (and anything a lost write left behind is repaired).
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"
#include "common/redis/blocking_calls.h"
#include "services/insights/store/insights_engine.h"
#include "services/timeline/stored_event.h"

namespace omnihub::insights {
namespace {

// A pass that dies leaves its lease to lapse; one that finishes frees it.
constexpr absl::Duration kPassLease = absl::Minutes(15);

void AddCuts(const std::array<int64_t, 4>& cuts,
             google::protobuf::RepeatedField<int64_t>* out) {
  for (int64_t cut : cuts) out->Add(cut);
}

v1::RfmSummary SummaryOf(const RfmBoundaries& boundaries,
                         const std::array<int64_t, kRfmSegments>& counts) {
  v1::RfmSummary summary;
  *summary.mutable_as_of() =
      timeline::FromMicros(absl::ToUnixMicros(StartOfDay(boundaries.day)));
  summary.set_customers(boundaries.customers);
  AddCuts(boundaries.recency_days, summary.mutable_recency_days());
  AddCuts(boundaries.occasions, summary.mutable_occasions());
  for (const auto& [currency, entry] : boundaries.monetary) {
    v1::RfmCurrencyBoundaries* out = summary.add_monetary();
    out->set_currency(currency);
    out->set_customers(entry.customers);
    AddCuts(entry.micros, out->mutable_amount_micros());
  }
  for (int segment = 1; segment <= kRfmSegments; ++segment) {
    v1::RfmSegmentCount* count = summary.add_segments();
    count->set_segment(static_cast<v1::RfmSegment>(segment));
    count->set_customers(counts[segment - 1]);
  }
  return summary;
}

}  // namespace

absl::Status InsightsEngine::LoadRfm() {
  absl::StatusOr<std::optional<v1::RfmSummary>> stored =
      insights::LoadRfm(*context_->redis, keys_.Rfm());
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return absl::OkStatus();
  if (rfm_.Set(*std::move(stored)) && metrics_ != nullptr) {
    for (const v1::RfmSegmentCount& count : rfm_.Get()->proto->segments()) {
      metrics_->rfm_customers(count.segment()).Set(count.customers());
    }
  }
  return absl::OkStatus();
}

std::optional<RfmScore> InsightsEngine::RfmOf(const CustomerRecord& record,
                                              int64_t day) const {
  return ScoreRfm(rfm_.Get()->boundaries, record, day);
}

absl::StatusOr<v1::RfmSummary> InsightsEngine::RunPopulationPass() {
  const absl::Time started = absl::Now();
  const absl::Time now = Now();
  const int64_t day = DayOf(now);
  const std::shared_ptr<const CurrentModel> model = model_.Get();
  RfmPopulation population(day);
  // Recency days and occasions of every customer with a purchase, to count
  // the segments once the boundaries are known.
  std::vector<std::pair<int64_t, int64_t>> scored;

  absl::Mutex mutex;
  absl::CondVar finished;
  int in_flight = 0;
  absl::Status first_error;
  const int limit = std::max(options_.concurrency, 1);
  absl::Time next_refresh = absl::InfinitePast();
  absl::StatusOr<ScanResult> scanned = ScanCustomers(
      *context_, keys_, options_.scan,
      [&](const std::string& id, const CustomerRecord& record) {
        const int64_t occasions = record.OccasionsOn(day);
        if (record.days().empty()) return absl::OkStatus();
        population.Add(record);
        if (occasions > 0) {
          scored.emplace_back(day - record.days()[occasions - 1], occasions);
        }
        if (options_.ranking_refresh_rate > 0) {
          const absl::Time clock = absl::Now();
          if (next_refresh > clock) absl::SleepFor(next_refresh - clock);
          next_refresh = std::max(next_refresh, clock) +
                         absl::Seconds(1) / options_.ranking_refresh_rate;
        }
        {
          absl::MutexLock lock(&mutex);
          while (in_flight >= limit) finished.Wait(&mutex);
          ++in_flight;
        }
        ranking_.PurchasesChanged(id, [&](absl::Status status) {
          absl::MutexLock lock(&mutex);
          if (!status.ok() && first_error.ok()) first_error = std::move(status);
          --in_flight;
          finished.Signal();
        });
        return absl::OkStatus();
      });
  {
    absl::MutexLock lock(&mutex);
    while (in_flight > 0) finished.Wait(&mutex);
  }
  if (!scanned.ok()) return scanned.status();
  if (!first_error.ok()) return first_error;

  const RfmBoundaries boundaries = std::move(population).Boundaries();
  std::array<int64_t, kRfmSegments> counts = {};
  for (const auto& [recency_days, occasions] : scored) {
    const RfmSegment segment =
        RfmSegmentOf(6 - QuintileOf(boundaries.recency_days, recency_days),
                     QuintileOf(boundaries.occasions, occasions));
    ++counts[static_cast<int>(segment) - 1];
  }
  v1::RfmSummary summary = SummaryOf(boundaries, counts);
  *summary.mutable_computed_at() =
      timeline::FromMicros(absl::ToUnixMicros(now));
  if (model->proto.has_value()) {
    *summary.mutable_model_fitted_at() = model->proto->fitted_at();
  }
  summary.set_computed_by(options_.replica);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  summary.set_compute_seconds(seconds);
  if (absl::Status saved = SaveRfm(*context_->redis, keys_.Rfm(), summary);
      !saved.ok()) {
    return saved;
  }
  rfm_.Set(summary);
  if (metrics_ != nullptr) {
    metrics_->population_pass_seconds().Set(seconds);
    for (int segment = 1; segment <= kRfmSegments; ++segment) {
      metrics_->rfm_customers(segment).Set(counts[segment - 1]);
    }
  }
  log::Info(
      "insights: RFM boundaries and rankings of %d customers with a "
      "purchase recomputed in %.2fs",
      boundaries.customers, seconds);
  return summary;
}

void InsightsEngine::MaybeStartPopulationPass() {
  if (options_.rfm_interval <= absl::ZeroDuration()) return;
  const std::shared_ptr<const CurrentRfm> rfm = rfm_.Get();
  const std::shared_ptr<const CurrentModel> model = model_.Get();
  if (rfm->proto.has_value()) {
    const bool model_changed =
        model->proto.has_value() &&
        model->proto->fitted_at().SerializeAsString() !=
            rfm->proto->model_fitted_at().SerializeAsString();
    const bool interval_over =
        absl::FromUnixSeconds(rfm->proto->computed_at().seconds()) +
            options_.rfm_interval <=
        Now();
    if (!model_changed && !interval_over) return;
  }
  if (passing_.exchange(true)) return;
  absl::StatusOr<bool> lease = TakeFreeLease(keys_.RfmLease(), kPassLease);
  if (!lease.ok() || !*lease) {
    passing_ = false;
    return;
  }
  Schedule([this] {
    absl::StatusOr<v1::RfmSummary> summary = RunPopulationPass();
    if (!summary.ok()) {
      log::Warning("insights: RFM and rankings pass: %s",
                   summary.status().message());
    } else {
      redis::CallAndWait(*context_->redis, {"DEL", keys_.RfmLease()})
          .IgnoreError();
    }
    passing_ = false;
  });
}

}  // namespace omnihub::insights

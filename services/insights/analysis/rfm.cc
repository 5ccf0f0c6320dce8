#include "services/insights/analysis/rfm.h"

#include <algorithm>
#include <tuple>

namespace omnihub::insights {

absl::string_view RfmSegmentName(RfmSegment segment) {
  switch (segment) {
    case RfmSegment::kChampions:
      return "champions";
    case RfmSegment::kLoyal:
      return "loyal";
    case RfmSegment::kPotentialLoyalists:
      return "potential_loyalists";
    case RfmSegment::kNew:
      return "new";
    case RfmSegment::kPromising:
      return "promising";
    case RfmSegment::kNeedAttention:
      return "need_attention";
    case RfmSegment::kAboutToSleep:
      return "about_to_sleep";
    case RfmSegment::kAtRisk:
      return "at_risk";
    case RfmSegment::kCantLose:
      return "cant_lose";
    case RfmSegment::kHibernating:
      return "hibernating";
  }
  return "unknown";
}

RfmSegment RfmSegmentOf(int recency, int frequency) {
  if (recency <= 2) {
    if (frequency <= 2) return RfmSegment::kHibernating;
    if (frequency <= 4) return RfmSegment::kAtRisk;
    return RfmSegment::kCantLose;
  }
  if (recency == 3) {
    if (frequency <= 2) return RfmSegment::kAboutToSleep;
    if (frequency == 3) return RfmSegment::kNeedAttention;
    return RfmSegment::kLoyal;
  }
  if (frequency == 1) {
    return recency == 5 ? RfmSegment::kNew : RfmSegment::kPromising;
  }
  if (frequency <= 3) return RfmSegment::kPotentialLoyalists;
  return recency == 5 ? RfmSegment::kChampions : RfmSegment::kLoyal;
}

std::array<int64_t, 4> QuintileCuts(std::vector<int64_t>& values) {
  std::array<int64_t, 4> cuts = {};
  const int64_t n = static_cast<int64_t>(values.size());
  if (n == 0) return cuts;
  for (int k = 1; k <= 4; ++k) {
    // Nearest rank: the smallest value with at least k/5 of the base at or
    // below it, rank ceil(k n / 5).
    const int64_t rank = (k * n + 4) / 5;
    auto nth = values.begin() + (rank - 1);
    std::nth_element(values.begin(), nth, values.end());
    cuts[k - 1] = *nth;
  }
  return cuts;
}

int QuintileOf(const std::array<int64_t, 4>& cuts, int64_t value) {
  int quintile = 1;
  for (int64_t cut : cuts) {
    if (value > cut) ++quintile;
  }
  return quintile;
}

std::string MainCurrency(const std::vector<CurrencySpend>& spends) {
  const CurrencySpend* main = nullptr;
  for (const CurrencySpend& spend : spends) {
    // Ascending by currency, so on a full tie the first stays.
    if (main == nullptr || std::tie(spend.occasions, spend.total_micros) >
                               std::tie(main->occasions, main->total_micros)) {
      main = &spend;
    }
  }
  return main == nullptr ? "" : main->currency;
}

std::optional<RfmScore> ScoreRfm(const RfmBoundaries& boundaries,
                                 const CustomerRecord& record, int64_t day) {
  const int64_t occasions = record.OccasionsOn(day);
  if (occasions == 0 || boundaries.customers == 0) return std::nullopt;
  RfmScore score;
  score.occasions = occasions;
  score.recency_days = day - record.days()[occasions - 1];
  // Fewer days is better: the lowest quintile of days scores 5.
  score.recency = 6 - QuintileOf(boundaries.recency_days, score.recency_days);
  score.frequency = QuintileOf(boundaries.occasions, occasions);
  const std::vector<CurrencySpend> spends = record.SpendOn(day);
  score.main_currency = MainCurrency(spends);
  for (const CurrencySpend& spend : spends) {
    if (spend.currency == score.main_currency) {
      score.spend_micros = spend.total_micros;
    }
  }
  auto monetary = boundaries.monetary.find(score.main_currency);
  if (monetary != boundaries.monetary.end() && monetary->second.customers > 0) {
    score.monetary = QuintileOf(monetary->second.micros, score.spend_micros);
  }
  score.segment = RfmSegmentOf(score.recency, score.frequency);
  return score;
}

void RfmPopulation::Add(const CustomerRecord& record) {
  const int64_t occasions = record.OccasionsOn(day_);
  if (occasions == 0) return;
  recency_days_.push_back(day_ - record.days()[occasions - 1]);
  occasions_.push_back(occasions);
  const std::vector<CurrencySpend> spends = record.SpendOn(day_);
  const std::string main = MainCurrency(spends);
  for (const CurrencySpend& spend : spends) {
    if (spend.currency == main) spend_[main].push_back(spend.total_micros);
  }
}

RfmBoundaries RfmPopulation::Boundaries() && {
  RfmBoundaries boundaries;
  boundaries.day = day_;
  boundaries.customers = static_cast<int64_t>(occasions_.size());
  boundaries.recency_days = QuintileCuts(recency_days_);
  boundaries.occasions = QuintileCuts(occasions_);
  for (auto& [currency, values] : spend_) {
    RfmBoundaries::Currency& entry = boundaries.monetary[currency];
    entry.customers = static_cast<int64_t>(values.size());
    entry.micros = QuintileCuts(values);
  }
  return boundaries;
}

}  // namespace omnihub::insights

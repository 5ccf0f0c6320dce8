// RFM (recency, frequency, monetary) scoring: quintile boundaries of the
// customer base, a customer's three scores 1-5 against them, and its named
// segment from the conventional recency x frequency grid. Pure: no Redis, no
// protobuf. The boundaries are computed now and then from the whole base
// (RfmPopulation); a customer's scores are computed whenever asked, from its
// purchases, the boundaries and the day, so they are always current.
//
//   RfmPopulation population(today);
//   for (const CustomerRecord& record : base) population.Add(record);
//   RfmBoundaries boundaries = population.Boundaries();
//   std::optional<RfmScore> score = ScoreRfm(boundaries, record, today);
//   if (score) Use(score->segment);  // e.g. RfmSegment::kChampions
#ifndef OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_RFM_H_
#define OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_RFM_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/insights/analysis/customer_record.h"

namespace omnihub::insights {

// The values of omnihub.v1.RfmSegment.
enum class RfmSegment {
  kChampions = 1,
  kLoyal = 2,
  kPotentialLoyalists = 3,
  kNew = 4,
  kPromising = 5,
  kNeedAttention = 6,
  kAboutToSleep = 7,
  kAtRisk = 8,
  kCantLose = 9,
  kHibernating = 10,
};
inline constexpr int kRfmSegments = 10;

// "champions", "loyal", "potential_loyalists", "new", "promising",
// "need_attention", "about_to_sleep", "at_risk", "cant_lose", "hibernating".
absl::string_view RfmSegmentName(RfmSegment segment);

// The grid: recency and frequency scores 1 to 5.
RfmSegment RfmSegmentOf(int recency, int frequency);

// The 20th, 40th, 60th and 80th percentiles (nearest rank) of `values`;
// all zero when it is empty. Reorders `values`.
std::array<int64_t, 4> QuintileCuts(std::vector<int64_t>& values);

// 1 + the number of cuts strictly below `value`: a value on a cut belongs to
// the lower quintile.
int QuintileOf(const std::array<int64_t, 4>& cuts, int64_t value);

struct RfmBoundaries {
  int64_t day = 0;  // recency measured to this day
  int64_t customers = 0;
  std::array<int64_t, 4> recency_days = {};
  std::array<int64_t, 4> occasions = {};
  struct Currency {
    int64_t customers = 0;
    std::array<int64_t, 4> micros = {};
  };
  std::map<std::string, Currency> monetary;
};

struct RfmScore {
  int recency = 0;
  int frequency = 0;
  int monetary = 0;  // 0: no boundaries for the main currency
  RfmSegment segment = RfmSegment::kHibernating;
  std::string main_currency;  // "" when its purchases carried no value
  int64_t recency_days = 0;
  int64_t occasions = 0;
  int64_t spend_micros = 0;  // in the main currency
};

// The currency of most purchase days, then of the greater total, then the
// first alphabetically; "" for none.
std::string MainCurrency(const std::vector<CurrencySpend>& spends);

// Its scores on `day` (purchases up to and including it); nullopt for a
// customer without a purchase by then or when `boundaries` are of an empty
// base.
std::optional<RfmScore> ScoreRfm(const RfmBoundaries& boundaries,
                                 const CustomerRecord& record, int64_t day);

// Collects the base's values on one day, then gives the boundaries.
class RfmPopulation {
 public:
  explicit RfmPopulation(int64_t day) : day_(day) {}

  void Add(const CustomerRecord& record);
  RfmBoundaries Boundaries() &&;

 private:
  int64_t day_;
  std::vector<int64_t> recency_days_;
  std::vector<int64_t> occasions_;
  std::map<std::string, std::vector<int64_t>> spend_;
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_RFM_H_

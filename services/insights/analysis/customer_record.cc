#include "services/insights/analysis/customer_record.h"

#include <algorithm>
#include <limits>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace omnihub::insights {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

absl::Status BadField(absl::string_view field, absl::string_view value) {
  return absl::DataLossError(absl::StrCat("customer view field ", field,
                                          " is unreadable: \"", value, "\""));
}

absl::StatusOr<PurchaseDay> ParsePurchaseDay(const std::string& day,
                                             const std::string& value) {
  PurchaseDay parsed;
  std::vector<absl::string_view> parts = absl::StrSplit(value, ';');
  if (!absl::SimpleAtoi(day, &parsed.day) ||
      !absl::SimpleAtoi(parts[0], &parsed.events) || parsed.events <= 0) {
    return BadField(absl::StrCat("p:", day), value);
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> money =
        absl::StrSplit(parts[i], absl::MaxSplits('=', 1));
    int64_t micros = 0;
    if (money.first.empty() || !absl::SimpleAtoi(money.second, &micros)) {
      return BadField(absl::StrCat("p:", day), value);
    }
    parsed.spend.emplace_back(std::string(money.first), micros);
  }
  std::sort(parsed.spend.begin(), parsed.spend.end());
  return parsed;
}

}  // namespace

int64_t DayOf(absl::Time time) {
  return DayOf(absl::ToCivilDay(time, absl::UTCTimeZone()));
}

int64_t DayOf(absl::CivilDay day) { return day - absl::CivilDay(1970); }

absl::CivilDay CivilDayOf(int64_t day) { return absl::CivilDay(1970) + day; }

absl::Time StartOfDay(int64_t day) {
  return absl::FromUnixSeconds(day * kSecondsPerDay);
}

absl::StatusOr<CustomerRecord> CustomerRecord::FromFields(
    CustomerFields fields) {
  CustomerRecord record;
  record.first_seen_day_ =
      DayOf(absl::FromUnixMicros(fields.first_seen_micros));
  record.channel_ = fields.channel;
  record.purchase_version_ = std::move(fields.purchase_version);
  record.history_text_ = std::move(fields.history);
  absl::StatusOr<std::vector<Transition>> history =
      DecodeHistory(record.history_text_);
  if (!history.ok()) return history.status();
  record.history_ = *std::move(history);
  for (const auto& [day, value] : fields.purchase_days) {
    absl::StatusOr<PurchaseDay> parsed = ParsePurchaseDay(day, value);
    if (!parsed.ok()) return parsed.status();
    record.purchases_.push_back(*std::move(parsed));
  }
  std::sort(
      record.purchases_.begin(), record.purchases_.end(),
      [](const PurchaseDay& a, const PurchaseDay& b) { return a.day < b.day; });
  for (const PurchaseDay& purchase : record.purchases_) {
    record.days_.push_back(purchase.day);
  }
  if (!record.days_.empty()) {
    record.first_seen_day_ = std::min(record.first_seen_day_, record.days_[0]);
  }
  return record;
}

int64_t CustomerRecord::OccasionsOn(int64_t day) const {
  return std::upper_bound(days_.begin(), days_.end(), day) - days_.begin();
}

int64_t CustomerRecord::OccasionsBetween(int64_t from, int64_t to) const {
  if (to < from) return 0;
  return OccasionsOn(to) - OccasionsOn(from - 1);
}

PurchaseSummary CustomerRecord::SummaryOn(int64_t day) const {
  const int64_t occasions = OccasionsOn(day);
  if (occasions == 0) return {};
  const double first = static_cast<double>(days_.front());
  return {.x = static_cast<double>(occasions - 1),
          .t_x = (static_cast<double>(days_[occasions - 1]) - first) /
                 kDaysPerModelUnit,
          .T = (static_cast<double>(day) - first) / kDaysPerModelUnit};
}

namespace {

// Each day's spend fits 64 bits (the store refuses a purchase that would
// make it overflow), but purchases on many days may not: such a customer's
// spend stays at the bound rather than wrapping around.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max()
               : std::numeric_limits<int64_t>::min();
}

}  // namespace

std::vector<CurrencySpend> CustomerRecord::SpendOn(int64_t day) const {
  std::map<std::string, CurrencySpend> by_currency;
  for (const PurchaseDay& purchase : purchases_) {
    if (purchase.day > day) break;
    const bool repeat = purchase.day != days_.front();
    for (const auto& [currency, micros] : purchase.spend) {
      CurrencySpend& spend = by_currency[currency];
      spend.currency = currency;
      spend.total_micros = SaturatingAdd(spend.total_micros, micros);
      ++spend.occasions;
      if (repeat) {
        ++spend.repeat_occasions;
        spend.repeat_micros = SaturatingAdd(spend.repeat_micros, micros);
      }
    }
  }
  std::vector<CurrencySpend> spends;
  for (auto& [currency, spend] : by_currency)
    spends.push_back(std::move(spend));
  return spends;
}

}  // namespace omnihub::insights

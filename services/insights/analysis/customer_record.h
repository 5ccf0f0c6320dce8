// One customer as the insights see it: when it was first seen and on which
// channel, its purchase days with their spend, and its recorded lifecycle;
// read from the fields the ingest script keeps in the customer's view, and
// turned into the numbers the purchase model takes. Pure: no Redis.
//
//   absl::StatusOr<CustomerRecord> record = CustomerRecord::FromFields(
//       {.first_seen_micros = ..., .purchase_days = {{"10000",
//       "1;EUR=5000000"}}});
//   PurchaseSummary summary = record->SummaryOn(10100);  // x, t_x, T in weeks
#ifndef OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_CUSTOMER_RECORD_H_
#define OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_CUSTOMER_RECORD_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/insights/lifecycle/lifecycle.h"
#include "services/insights/purchase_model/bg_nbd.h"

namespace omnihub::insights {

// Days since 1970-01-01 (UTC) of a time or a date, and back to the day's
// 00:00.
int64_t DayOf(absl::Time time);
int64_t DayOf(absl::CivilDay day);
absl::CivilDay CivilDayOf(int64_t day);
absl::Time StartOfDay(int64_t day);

struct PurchaseDay {
  int64_t day = 0;
  int64_t events = 0;  // purchase events that day
  // Spend per currency, in micros, currencies ascending.
  std::vector<std::pair<std::string, int64_t>> spend;
};

// One currency's spend as the Gamma-Gamma model takes it.
struct CurrencySpend {
  std::string currency;
  int64_t total_micros = 0;
  int64_t occasions = 0;         // days with a purchase in it
  int64_t repeat_occasions = 0;  // of them, after the first purchase day
  int64_t repeat_micros = 0;     // spend on those days
};

// The view fields of a customer, as the read script returns them.
struct CustomerFields {
  int64_t first_seen_micros = 0;
  int channel = 0;  // of the first interaction
  std::string purchase_version;
  std::string history;
  // (day, "<events>;<currency>=<micros>;...") pairs, any order.
  std::vector<std::pair<std::string, std::string>> purchase_days;
};

class CustomerRecord {
 public:
  // DATA_LOSS naming the field when one is not as the ingest script writes
  // it.
  static absl::StatusOr<CustomerRecord> FromFields(CustomerFields fields);

  int64_t first_seen_day() const { return first_seen_day_; }
  int acquisition_channel() const { return channel_; }
  const std::string& purchase_version() const { return purchase_version_; }
  const std::string& stored_history_text() const { return history_text_; }
  const std::vector<Transition>& stored_history() const { return history_; }
  const std::vector<PurchaseDay>& purchases() const { return purchases_; }
  // The purchase days alone, ascending.
  const std::vector<int64_t>& days() const { return days_; }

  // Purchase days up to and including `day`.
  int64_t OccasionsOn(int64_t day) const;
  // The model's x, t_x and T (in model time units) on `day`, counting
  // purchases up to and including it. Only for a customer with one then.
  PurchaseSummary SummaryOn(int64_t day) const;
  // Spend per currency, counting purchase days up to and including `day`.
  std::vector<CurrencySpend> SpendOn(int64_t day) const;
  // Purchase days in [from, to].
  int64_t OccasionsBetween(int64_t from, int64_t to) const;

 private:
  int64_t first_seen_day_ = 0;
  int channel_ = 0;
  std::string purchase_version_;
  std::string history_text_;
  std::vector<Transition> history_;
  std::vector<PurchaseDay> purchases_;
  std::vector<int64_t> days_;
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_CUSTOMER_RECORD_H_

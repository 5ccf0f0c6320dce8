#include "services/insights/analysis/customer_record.h"

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/insights/analysis/view_fields_for_test.h"

namespace omnihub::insights {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CustomerRecordTest, ReadsTheViewFields) {
  absl::StatusOr<CustomerRecord> record = CustomerRecord::FromFields(
      {.first_seen_micros = int64_t{10005} * 86400 * 1000000 + 5,
       .channel = 2,
       .purchase_version = "3",
       .history = "10010:1:2:1;",
       .purchase_days = {{"10024", "2;EUR=3000000;USD=1500000"},
                         {"10010", "1;EUR=10000000"},
                         {"10017", "1"}}});
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->first_seen_day(), 10005);
  EXPECT_EQ(record->acquisition_channel(), 2);
  EXPECT_EQ(record->purchase_version(), "3");
  EXPECT_THAT(record->days(), ElementsAre(10010, 10017, 10024));
  EXPECT_EQ(record->stored_history().size(), 1u);
  EXPECT_EQ(record->OccasionsOn(10016), 1);
  EXPECT_EQ(record->OccasionsBetween(10011, 10024), 2);

  const PurchaseSummary summary = record->SummaryOn(10031);
  EXPECT_EQ(summary.x, 2);
  EXPECT_DOUBLE_EQ(summary.t_x, 2.0);  // 14 days
  EXPECT_DOUBLE_EQ(summary.T, 3.0);    // 21 days

  // The first purchase day is not a repeat; a day with no amount (a
  // purchase worth 0) counts as an occasion but not in any currency.
  const std::vector<CurrencySpend> spend = record->SpendOn(10031);
  ASSERT_EQ(spend.size(), 2u);
  EXPECT_EQ(spend[0].currency, "EUR");
  EXPECT_EQ(spend[0].total_micros, 13000000);
  EXPECT_EQ(spend[0].occasions, 2);
  EXPECT_EQ(spend[0].repeat_occasions, 1);
  EXPECT_EQ(spend[0].repeat_micros, 3000000);
  EXPECT_EQ(spend[1].currency, "USD");
  EXPECT_EQ(spend[1].repeat_occasions, 1);
  // Counting up to a day leaves later purchases out.
  EXPECT_EQ(record->SpendOn(10020)[0].total_micros, 10000000);
}

TEST(CustomerRecordTest, FirstSeenIsNeverAfterTheFirstPurchase) {
  absl::StatusOr<CustomerRecord> record =
      CustomerRecord::FromFields(WithDays({{"19990", "1;EUR=1"}}, 20000));
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->first_seen_day(), 19990);
}

TEST(CustomerRecordTest, UnreadableFieldsAreDataLoss) {
  for (const auto& [day, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"x", "1"}, {"10", "0"}, {"10", "1;EUR"}, {"10", "1;=5"}}) {
    absl::StatusOr<CustomerRecord> record =
        CustomerRecord::FromFields(WithDays({{day, value}}));
    EXPECT_EQ(record.status().code(), absl::StatusCode::kDataLoss)
        << day << " " << value;
  }
  CustomerFields bad_history;
  bad_history.history = "bad";
  EXPECT_THAT(CustomerRecord::FromFields(bad_history).status().message(),
              HasSubstr("lifecycle history"));
}

TEST(CustomerRecordTest, DaysFromTimes) {
  EXPECT_EQ(DayOf(absl::FromCivil(absl::CivilSecond(1970, 1, 2, 0, 0, 0),
                                  absl::UTCTimeZone())),
            1);
  EXPECT_EQ(DayOf(absl::FromUnixSeconds(-1)), -1);
  EXPECT_EQ(StartOfDay(1), absl::FromUnixSeconds(86400));
}

}  // namespace
}  // namespace omnihub::insights

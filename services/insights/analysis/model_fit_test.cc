#include "services/insights/analysis/model_fit.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/insights/analysis/view_fields_for_test.h"
#include "tests/support/cdnow_purchases.h"

namespace omnihub::insights {
namespace {

using ::testing::DoubleNear;
using ::testing::HasSubstr;

int64_t Day(absl::CivilDay day) { return day - absl::CivilDay(1970); }

// The CDNOW sample as the customers' view fields would hold it: the purchases
// of one day summed, as the ingest script keeps them.
std::vector<CustomerRecord> CdnowRecords() {
  absl::StatusOr<std::vector<testing::CdnowPurchase>> purchases =
      testing::ReadCdnowPurchases(testing::CdnowFile::kSample);
  EXPECT_TRUE(purchases.ok()) << purchases.status();
  std::map<int, std::map<int64_t, std::pair<int, int64_t>>> by_customer;
  for (const testing::CdnowPurchase& purchase : *purchases) {
    auto& day = by_customer[purchase.customer][Day(purchase.day)];
    ++day.first;
    day.second += purchase.dollar_micros;
  }
  std::vector<CustomerRecord> records;
  for (const auto& [customer, days] : by_customer) {
    CustomerFields fields;
    fields.first_seen_micros = days.begin()->first * 86400 * int64_t{1000000};
    for (const auto& [day, purchase] : days) {
      fields.purchase_days.emplace_back(
          absl::StrCat(day),
          absl::StrCat(purchase.first, ";USD=", purchase.second));
    }
    absl::StatusOr<CustomerRecord> record =
        CustomerRecord::FromFields(std::move(fields));
    EXPECT_TRUE(record.ok()) << record.status();
    records.push_back(*std::move(record));
  }
  return records;
}

TEST(ModelFitTest, FindsThePublishedCdnowModelFromThePurchases) {
  const std::vector<CustomerRecord> records = CdnowRecords();
  ASSERT_EQ(records.size(), 2357u);
  ModelFitData data(Day(absl::CivilDay(1997, 10, 1)), /*holdout_days=*/273);
  for (const CustomerRecord& record : records) data.Add(record);
  EXPECT_EQ(data.customers(), 2357);
  EXPECT_EQ(data.repeat_customers(), 946);
  absl::StatusOr<ModelFitReport> report = FitModel(data, {});
  ASSERT_TRUE(report.ok()) << report.status();
  const BgNbdParams& model = report->model.purchases;
  EXPECT_THAT(model.r, DoubleNear(0.2426, 0.005));
  EXPECT_THAT(model.alpha, DoubleNear(4.4136, 0.005));
  EXPECT_THAT(model.a, DoubleNear(0.7929, 0.005));
  EXPECT_THAT(model.b, DoubleNear(2.4259, 0.005));
  EXPECT_THAT(report->purchase_fit.log_likelihood, DoubleNear(-9582.43, 0.1));
  ASSERT_TRUE(report->model.spend.contains("USD"));
  const GammaGammaParams& spend = report->model.spend.at("USD");
  EXPECT_THAT(spend.p, DoubleNear(6.25, 0.05));
  EXPECT_THAT(spend.q, DoubleNear(3.74, 0.05));
  EXPECT_THAT(spend.gamma, DoubleNear(15.44, 0.05));
  EXPECT_THAT(report->spend_fits.at("USD").log_likelihood,
              DoubleNear(-4055.92, 0.1));

  // The backtest counts what happened in the 39 weeks from as_of (to
  // 1998-06-30, the end of the data), straight from the purchases, beside
  // each customer's expected purchases over those weeks.
  const int64_t calibration_end = Day(absl::CivilDay(1997, 9, 30));
  int64_t actual = 0;
  double predicted = 0;
  for (const CustomerRecord& record : records) {
    actual += record.OccasionsBetween(calibration_end + 1,
                                      Day(absl::CivilDay(1998, 6, 30)));
    predicted += ExpectedPurchases(model, record.SummaryOn(calibration_end),
                                   273 / kDaysPerModelUnit);
  }
  ASSERT_TRUE(report->backtest.has_value());
  EXPECT_EQ(report->backtest->customers, 2357);
  EXPECT_EQ(report->backtest->actual, actual);
  EXPECT_NEAR(report->backtest->predicted, predicted, 1e-6 * predicted);
  // Customer by customer, predictions and what happened go the same way.
  EXPECT_GT(report->backtest->correlation, 0.5);
  ASSERT_EQ(report->backtest->by_frequency.size(), 8u);
  EXPECT_EQ(report->backtest->by_frequency[0].customers, 2357 - 946);
}

TEST(ModelFitTest, TooFewRepeatBuyersIsAFailedPrecondition) {
  ModelFitData data(20000, 0);
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<CustomerRecord> record = CustomerRecord::FromFields(
        WithDays({{absl::StrCat(19000 + i), "1;EUR=1000000"}}));
    ASSERT_TRUE(record.ok());
    data.Add(*record);
  }
  absl::StatusOr<ModelFitReport> report = FitModel(data, {});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("0 of 30 customers"));
}

TEST(ModelFitTest, PurchasesFromAsOfOnAreLeftOut) {
  ModelFitData data(20000, 10);
  absl::StatusOr<CustomerRecord> record =
      CustomerRecord::FromFields(WithDays({{"19990", "1;EUR=1"},
                                           {"20000", "1;EUR=1"},
                                           {"20005", "1;EUR=1"},
                                           {"20010", "1;EUR=1"}}));
  ASSERT_TRUE(record.ok());
  data.Add(*record);
  absl::StatusOr<CustomerRecord> later =
      CustomerRecord::FromFields(WithDays({{"20001", "1;EUR=1"}}));
  ASSERT_TRUE(later.ok());
  data.Add(*later);
  EXPECT_EQ(data.customers(), 1);
  EXPECT_EQ(data.repeat_customers(), 0);
}

}  // namespace
}  // namespace omnihub::insights

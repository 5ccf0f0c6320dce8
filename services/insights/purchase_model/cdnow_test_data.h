// The CDNOW purchase summaries of tests/data/cdnow (see its README), read
// for the purchase models' tests and benchmark.
//
//   absl::StatusOr<std::vector<CdnowCustomer>> sample = ReadCdnowSample();
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_CDNOW_TEST_DATA_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_CDNOW_TEST_DATA_H_

#include <vector>

#include "absl/status/statusor.h"
#include "services/insights/purchase_model/bg_nbd.h"

namespace omnihub::insights {

struct CdnowCustomer {
  int id = 0;
  PurchaseSummary summary;  // in weeks
  double zbar = 0;          // mean spend per repeat occasion; 0 when x == 0
};

// The 2,357 customers of the sample, in file order (id 1 first), from
// cdnow_customers_summary_with_transactions.csv; its x, t_x, T checked
// against those of cdnow_customers_summary.csv.
absl::StatusOr<std::vector<CdnowCustomer>> ReadCdnowSample();

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_CDNOW_TEST_DATA_H_

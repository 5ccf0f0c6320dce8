// The CDNOW purchases of tests/data/cdnow (see its README): one row per
// purchase, for tests and benchmarks that ingest them as events.
//
//   absl::StatusOr<std::vector<CdnowPurchase>> sample =
//       ReadCdnowPurchases(CdnowFile::kSample);
#ifndef OMNIHUB_TESTS_SUPPORT_CDNOW_PURCHASES_H_
#define OMNIHUB_TESTS_SUPPORT_CDNOW_PURCHASES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace omnihub::testing {

enum class CdnowFile {
  kSample,  // CDNOW_sample.txt: 2,357 customers, ids 1..2357
  kMaster,  // CDNOW_master.txt: 23,570 customers
};

struct CdnowPurchase {
  int customer = 0;  // the sample's id (kSample), the master id (kMaster)
  absl::CivilDay day;
  int64_t dollar_micros = 0;
};

absl::StatusOr<std::vector<CdnowPurchase>> ReadCdnowPurchases(CdnowFile file);

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_SUPPORT_CDNOW_PURCHASES_H_

#include "tests/support/cdnow_purchases.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/money/money.h"

namespace omnihub::testing {

absl::StatusOr<std::vector<CdnowPurchase>> ReadCdnowPurchases(CdnowFile file) {
  const std::string path = absl::StrCat(
      OMNIHUB_CDNOW_DIR, "/",
      file == CdnowFile::kSample ? "CDNOW_sample.txt" : "CDNOW_master.txt");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  // Sample: master_id sample_id date cds dollars; master: (a header line)
  // customer_id date cds dollars.
  const size_t id_column = file == CdnowFile::kSample ? 1 : 0;
  std::vector<CdnowPurchase> purchases;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::vector<absl::string_view> columns =
        absl::StrSplit(absl::StripAsciiWhitespace(line), absl::ByAnyChar(" \t"),
                       absl::SkipEmpty());
    if (columns.empty()) continue;
    if (file == CdnowFile::kMaster && number == 1) continue;  // the header
    CdnowPurchase purchase;
    int date = 0;
    absl::StatusOr<int64_t> micros = absl::InvalidArgumentError("");
    if (columns.size() == id_column + 4) {
      micros = money::ParseDecimalMicros(columns[id_column + 3]);
    }
    if (!micros.ok() ||
        !absl::SimpleAtoi(columns[id_column], &purchase.customer) ||
        !absl::SimpleAtoi(columns[id_column + 1], &date)) {
      return absl::DataLossError(
          absl::StrCat(path, ":", number, ": unreadable row \"", line, "\""));
    }
    purchase.day = absl::CivilDay(date / 10000, date / 100 % 100, date % 100);
    purchase.dollar_micros = *micros;
    purchases.push_back(purchase);
  }
  return purchases;
}

}  // namespace omnihub::testing

#include "services/insights/purchase_model/cdnow_test_data.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace omnihub::insights {
namespace {

// The rows of a CSV file with the given header, as numbers; CRLF or LF.
absl::StatusOr<std::vector<std::vector<double>>> ReadNumericCsv(
    const std::string& name, absl::string_view header) {
  const std::string path = absl::StrCat(OMNIHUB_CDNOW_DIR, "/", name);
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<std::vector<double>> rows;
  std::string line;
  bool first = true;
  while (std::getline(file, line)) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (first) {
      if (text != header) {
        return absl::DataLossError(
            absl::StrCat(path, ": header is not ", header, ": ", text));
      }
      first = false;
      continue;
    }
    if (text.empty()) continue;
    std::vector<double> row;
    for (absl::string_view field : absl::StrSplit(text, ',')) {
      double value = 0;
      if (!absl::SimpleAtod(field, &value)) {
        return absl::DataLossError(absl::StrCat(path, ": bad row: ", text));
      }
      row.push_back(value);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

absl::StatusOr<std::vector<CdnowCustomer>> ReadCdnowSample() {
  absl::StatusOr<std::vector<std::vector<double>>> with_spend = ReadNumericCsv(
      "cdnow_customers_summary_with_transactions.csv", "ID,x,t_x,T,zbar");
  if (!with_spend.ok()) return with_spend.status();
  absl::StatusOr<std::vector<std::vector<double>>> plain =
      ReadNumericCsv("cdnow_customers_summary.csv", "ID,frequency,recency,T");
  if (!plain.ok()) return plain.status();
  if (with_spend->size() != plain->size()) {
    return absl::DataLossError("the two CDNOW summaries differ in length");
  }
  std::vector<CdnowCustomer> customers;
  for (size_t i = 0; i < with_spend->size(); ++i) {
    const std::vector<double>& row = (*with_spend)[i];
    if (row.size() != 5 || (*plain)[i].size() != 4 ||
        std::vector<double>(row.begin(), row.begin() + 4) != (*plain)[i]) {
      return absl::DataLossError(
          absl::StrCat("the two CDNOW summaries differ at row ", i + 1));
    }
    customers.push_back({.id = static_cast<int>(row[0]),
                         .summary = {.x = row[1], .t_x = row[2], .T = row[3]},
                         .zbar = row[4]});
  }
  return customers;
}

}  // namespace omnihub::insights

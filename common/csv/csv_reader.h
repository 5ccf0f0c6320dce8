// Reads RFC 4180 CSV text (quotes, embedded commas and newlines, UTF-8) into
// rows of fields, with the line each row starts on, using Debian's libcsv.
//
//   absl::StatusOr<std::vector<CsvRow>> rows = ReadCsv(body, CsvLimits{});
//   for (const CsvRow& row : *rows) Use(row.line, row.fields);
#ifndef OMNIHUB_COMMON_CSV_CSV_READER_H_
#define OMNIHUB_COMMON_CSV_CSV_READER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::csv {

struct CsvLimits {
  size_t max_rows = 10000;
  size_t max_fields_per_row = 64;
  size_t max_field_bytes = 4096;
};

struct CsvRow {
  int line = 0;  // 1-based line of the text where the row starts
  std::vector<std::string> fields;
};

// Blank lines are skipped. INVALID_ARGUMENT naming the line for malformed
// quoting or a limit exceeded.
absl::StatusOr<std::vector<CsvRow>> ReadCsv(absl::string_view text,
                                            const CsvLimits& limits);

}  // namespace omnihub::csv

#endif  // OMNIHUB_COMMON_CSV_CSV_READER_H_

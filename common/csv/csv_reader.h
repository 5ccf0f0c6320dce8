// Reads RFC 4180 CSV text (quotes, embedded delimiters and newlines, UTF-8)
// into rows of fields, with the line each row starts on, using Debian's
// libcsv. The delimiter may be ',' (RFC 4180), ';' (what Excel writes where
// the decimal mark is a comma: Spain, most of Europe) or a tab.
//
//   absl::StatusOr<char> delimiter = DetectDelimiter(body);
//   absl::StatusOr<std::vector<CsvRow>> rows =
//       ReadCsv(body, CsvLimits{}, *delimiter);
//   for (const CsvRow& row : *rows) Use(row.line, row.fields);
#ifndef OMNIHUB_COMMON_CSV_CSV_READER_H_
#define OMNIHUB_COMMON_CSV_CSV_READER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::csv {

// The delimiters ReadCsv and DetectDelimiter know.
inline constexpr char kDelimiters[] = {',', ';', '\t'};

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
// quoting or a limit exceeded. `delimiter` is one of kDelimiters.
absl::StatusOr<std::vector<CsvRow>> ReadCsv(absl::string_view text,
                                            const CsvLimits& limits,
                                            char delimiter = ',');

// The delimiter of a file with a header row, from the header (its first
// line that is not blank): the one of kDelimiters found most often outside
// quotes; ',' when there is none (one column). INVALID_ARGUMENT "header:
// ..." when two are found equally often, so a caller must say which.
absl::StatusOr<char> DetectDelimiter(absl::string_view text);

// "comma" or ",", "semicolon" or ";", "tab": the delimiter; "auto" or "": 0
// (detect it). INVALID_ARGUMENT for anything else.
absl::StatusOr<char> ParseDelimiterName(absl::string_view name);

// "comma", "semicolon" or "tab", for messages.
absl::string_view DelimiterName(char delimiter);

}  // namespace omnihub::csv

#endif  // OMNIHUB_COMMON_CSV_CSV_READER_H_

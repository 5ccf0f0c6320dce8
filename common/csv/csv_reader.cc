#include "common/csv/csv_reader.h"

#include <csv.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace omnihub::csv {
namespace {

// What libcsv's callbacks build up.
struct Reader {
  const CsvLimits* limits = nullptr;
  int line = 1;  // the line being fed to the parser
  std::vector<CsvRow> rows;
  CsvRow current;
  int newlines_in_row = 0;
  std::string error;

  void Fail(std::string message) {
    if (error.empty()) error = std::move(message);
  }
};

void OnField(void* data, size_t size, void* context) {
  auto* reader = static_cast<Reader*>(context);
  if (!reader->error.empty()) return;
  if (size > reader->limits->max_field_bytes) {
    return reader->Fail(absl::StrCat("a field is ", size,
                                     " bytes; the limit is ",
                                     reader->limits->max_field_bytes));
  }
  if (reader->current.fields.size() >= reader->limits->max_fields_per_row) {
    return reader->Fail(absl::StrCat(
        "a row has more than ", reader->limits->max_fields_per_row, " fields"));
  }
  const char* text = data == nullptr ? "" : static_cast<const char*>(data);
  reader->current.fields.emplace_back(text, size);
  reader->newlines_in_row +=
      static_cast<int>(std::count(text, text + size, '\n'));
}

void OnRow(int terminator, void* context) {
  auto* reader = static_cast<Reader*>(context);
  if (!reader->error.empty()) return;
  if (reader->rows.size() >= reader->limits->max_rows) {
    return reader->Fail(
        absl::StrCat("more than ", reader->limits->max_rows, " rows"));
  }
  reader->current.line = reader->line - reader->newlines_in_row;
  reader->rows.push_back(std::move(reader->current));
  reader->current = CsvRow();
  reader->newlines_in_row = 0;
}

}  // namespace

absl::StatusOr<std::vector<CsvRow>> ReadCsv(absl::string_view text,
                                            const CsvLimits& limits) {
  struct csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    return absl::InternalError("cannot start the CSV parser");
  }
  Reader reader;
  reader.limits = &limits;
  // Fed a line at a time so every row knows the line it ends on.
  size_t start = 0;
  while (start < text.size() && reader.error.empty()) {
    size_t end = text.find('\n', start);
    end = end == absl::string_view::npos ? text.size() : end + 1;
    const size_t length = end - start;
    if (csv_parse(&parser, text.data() + start, length, OnField, OnRow,
                  &reader) != length) {
      reader.Fail(absl::StrCat("malformed CSV (",
                               csv_strerror(csv_error(&parser)), ")"));
      break;
    }
    if (text[end - 1] == '\n' && reader.error.empty()) ++reader.line;
    start = end;
  }
  if (reader.error.empty() && csv_fini(&parser, OnField, OnRow, &reader) != 0) {
    reader.Fail(
        absl::StrCat("malformed CSV (", csv_strerror(csv_error(&parser)), ")"));
  }
  csv_free(&parser);
  if (!reader.error.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", reader.line, ": ", reader.error));
  }
  return std::move(reader.rows);
}

}  // namespace omnihub::csv

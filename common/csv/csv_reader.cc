#include "common/csv/csv_reader.h"

#include <csv.h>

#include <algorithm>
#include <iterator>

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

int IsSpaceButNotTab(unsigned char c) { return c == ' ' ? 1 : 0; }

}  // namespace

absl::StatusOr<std::vector<CsvRow>> ReadCsv(absl::string_view text,
                                            const CsvLimits& limits,
                                            char delimiter) {
  if (std::find(std::begin(kDelimiters), std::end(kDelimiters), delimiter) ==
      std::end(kDelimiters)) {
    return absl::InvalidArgumentError("unknown CSV delimiter");
  }
  struct csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    return absl::InternalError("cannot start the CSV parser");
  }
  csv_set_delim(&parser, static_cast<unsigned char>(delimiter));
  // libcsv trims spaces and tabs around unquoted fields; with tabs as the
  // delimiter, trimming them would swallow empty fields.
  if (delimiter == '\t') csv_set_space_func(&parser, IsSpaceButNotTab);
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

absl::StatusOr<char> DetectDelimiter(absl::string_view text) {
  // The header: the first line with anything on it (a quoted name may span
  // lines, so quotes are followed to the end of the row).
  size_t start = 0;
  while (start < text.size() && (text[start] == '\n' || text[start] == '\r')) {
    ++start;
  }
  size_t counts[std::size(kDelimiters)] = {};
  bool quoted = false;
  for (size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      quoted = !quoted;  // a doubled quote flips twice: no change
    } else if (!quoted && (c == '\n' || c == '\r')) {
      break;
    } else if (!quoted) {
      for (size_t d = 0; d < std::size(kDelimiters); ++d) {
        counts[d] += c == kDelimiters[d];
      }
    }
  }
  size_t best = 0;
  for (size_t d = 1; d < std::size(kDelimiters); ++d) {
    if (counts[d] > counts[best]) best = d;
  }
  if (counts[best] == 0) return ',';
  for (size_t d = 0; d < std::size(kDelimiters); ++d) {
    if (d != best && counts[d] == counts[best]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header: has as many ", DelimiterName(kDelimiters[best]), "s as ",
          DelimiterName(kDelimiters[d]),
          "s, so the delimiter is unclear; name it (delimiter=comma, "
          "semicolon or tab)"));
    }
  }
  return kDelimiters[best];
}

absl::StatusOr<char> ParseDelimiterName(absl::string_view name) {
  if (name.empty() || name == "auto") return '\0';
  if (name == "comma" || name == ",") return ',';
  if (name == "semicolon" || name == ";") return ';';
  if (name == "tab" || name == "\t") return '\t';
  return absl::InvalidArgumentError(
      absl::StrCat("\"", name, "\" is not auto, comma, semicolon or tab"));
}

absl::string_view DelimiterName(char delimiter) {
  switch (delimiter) {
    case ',':
      return "comma";
    case ';':
      return "semicolon";
    case '\t':
      return "tab";
    default:
      return "unknown delimiter";
  }
}

}  // namespace omnihub::csv

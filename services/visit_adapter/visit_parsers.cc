// Visits as JSON and as CSV rows, both read by one reader (a CSV row is
// turned into the JSON object it would have been) so they get the same
// checks and the same messages.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/csv/csv_reader.h"
#include "common/csv/export_time.h"
#include "common/json_fields/json_body.h"
#include "common/json_fields/json_fields.h"
#include "common/line_items/line_items.h"
#include "common/money/money.h"
#include "services/visit_adapter/visit_record.h"

namespace omnihub::visit {
namespace {

using json_fields::FieldError;
using json_fields::JsonFields;
using nlohmann::json;

// Short enough that "visit:<store>:<visit>" stays within the hub's 128-byte
// event id limit.
constexpr size_t kMaxIdBytes = 60;
constexpr size_t kMaxStaffIdBytes = 128;
constexpr size_t kMaxOutcomeBytes = 256;

constexpr const char* kIdentityFields[] = {"loyalty_card", "phone", "email",
                                           "crm_id"};

// How the values of a CSV export are written; JSON visits have none.
struct CsvSettings {
  std::optional<absl::TimeZone> time_zone;
  money::DecimalMark decimal = money::DecimalMark::kPoint;
};

bool IsVisitColumn(absl::string_view name) {
  return std::find(std::begin(kVisitColumns), std::end(kVisitColumns), name) !=
         std::end(kVisitColumns);
}

constexpr const char* kRequiredColumns[] = {"visit_id", "store_id",
                                            "checked_in_at"};

// Ids end up in storage keys, logs and screens, so they must be printable;
// the outcome is free text, where line breaks and tabs are fine.
absl::Status CheckText(const JsonFields& in, const char* name,
                       absl::string_view text, bool free_text) {
  bool printable = true;
  if (free_text) {
    for (absl::string_view piece :
         absl::StrSplit(text, absl::ByAnyChar("\r\n\t"))) {
      printable = printable && identity::IsPrintableUtf8(piece);
    }
  } else {
    printable = identity::IsPrintableUtf8(text);
  }
  if (printable) return absl::OkStatus();
  return in.Error(name, free_text
                            ? "must be valid UTF-8 without control characters "
                              "other than line breaks and tabs"
                            : "must be valid UTF-8 without control characters");
}

absl::Status ReadTexts(const JsonFields& in, VisitRecord& visit) {
  for (absl::Status status :
       {in.String("visit_id", &visit.visit_id, true, kMaxIdBytes),
        in.String("store_id", &visit.store_id, true, kMaxIdBytes),
        in.String("staff_id", &visit.staff_id, false, kMaxStaffIdBytes),
        in.String("purpose", &visit.purpose, false, 32),
        in.String("outcome", &visit.outcome, false, kMaxOutcomeBytes),
        CheckText(in, "visit_id", visit.visit_id, false),
        CheckText(in, "store_id", visit.store_id, false),
        CheckText(in, "staff_id", visit.staff_id, false),
        CheckText(in, "outcome", visit.outcome, true)}) {
    if (!status.ok()) return status;
  }
  // The store id is followed by ":" in the event id; one inside it would let
  // two different visits share an event id.
  if (absl::StrContains(visit.store_id, ':')) {
    return in.Error("store_id", "must not contain ':'");
  }
  visit.purpose = absl::AsciiStrToLower(visit.purpose);
  if (!visit.purpose.empty() &&
      std::find(std::begin(kVisitPurposes), std::end(kVisitPurposes),
                visit.purpose) == std::end(kVisitPurposes)) {
    return in.Error(
        "purpose",
        absl::StrCat("must be one of ", absl::StrJoin(kVisitPurposes, ", ")));
  }
  return absl::OkStatus();
}

// A JSON time is RFC 3339; a CSV one may also be local, in the configured
// zone.
absl::Status ReadTime(const JsonFields& in, const CsvSettings* csv,
                      const char* name, std::optional<absl::Time>* out,
                      bool required) {
  if (csv == nullptr) return in.Time(name, out, required);
  std::string text;
  if (absl::Status status = in.String(name, &text, required, 64);
      !status.ok() || text.empty()) {
    return status;
  }
  absl::StatusOr<absl::Time> time =
      csv::ParseExportTime(text, csv->time_zone, "--visit_time_zone");
  if (!time.ok()) return in.Error(name, time.status().message());
  *out = *time;
  return absl::OkStatus();
}

absl::Status ReadTimes(const JsonFields& in, const CsvSettings* csv,
                       VisitRecord& visit) {
  for (absl::Status status :
       {ReadTime(in, csv, "checked_in_at", &visit.checked_in_at, true),
        ReadTime(in, csv, "checked_out_at", &visit.checked_out_at, false),
        ReadTime(in, csv, "updated_at", &visit.updated_at, false)}) {
    if (!status.ok()) return status;
  }
  if (visit.checked_out_at && *visit.checked_out_at < *visit.checked_in_at) {
    return in.Error("checked_out_at", "is before checked_in_at");
  }
  // It becomes the revision, an unsigned count of microseconds.
  if (visit.updated_at && *visit.updated_at <= absl::UnixEpoch()) {
    return in.Error("updated_at", "must be after 1970-01-01T00:00:00Z");
  }
  return absl::OkStatus();
}

absl::Status ReadCurrency(const JsonFields& in, VisitRecord& visit) {
  const json* currency = in.Find("currency");
  if (currency == nullptr) return absl::OkStatus();
  if (!currency->is_string()) {
    return in.Error("currency", "must be a string like \"EUR\"");
  }
  visit.currency = absl::AsciiStrToUpper(
      absl::StripAsciiWhitespace(currency->get_ref<const std::string&>()));
  if (!visit.currency.empty() && !money::IsCurrencyCode(visit.currency)) {
    return in.Error("currency", "must be an ISO 4217 code like EUR");
  }
  return absl::OkStatus();
}

// The amount is read from its decimal text, never through a double, so
// "0.1" is exactly 100000 micros. A JSON number is read from the shortest
// text that gives back the same double, which is what the sender wrote.
absl::Status ReadAmount(const JsonFields& in, const CsvSettings* csv,
                        VisitRecord& visit) {
  if (absl::Status status = ReadCurrency(in, visit); !status.ok()) {
    return status;
  }
  const json* amount = in.Find("purchase_amount");
  std::string text;
  if (amount == nullptr) {
    // Nothing to be a currency of.
  } else if (amount->is_string()) {
    text = amount->get<std::string>();
  } else if (amount->is_number()) {
    text = amount->dump();
  } else {
    return in.Error("purchase_amount",
                    "must be a decimal like \"12.34\" or 12.34");
  }
  if (absl::StripAsciiWhitespace(text).empty()) {
    visit.currency.clear();
    return absl::OkStatus();
  }
  const money::DecimalMark mark =
      csv == nullptr ? money::DecimalMark::kPoint : csv->decimal;
  absl::StatusOr<int64_t> micros = money::ParseDecimalMicros(text, mark);
  if (!micros.ok()) {
    std::string problem(micros.status().message());
    // "59,90" is a decimal comma or a thousands separator: only the sender
    // can say which.
    if (csv != nullptr && mark == money::DecimalMark::kPoint &&
        absl::StrContains(text, ',')) {
      absl::StrAppend(&problem, "; \"", text,
                      "\" has a comma: if it is a decimal comma, send "
                      "?decimal=comma (or start the adapter with "
                      "--csv_decimal=comma)");
    }
    return in.Error("purchase_amount", problem);
  }
  if (visit.currency.empty()) {
    return in.Error("currency",
                    "must be an ISO 4217 code like EUR when purchase_amount "
                    "is given");
  }
  visit.amount_micros = *micros;
  return absl::OkStatus();
}

// After ReadAmount. An array (JSON) or the column form (a string: CSV, or
// JSON too); prices in the visit's currency, given with or without an
// amount.
absl::Status ReadItems(const JsonFields& in, const CsvSettings* csv,
                       VisitRecord& visit) {
  const json* items = in.Find("items");
  if (items == nullptr) return absl::OkStatus();
  VisitRecord priced;
  if (absl::Status status = ReadCurrency(in, priced); !status.ok()) {
    return status;
  }
  const std::string path =
      absl::StrCat(in.path(), in.path().empty() ? "" : ".", "items");
  absl::StatusOr<std::vector<v1::LineItem>> read;
  if (items->is_string()) {
    read = line_items::LineItemsFromText(
        items->get_ref<const std::string&>(), path, priced.currency,
        csv == nullptr ? money::DecimalMark::kPoint : csv->decimal, {});
  } else if (items->is_array()) {
    read = line_items::LineItemsFromJson(*items, path, priced.currency, {});
  } else {
    return in.Error("items",
                    "must be an array of objects, or \"sku:quantity:price;"
                    "...\"");
  }
  if (!read.ok()) return read.status();
  visit.items = *std::move(read);
  return absl::OkStatus();
}

// JSON visits nest identities in an object; CSV rows have them as columns.
absl::Status ReadIdentities(const JsonFields& in, bool nested,
                            VisitRecord& visit) {
  const json* object = &in.object();
  std::string path = in.path();
  if (nested) {
    object = in.Find("identities");
    if (object == nullptr || !object->is_object()) {
      return in.Error("identities",
                      "must be an object with at least one of loyalty_card, "
                      "phone, email, crm_id");
    }
    path = absl::StrCat(path, path.empty() ? "" : ".", "identities");
  }
  JsonFields identities(*object, path);
  for (absl::Status status :
       {identities.String("loyalty_card", &visit.loyalty_card, false, 128),
        identities.String("phone", &visit.phone, false, 64),
        identities.String("email", &visit.email, false, 256),
        identities.String("crm_id", &visit.crm_id, false, 128)}) {
    if (!status.ok()) return status;
  }
  if (visit.loyalty_card.empty() && visit.phone.empty() &&
      visit.email.empty() && visit.crm_id.empty()) {
    return in.Error(nested ? "identities" : "loyalty_card",
                    "at least one of loyalty_card, phone, email, crm_id "
                    "must be set");
  }
  return absl::OkStatus();
}

absl::StatusOr<VisitRecord> ReadVisit(const json& object, std::string path,
                                      int line, const CsvSettings* csv) {
  if (!object.is_object()) return FieldError(path, "", "must be a JSON object");
  JsonFields in(object, path);
  VisitRecord visit;
  visit.format = csv == nullptr ? "json" : "csv";
  visit.path = std::move(path);
  visit.line = line;
  for (absl::Status status :
       {ReadTexts(in, visit), ReadTimes(in, csv, visit),
        ReadAmount(in, csv, visit), ReadItems(in, csv, visit),
        in.Satisfaction(&visit.satisfaction),
        ReadIdentities(in, visit.format == "json", visit)}) {
    if (!status.ok()) return status;
  }
  return visit;
}

// A CSV row as the JSON object the visit would be. Every value stays a
// string (so amounts stay exact) except the satisfaction fields, which the
// reader wants as numbers.
json RowObject(const std::vector<std::string>& header,
               const std::vector<std::string>& fields,
               money::DecimalMark decimal) {
  json object = json::object();
  for (size_t i = 0; i < header.size() && i < fields.size(); ++i) {
    const absl::string_view value = absl::StripAsciiWhitespace(fields[i]);
    if (value.empty() || header[i].empty()) continue;
    double number = 0;
    const bool score =
        header[i] == "satisfaction" || header[i] == "satisfaction_scale";
    std::string score_text(value);
    // A score of "4,5" where decimal commas were said is 4.5.
    if (score && decimal == money::DecimalMark::kComma &&
        !absl::StrContains(score_text, '.')) {
      absl::StrReplaceAll({{",", "."}}, &score_text);
    }
    // SimpleAtod also reads "nan" and "inf", which are no scores.
    if (score && absl::SimpleAtod(score_text, &number) &&
        std::isfinite(number)) {
      object[header[i]] = number;
    } else {
      object[header[i]] = std::string(value);
    }
  }
  return object;
}

bool IsBlank(const std::vector<std::string>& fields, size_t from = 0) {
  return std::all_of(fields.begin() + static_cast<std::ptrdiff_t>(
                                          std::min(from, fields.size())),
                     fields.end(), [](const std::string& field) {
                       return absl::StripAsciiWhitespace(field).empty();
                     });
}

// The export's header: for each column the visit column it holds ("" for
// none), and the columns ignored.
struct CsvHeader {
  std::vector<std::string> columns;
  std::vector<std::string> names;  // as written, trimmed
};

// "a, b, c" of the header's names, for messages.
std::string Listed(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  for (const std::string& name : names) {
    if (!name.empty()) quoted.push_back(absl::StrCat("\"", name, "\""));
  }
  return quoted.empty() ? "none" : absl::StrJoin(quoted, ", ");
}

// Column names, trimmed and lower-cased, mapped by `mapping`; INVALID_ARGUMENT
// "header: ..." when the rows could not make visits.
absl::StatusOr<CsvHeader> ReadHeader(
    const csv::CsvRow& row, const std::map<std::string, std::string>& mapping) {
  CsvHeader header;
  for (const std::string& name : row.fields) {
    header.names.emplace_back(absl::StripAsciiWhitespace(name));
    std::string column = absl::AsciiStrToLower(header.names.back());
    if (auto mapped = mapping.find(column); mapped != mapping.end()) {
      column = mapped->second;
    }
    if (!IsVisitColumn(column)) column.clear();
    if (!column.empty() &&
        std::find(header.columns.begin(), header.columns.end(), column) !=
            header.columns.end()) {
      return FieldError("", "header",
                        absl::StrCat("has the ", column,
                                     " column twice (directly or "
                                     "through --csv_columns)"));
    }
    header.columns.push_back(std::move(column));
  }
  const auto has = [&](const char* column) {
    return std::find(header.columns.begin(), header.columns.end(), column) !=
           header.columns.end();
  };
  // The columns it has, so a sender whose export names them its own way
  // sees what to map.
  const std::string seen = absl::StrCat(
      " (the header's columns: ", Listed(header.names),
      "; an export's own names are mapped with --csv_columns, e.g. "
      "--csv_columns=id=visit_id,amount=purchase_amount)");
  for (const char* required : kRequiredColumns) {
    if (!has(required)) {
      return FieldError("", "header",
                        absl::StrCat("has no ", required, " column", seen));
    }
  }
  if (std::none_of(std::begin(kIdentityFields), std::end(kIdentityFields),
                   has)) {
    return FieldError("", "header",
                      absl::StrCat("has none of the identity columns "
                                   "loyalty_card, phone, email, crm_id",
                                   seen));
  }
  return header;
}

// The columns no visit field is read from that have a name or, unnamed,
// hold something in some row (a trailing delimiter makes an empty unnamed
// column, which is not worth a word).
std::vector<std::string> IgnoredColumns(const CsvHeader& header,
                                        const std::vector<csv::CsvRow>& rows) {
  std::vector<std::string> ignored;
  for (size_t i = 0; i < header.columns.size(); ++i) {
    if (!header.columns[i].empty()) continue;
    if (!header.names[i].empty()) {
      ignored.push_back(header.names[i]);
      continue;
    }
    const bool used =
        std::any_of(rows.begin() + 1, rows.end(), [i](const csv::CsvRow& row) {
          return i < row.fields.size() &&
                 !absl::StripAsciiWhitespace(row.fields[i]).empty();
        });
    if (used) ignored.push_back(absl::StrCat("column ", i + 1));
  }
  return ignored;
}

}  // namespace

absl::StatusOr<std::vector<VisitRecord>> ParseJsonVisits(
    absl::string_view body, const VisitParseOptions& options) {
  absl::StatusOr<json> parsed =
      json_fields::ParseJsonBody(body, {.max_depth = options.max_json_depth,
                                        .root = "visit",
                                        .root_array = "visits"});
  if (!parsed.ok()) return parsed.status();
  const json& document = *parsed;
  std::vector<VisitRecord> visits;
  if (!document.is_array()) {
    absl::StatusOr<VisitRecord> visit =
        ReadVisit(document, "visit", 0, nullptr);
    if (!visit.ok()) return visit.status();
    visits.push_back(*std::move(visit));
    return visits;
  }
  if (document.empty()) {
    return FieldError("", "body", "is an empty array: no visits");
  }
  if (document.size() > options.max_visits) {
    return FieldError(
        "", "body",
        absl::StrCat("has ", document.size(), " visits; the limit is ",
                     options.max_visits));
  }
  for (size_t i = 0; i < document.size(); ++i) {
    absl::StatusOr<VisitRecord> visit =
        ReadVisit(document[i], absl::StrCat("visits[", i, "]"), 0, nullptr);
    if (!visit.ok()) return visit.status();
    visits.push_back(*std::move(visit));
  }
  return visits;
}

absl::StatusOr<std::map<std::string, std::string>> ParseCsvColumns(
    absl::string_view text) {
  std::map<std::string, std::string> mapping;
  for (absl::string_view pair : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> name_column =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    const std::string name =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(name_column.first));
    const std::string column =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(name_column.second));
    if (name.empty() || column.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", pair, "\" is not their_name=visit_column"));
    }
    if (!IsVisitColumn(column)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", column, "\" is not a visit column (",
                       absl::StrJoin(kVisitColumns, ", "), ")"));
    }
    if (!mapping.emplace(name, column).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", name, "\" is mapped twice"));
    }
  }
  return mapping;
}

absl::StatusOr<CsvVisits> ParseCsvVisits(absl::string_view body,
                                         const VisitParseOptions& options) {
  // Spreadsheet programs like to start UTF-8 exports with a byte order mark.
  absl::ConsumePrefix(&body, "\xEF\xBB\xBF");
  char delimiter = options.csv_delimiter;
  if (delimiter == '\0') {
    absl::StatusOr<char> detected = csv::DetectDelimiter(body);
    if (!detected.ok()) return detected.status();
    delimiter = *detected;
  }
  // Generous field limits, so an over-long value is one bad row (reported by
  // the field's own limit) rather than a refused file; the body limit bounds
  // the whole.
  absl::StatusOr<std::vector<csv::CsvRow>> rows =
      csv::ReadCsv(body,
                   {.max_rows = options.max_csv_rows + 1,
                    .max_fields_per_row = 256,
                    .max_field_bytes = 64 * 1024},
                   delimiter);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return FieldError("", "body", "no header row: the CSV is empty");
  }
  absl::StatusOr<CsvHeader> header =
      ReadHeader(rows->front(), options.csv_columns);
  if (!header.ok()) return header.status();
  const CsvSettings settings{.time_zone = options.time_zone,
                             .decimal = options.csv_decimal};
  CsvVisits visits;
  visits.ignored_columns = IgnoredColumns(*header, *rows);
  const size_t width = header->columns.size();
  for (size_t i = 1; i < rows->size(); ++i) {
    const csv::CsvRow& row = (*rows)[i];
    // Spreadsheets write emptied rows as ",,,,".
    if (IsBlank(row.fields)) continue;
    if (!IsBlank(row.fields, width)) {
      visits.bad.push_back({row.line, "",
                            absl::StrCat("has ", row.fields.size(),
                                         " fields; the header has ", width)});
      continue;
    }
    absl::StatusOr<VisitRecord> visit =
        ReadVisit(RowObject(header->columns, row.fields, settings.decimal), "",
                  row.line, &settings);
    if (!visit.ok()) {
      visits.bad.push_back({row.line, FieldOfMessage(visit.status().message()),
                            std::string(visit.status().message())});
      continue;
    }
    visits.good.push_back(*std::move(visit));
  }
  if (visits.good.empty() && visits.bad.empty()) {
    return FieldError("", "body", "has a header but no rows");
  }
  return visits;
}

}  // namespace omnihub::visit

// Visits as JSON and as CSV rows, both read by one reader (a CSV row is
// turned into the JSON object it would have been) so they get the same
// checks and the same messages.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/csv/csv_reader.h"
#include "common/json_fields/json_body.h"
#include "common/json_fields/json_fields.h"
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

absl::Status ReadTimes(const JsonFields& in, VisitRecord& visit) {
  for (absl::Status status :
       {in.Time("checked_in_at", &visit.checked_in_at, true),
        in.Time("checked_out_at", &visit.checked_out_at, false),
        in.Time("updated_at", &visit.updated_at, false)}) {
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
absl::Status ReadAmount(const JsonFields& in, VisitRecord& visit) {
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
  absl::StatusOr<int64_t> micros = money::ParseDecimalMicros(text);
  if (!micros.ok()) {
    return in.Error("purchase_amount", micros.status().message());
  }
  if (visit.currency.empty()) {
    return in.Error("currency",
                    "must be an ISO 4217 code like EUR when purchase_amount "
                    "is given");
  }
  visit.amount_micros = *micros;
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
                                      std::string format, int line) {
  if (!object.is_object()) return FieldError(path, "", "must be a JSON object");
  JsonFields in(object, path);
  VisitRecord visit;
  visit.format = std::move(format);
  visit.path = std::move(path);
  visit.line = line;
  for (absl::Status status :
       {ReadTexts(in, visit), ReadTimes(in, visit), ReadAmount(in, visit),
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
               const std::vector<std::string>& fields) {
  json object = json::object();
  for (size_t i = 0; i < header.size() && i < fields.size(); ++i) {
    const absl::string_view value = absl::StripAsciiWhitespace(fields[i]);
    if (value.empty() || header[i].empty()) continue;
    double number = 0;
    // SimpleAtod also reads "nan" and "inf", which are no scores.
    if ((header[i] == "satisfaction" || header[i] == "satisfaction_scale") &&
        absl::SimpleAtod(value, &number) && std::isfinite(number)) {
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

// Column names, trimmed and lower-cased; INVALID_ARGUMENT "header: ..." when
// the rows could not make visits.
absl::StatusOr<std::vector<std::string>> ReadHeader(const csv::CsvRow& row) {
  std::vector<std::string> header;
  for (const std::string& name : row.fields) {
    std::string column =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
    if (!column.empty() &&
        std::find(header.begin(), header.end(), column) != header.end()) {
      return FieldError("", "header",
                        absl::StrCat("has the ", column, " column twice"));
    }
    header.push_back(std::move(column));
  }
  for (const char* required : kRequiredColumns) {
    if (std::find(header.begin(), header.end(), required) == header.end()) {
      return FieldError("", "header",
                        absl::StrCat("has no ", required, " column"));
    }
  }
  if (std::none_of(std::begin(kIdentityFields), std::end(kIdentityFields),
                   [&](const char* column) {
                     return std::find(header.begin(), header.end(), column) !=
                            header.end();
                   })) {
    return FieldError("", "header",
                      "has none of the identity columns loyalty_card, phone, "
                      "email, crm_id");
  }
  return header;
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
    absl::StatusOr<VisitRecord> visit = ReadVisit(document, "visit", "json", 0);
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
        ReadVisit(document[i], absl::StrCat("visits[", i, "]"), "json", 0);
    if (!visit.ok()) return visit.status();
    visits.push_back(*std::move(visit));
  }
  return visits;
}

absl::StatusOr<CsvVisits> ParseCsvVisits(absl::string_view body,
                                         const VisitParseOptions& options) {
  // Spreadsheet programs like to start UTF-8 exports with a byte order mark.
  absl::ConsumePrefix(&body, "\xEF\xBB\xBF");
  // Generous field limits, so an over-long value is one bad row (reported by
  // the field's own limit) rather than a refused file; the body limit bounds
  // the whole.
  absl::StatusOr<std::vector<csv::CsvRow>> rows =
      csv::ReadCsv(body, {.max_rows = options.max_csv_rows + 1,
                          .max_fields_per_row = 256,
                          .max_field_bytes = 64 * 1024});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return FieldError("", "body", "no header row: the CSV is empty");
  }
  absl::StatusOr<std::vector<std::string>> header = ReadHeader(rows->front());
  if (!header.ok()) return header.status();
  CsvVisits visits;
  for (size_t i = 1; i < rows->size(); ++i) {
    const csv::CsvRow& row = (*rows)[i];
    // Spreadsheets write emptied rows as ",,,,".
    if (IsBlank(row.fields)) continue;
    if (!IsBlank(row.fields, header->size())) {
      visits.bad.push_back(
          {row.line, "",
           absl::StrCat("has ", row.fields.size(), " fields; the header has ",
                        header->size())});
      continue;
    }
    absl::StatusOr<VisitRecord> visit =
        ReadVisit(RowObject(*header, row.fields), "", "csv", row.line);
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

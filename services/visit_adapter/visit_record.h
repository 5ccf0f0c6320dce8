// A visit to a store or branch as the visit adapter understands it, whether it
// came as JSON or as a row of a day's-end CSV export, and how it becomes an
// interaction event.
//
//   absl::StatusOr<CsvVisits> visits = ParseCsvVisits(body, {});
//   for (const VisitRecord& visit : visits->good)
//     absl::StatusOr<v1::InteractionEvent> event =
//         VisitToEvent(visit, normalizer);
#ifndef OMNIHUB_SERVICES_VISIT_ADAPTER_VISIT_RECORD_H_
#define OMNIHUB_SERVICES_VISIT_ADAPTER_VISIT_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/identity_normalizer.h"
#include "common/json_fields/json_body.h"
#include "common/money/money.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::visit {

struct VisitRecord {
  std::string format;  // "json" or "csv": names the event source
  // Names the record in errors: "visits[2]" or "visit" for JSON, "" for a CSV
  // row, whose problems are reported beside its line.
  std::string path;
  int line = 0;  // the CSV line, 0 for JSON
  std::string visit_id;
  std::string store_id;
  std::string staff_id;
  std::optional<absl::Time> checked_in_at;  // always set on a parsed record
  std::optional<absl::Time> checked_out_at;
  std::string purpose;  // "" or one of kVisitPurposes
  std::string outcome;
  std::optional<int64_t> amount_micros;
  std::string currency;                // upper-case; set with amount_micros
  std::optional<double> satisfaction;  // 0 to 10
  std::string loyalty_card, phone, email, crm_id;
  std::optional<absl::Time> updated_at;
  // What was bought: JSON `items` (objects as line_items.h reads them), or
  // the CSV column `items`, "sku:quantity[:price[:category]]" separated by
  // ";". Prices are in `currency`.
  std::vector<v1::LineItem> items;
};

// The columns a CSV export may have; identities are plain columns, not the
// JSON's nested object.
inline constexpr const char* kVisitColumns[] = {"visit_id",
                                                "store_id",
                                                "staff_id",
                                                "checked_in_at",
                                                "checked_out_at",
                                                "purpose",
                                                "outcome",
                                                "purchase_amount",
                                                "currency",
                                                "satisfaction",
                                                "satisfaction_scale",
                                                "loyalty_card",
                                                "phone",
                                                "email",
                                                "crm_id",
                                                "updated_at",
                                                "items"};

inline constexpr const char* kVisitPurposes[] = {
    "enquiry", "purchase", "complaint", "appointment",
    "pickup",  "return",   "other"};

struct VisitParseOptions {
  size_t max_visits = 1000;  // in one JSON request
  size_t max_csv_rows = 10000;
  // How far past now updated_at may be, as the hub allows for occurred_at: a
  // revision from further ahead could never be replaced by a correction.
  absl::Duration max_future_skew = absl::Minutes(5);
  // Most arrays and objects nested in a JSON body (see json_body.h).
  size_t max_json_depth = json_fields::kDefaultMaxJsonDepth;

  // How CSV exports are written. The delimiter: ',', ';' or '\t', or '\0'
  // to tell it from the header.
  char csv_delimiter = '\0';
  money::DecimalMark csv_decimal = money::DecimalMark::kPoint;
  // The zone of CSV times written without a UTC offset; without one such
  // times are refused.
  std::optional<absl::TimeZone> time_zone = std::nullopt;
  // An export's own column names (trimmed, lower case) to the visit columns
  // they hold, e.g. "amount" -> "purchase_amount".
  std::map<std::string, std::string> csv_columns = {};
};

// --csv_columns: "their_name=visit_column,..." (e.g.
// "amount=purchase_amount,fecha=checked_in_at") into
// VisitParseOptions::csv_columns. INVALID_ARGUMENT for a pair that is not
// name=column, a column that is not one of kVisitColumns, or a name given
// twice.
absl::StatusOr<std::map<std::string, std::string>> ParseCsvColumns(
    absl::string_view text);

// One visit object or an array of them; any bad visit refuses the request
// (INVALID_ARGUMENT "visits[2].currency: ...", "visit.currency: ..." for a
// lone object).
absl::StatusOr<std::vector<VisitRecord>> ParseJsonVisits(
    absl::string_view body, const VisitParseOptions& options);

struct RowProblem {
  int line = 0;
  std::string field;    // the column, or "" for the row as a whole
  std::string message;  // "field: problem"
};

struct CsvVisits {
  std::vector<VisitRecord> good;
  std::vector<RowProblem> bad;
  // Columns of the export that are none of kVisitColumns (nor mapped to one),
  // named as the header writes them; "column 7" for one with no name that
  // holds anything.
  std::vector<std::string> ignored_columns;
};

// A CSV export with a header row naming the columns (kVisitColumns, or an
// export's own names mapped by options.csv_columns; others are ignored and
// listed). The delimiter is options.csv_delimiter or told from the header;
// amounts use options.csv_decimal; times may be local, in
// options.time_zone. Rows are judged one by one; only a problem with the
// whole file (no header, a required column missing, an unclear delimiter,
// broken quoting, too many rows) is an error.
absl::StatusOr<CsvVisits> ParseCsvVisits(absl::string_view body,
                                         const VisitParseOptions& options);

// The event for a visit: "visit:<store>:<visit>" so JSON and CSV of one visit
// are one event, and the check-out record replaces the check-in record.
// INVALID_ARGUMENT naming the field for an unusable identity.
absl::StatusOr<v1::InteractionEvent> VisitToEvent(
    const VisitRecord& visit, const identity::IdentityNormalizer& normalizer);

// The event validator names event fields ("occurred_at",
// "identities[1].value"); the sender of a visit knows only its own
// ("checked_in_at", "phone"). `event_field` is relative to the event.
std::string VisitFieldOf(const v1::InteractionEvent& event,
                         absl::string_view event_field);

// INVALID_ARGUMENT "<visit.path>.<field>: problem" for what `problem` says is
// wrong with `event_field` of the visit's event.
absl::Status VisitError(const VisitRecord& visit,
                        const v1::InteractionEvent& event,
                        absl::string_view event_field,
                        absl::string_view problem);

// The field a "field: problem" message names ("" when it names none).
std::string FieldOfMessage(absl::string_view message);

}  // namespace omnihub::visit

#endif  // OMNIHUB_SERVICES_VISIT_ADAPTER_VISIT_RECORD_H_

// omnihub-visit-adapter: store and branch systems report visits here.
#include <cstddef>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/adapter_runtime/adapter_runtime.h"
#include "common/csv/csv_reader.h"
#include "common/event_validation/ingest_limit_flags.h"
#include "common/money/money.h"
#include "services/visit_adapter/visit_routes.h"

ABSL_FLAG(int, max_visits, 1000, "Most visits in one JSON request.");
ABSL_FLAG(int, max_csv_rows, 10000,
          "Most rows, not counting the header, in one CSV export.");
ABSL_FLAG(std::string, visit_time_zone, "",
          "Time zone of CSV times written without a UTC offset (e.g. "
          "Europe/Madrid, as Excel writes them); empty: such times are "
          "refused.");
ABSL_FLAG(std::string, csv_delimiter, "auto",
          "Delimiter of CSV exports: auto (told from the header), comma, "
          "semicolon or tab. A request's ?delimiter= overrides it.");
ABSL_FLAG(std::string, csv_decimal, "point",
          "Decimal mark of CSV amounts: point (59.90) or comma (59,90 and "
          "1.059,90). A request's ?decimal= overrides it.");
ABSL_FLAG(std::string, csv_columns, "",
          "An export's own column names for the visit columns, as "
          "their_name=visit_column,... (e.g. "
          "\"amount=purchase_amount,fecha=checked_in_at\").");

namespace {

// The flags library puts the program's name in front of this.
constexpr char kUsage[] =
    "takes visits to stores and branches over HTTP and delivers them to the "
    "timeline service.\n"
    "  POST /v1/visits      one JSON visit or an array of them; any bad visit "
    "refuses the request\n"
    "  POST /v1/visits/csv  a CSV export with a header row; good rows are "
    "kept, bad rows listed by line\n"
    "A visit's check-out record replaces its check-in record.";

// "--flag: problem", which stops the adapter (exit code 2).
absl::Status FlagError(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

absl::StatusOr<size_t> AtLeastOne(absl::string_view flag, int value) {
  if (value < 1) {
    return FlagError(flag, absl::StrCat(value,
                                        " is not allowed; it must be at "
                                        "least 1"));
  }
  return static_cast<size_t>(value);
}

absl::StatusOr<omnihub::visit::VisitParseOptions> OptionsFromFlags() {
  omnihub::visit::VisitParseOptions options;
  absl::StatusOr<size_t> max_visits =
      AtLeastOne("max_visits", absl::GetFlag(FLAGS_max_visits));
  if (!max_visits.ok()) return max_visits.status();
  absl::StatusOr<size_t> max_csv_rows =
      AtLeastOne("max_csv_rows", absl::GetFlag(FLAGS_max_csv_rows));
  if (!max_csv_rows.ok()) return max_csv_rows.status();
  options.max_visits = *max_visits;
  options.max_csv_rows = *max_csv_rows;
  options.max_future_skew = absl::GetFlag(FLAGS_max_future_skew);
  options.max_json_depth = omnihub::adapter::MaxJsonDepth();
  // A zone the system does not know would shift every visit by hours if
  // taken as UTC: refuse to start instead.
  if (const std::string zone = absl::GetFlag(FLAGS_visit_time_zone);
      !zone.empty()) {
    absl::TimeZone loaded;
    if (!absl::LoadTimeZone(zone, &loaded)) {
      return FlagError("visit_time_zone",
                       absl::StrCat("\"", zone,
                                    "\" is not a time zone this system knows "
                                    "(an IANA name such as Europe/Madrid, or "
                                    "UTC)"));
    }
    options.time_zone = loaded;
  }
  absl::StatusOr<char> delimiter =
      omnihub::csv::ParseDelimiterName(absl::GetFlag(FLAGS_csv_delimiter));
  if (!delimiter.ok()) {
    return FlagError("csv_delimiter", delimiter.status().message());
  }
  options.csv_delimiter = *delimiter;
  absl::StatusOr<omnihub::money::DecimalMark> decimal =
      omnihub::money::ParseDecimalMark(absl::GetFlag(FLAGS_csv_decimal));
  if (!decimal.ok())
    return FlagError("csv_decimal", decimal.status().message());
  options.csv_decimal = *decimal;
  absl::StatusOr<std::map<std::string, std::string>> columns =
      omnihub::visit::ParseCsvColumns(absl::GetFlag(FLAGS_csv_columns));
  if (!columns.ok())
    return FlagError("csv_columns", columns.status().message());
  options.csv_columns = *std::move(columns);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  return omnihub::adapter::RunAdapter(
      argc, argv,
      {.name = "visit",
       .default_port = 8083,
       .usage = kUsage,
       .takes_api_keys = true},
      [](omnihub::http_intake::HttpIntake& intake,
         const omnihub::identity::IdentityNormalizer& normalizer) {
        absl::StatusOr<omnihub::visit::VisitParseOptions> options =
            OptionsFromFlags();
        if (!options.ok()) return options.status();
        omnihub::visit::RegisterVisitRoutes(intake, &normalizer, *options);
        return absl::OkStatus();
      });
}

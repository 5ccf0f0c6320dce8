// Store visits as the visit adapter receives them: JSON visits and CSV
// exports in each dialect it reads, each accepted visit turned into an event
// and validated as the hub would.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/identity_normalizer.h"
#include "services/visit_adapter/visit_record.h"
#include "tests/fuzz/hub_validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the format and the CSV dialect; the rest is the
  // body. Bit 0: CSV; 1: decimal commas; 2: local times in Madrid; 3-4: the
  // delimiter (told from the header, ';', ',' or tab); 5: an export's own
  // column names mapped.
  const uint8_t settings = data[0];
  const absl::string_view body(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  static const omnihub::identity::IdentityNormalizer normalizer;
  static const absl::TimeZone madrid = [] {
    absl::TimeZone zone;
    return absl::LoadTimeZone("Europe/Madrid", &zone)
               ? zone
               : absl::FixedTimeZone(3600);
  }();
  omnihub::visit::VisitParseOptions options;
  if (settings & 2) options.csv_decimal = omnihub::money::DecimalMark::kComma;
  if (settings & 4) options.time_zone = madrid;
  constexpr char kDelimiters[] = {'\0', ';', ',', '\t'};
  options.csv_delimiter = kDelimiters[(settings >> 3) & 3];
  if (settings & 32) {
    options.csv_columns = {{"amount", "purchase_amount"},
                           {"fecha", "checked_in_at"},
                           {"tienda", "store_id"}};
  }
  std::vector<omnihub::visit::VisitRecord> visits;
  if (settings & 1) {
    absl::StatusOr<omnihub::visit::CsvVisits> rows =
        omnihub::visit::ParseCsvVisits(body, options);
    if (!rows.ok()) return 0;
    visits = std::move(rows->good);
  } else {
    absl::StatusOr<std::vector<omnihub::visit::VisitRecord>> parsed =
        omnihub::visit::ParseJsonVisits(body, options);
    if (!parsed.ok()) return 0;
    visits = *std::move(parsed);
  }
  for (const omnihub::visit::VisitRecord& visit : visits) {
    absl::StatusOr<omnihub::v1::InteractionEvent> event =
        omnihub::visit::VisitToEvent(visit, normalizer);
    if (event.ok()) omnihub::fuzz::ValidateAsTheHubWould(*std::move(event));
  }
  return 0;
}

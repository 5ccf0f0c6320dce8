// Store visits as the visit adapter receives them: JSON visits and CSV
// exports, each accepted visit turned into an event.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/identity/identity_normalizer.h"
#include "services/visit_adapter/visit_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the format, the rest is the body.
  const bool csv = data[0] & 1;
  const absl::string_view body(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  static const omnihub::identity::IdentityNormalizer normalizer;
  const omnihub::visit::VisitParseOptions options;
  std::vector<omnihub::visit::VisitRecord> visits;
  if (csv) {
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
    (void)omnihub::visit::VisitToEvent(visit, normalizer);
  }
  return 0;
}

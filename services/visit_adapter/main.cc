// omnihub-visit-adapter: store and branch systems report visits here.
#include <algorithm>
#include <cstddef>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "common/adapter_runtime/adapter_runtime.h"
#include "services/visit_adapter/visit_routes.h"

ABSL_FLAG(int, max_visits, 1000,
          "Most visits in one JSON request (values below 1 count as 1).");
ABSL_FLAG(int, max_csv_rows, 10000,
          "Most rows, not counting the header, in one CSV export (values "
          "below 1 count as 1).");

// Defined by the adapter runtime for the events it validates.
ABSL_DECLARE_FLAG(absl::Duration, max_future_skew);

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

size_t AtLeastOne(int value) { return static_cast<size_t>(std::max(1, value)); }

}  // namespace

int main(int argc, char** argv) {
  return omnihub::adapter::RunAdapter(
      argc, argv, {.name = "visit", .default_port = 8083, .usage = kUsage},
      [](omnihub::http_intake::HttpIntake& intake,
         const omnihub::identity::IdentityNormalizer& normalizer) {
        omnihub::visit::RegisterVisitRoutes(
            intake, &normalizer,
            {.max_visits = AtLeastOne(absl::GetFlag(FLAGS_max_visits)),
             .max_csv_rows = AtLeastOne(absl::GetFlag(FLAGS_max_csv_rows)),
             .max_future_skew = absl::GetFlag(FLAGS_max_future_skew),
             .max_json_depth = omnihub::adapter::MaxJsonDepth()});
        return absl::OkStatus();
      });
}

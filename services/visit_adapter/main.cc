// omnihub-visit-adapter: store and branch systems report visits here.
#include <algorithm>

#include "absl/flags/flag.h"
#include "common/adapter_runtime/adapter_runtime.h"
#include "services/visit_adapter/visit_routes.h"

ABSL_FLAG(int, max_visits, 1000, "Most visits in one JSON request.");
ABSL_FLAG(int, max_csv_rows, 10000, "Most rows in one CSV export.");

int main(int argc, char** argv) {
  return omnihub::adapter::RunAdapter(
      argc, argv,
      {.name = "visit",
       .default_port = 8083,
       .usage = "omnihub-visit-adapter: takes store and branch visits (JSON, "
                "or a CSV export with a header row) over HTTP and delivers "
                "them to the timeline service."},
      [](omnihub::http_intake::HttpIntake& intake,
         const omnihub::identity::IdentityNormalizer& normalizer) {
        omnihub::visit::RegisterVisitRoutes(
            intake, &normalizer,
            {.max_visits = static_cast<size_t>(
                 std::max(1, absl::GetFlag(FLAGS_max_visits))),
             .max_csv_rows = static_cast<size_t>(
                 std::max(1, absl::GetFlag(FLAGS_max_csv_rows)))});
      });
}

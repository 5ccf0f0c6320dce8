// The visit adapter's HTTP routes: store and branch visits in, events out.
//
//   POST /v1/visits       one JSON visit or an array (all or nothing: any bad
//                         visit is a 400 naming "visits[i].field")
//   POST /v1/visits/csv   a CSV export with a header row: good rows are kept,
//                         bad rows listed with their line and reason, the
//                         columns ignored listed; ?delimiter= and ?decimal=
//                         override the adapter's settings for one export
//
//   RegisterVisitRoutes(intake, &normalizer, {.max_visits = 1000});
#ifndef OMNIHUB_SERVICES_VISIT_ADAPTER_VISIT_ROUTES_H_
#define OMNIHUB_SERVICES_VISIT_ADAPTER_VISIT_ROUTES_H_

#include "common/http_intake/http_intake.h"
#include "common/identity/identity_normalizer.h"
#include "services/visit_adapter/visit_record.h"

namespace omnihub::visit {

// `intake` and `normalizer` must outlive the intake's server.
void RegisterVisitRoutes(http_intake::HttpIntake& intake,
                         const identity::IdentityNormalizer* normalizer,
                         VisitParseOptions options);

}  // namespace omnihub::visit

#endif  // OMNIHUB_SERVICES_VISIT_ADAPTER_VISIT_ROUTES_H_

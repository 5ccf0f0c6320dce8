// A customer's facts as the segment conditions see them (CustomerFacts),
// from one HGETALL of its view hash: interactions and last times per
// channel, total value per currency, identity kinds, and the lifecycle stage
// computed from its purchase days under the rules in use (with the day it
// next changes by time), as the lifecycle keeper computes it, events per
// kind, and its purchases with the RFM boundaries and purchase model in use
// for the conditions on them.
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_CUSTOMER_FACTS_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_CUSTOMER_FACTS_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis/redis_client.h"
#include "services/insights/store/insights_engine.h"
#include "services/segments/condition/segment_condition.h"

namespace omnihub::segments {

struct ViewFacts {
  // The customer was merged into another or is being erased, or has no view.
  bool gone = false;
  CustomerFacts facts;
};

// What beside the view the facts come from: the insights in use on this
// replica, taken once per evaluation.
struct FactSources {
  std::shared_ptr<const insights::CurrentModel> model;
  std::shared_ptr<const insights::CurrentRfm> rfm;
  insights::ValueSettings value;
};
FactSources SourcesOf(const insights::InsightsEngine& insights);

// `view` is the reply to HGETALL of the view hash.
absl::StatusOr<ViewFacts> FactsOfView(const redis::Reply& view,
                                      const FactSources& sources,
                                      absl::Time now);

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_CUSTOMER_FACTS_H_

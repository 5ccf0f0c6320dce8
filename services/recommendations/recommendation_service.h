// The gRPC face of cross-selling (omnihub.v1.RecommendationService) on the
// callback API. Requests are checked here (INVALID_ARGUMENT naming the
// field); the customer is resolved and the counts are read asynchronously
// (TimelineStore::ResolveAsync, cross_sell_query.h): no thread waits on
// Redis.
//
//   RecommendationService service(&keeper, &store, &validator);
//   builder.RegisterService(&service);
#ifndef OMNIHUB_SERVICES_RECOMMENDATIONS_RECOMMENDATION_SERVICE_H_
#define OMNIHUB_SERVICES_RECOMMENDATIONS_RECOMMENDATION_SERVICE_H_

#include "common/event_validation/event_validator.h"
#include "omnihub/v1/recommendations.grpc.pb.h"
#include "services/recommendations/cross_sell_keeper.h"
#include "services/recommendations/cross_sell_query.h"
#include "services/timeline/timeline_store.h"

namespace omnihub::recommendations {

class RecommendationService final
    : public v1::RecommendationService::CallbackService {
 public:
  RecommendationService(CrossSellKeeper* keeper, timeline::TimelineStore* store,
                        const timeline::EventValidator* validator);

  grpc::ServerUnaryReactor* GetCrossSellCandidates(
      grpc::CallbackServerContext* context,
      const v1::GetCrossSellCandidatesRequest* request,
      v1::GetCrossSellCandidatesResponse* response) override;

 private:
  CrossSellKeeper* keeper_;
  timeline::TimelineStore* store_;
  const timeline::EventValidator* validator_;
};

// The query a request asks for (customer_id left empty), or
// INVALID_ARGUMENT naming the field.
absl::StatusOr<CrossSellQuery> QueryOf(
    const v1::GetCrossSellCandidatesRequest& request);

}  // namespace omnihub::recommendations

#endif  // OMNIHUB_SERVICES_RECOMMENDATIONS_RECOMMENDATION_SERVICE_H_

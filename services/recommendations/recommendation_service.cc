#include "services/recommendations/recommendation_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_util/status_conversion.h"
#include "services/timeline/grpc_call_scope.h"

namespace omnihub::recommendations {
namespace {

using grpc_util::ToGrpcStatus;

constexpr int kDefaultLimit = 10;
constexpr int kMaxLimit = 100;
constexpr int64_t kDefaultMinCustomers = 2;
constexpr int64_t kMaxMinCustomers = 1'000'000;

}  // namespace

absl::StatusOr<CrossSellQuery> QueryOf(
    const v1::GetCrossSellCandidatesRequest& request) {
  CrossSellQuery query;
  if (request.limit() < 0 || request.limit() > kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: must be 1 to ", kMaxLimit, " (0: ", kDefaultLimit,
                     "), got ", request.limit()));
  }
  query.limit = request.limit() == 0 ? kDefaultLimit : request.limit();
  if (!v1::CrossSellLevel_IsValid(request.level())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "level: ", static_cast<int>(request.level()), " is not a known level"));
  }
  query.level = request.level() == v1::CROSS_SELL_LEVEL_CATEGORY
                    ? v1::CROSS_SELL_LEVEL_CATEGORY
                    : v1::CROSS_SELL_LEVEL_PRODUCT;
  if (request.min_customers() < 0 ||
      request.min_customers() > kMaxMinCustomers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_customers: must be 1 to ", kMaxMinCustomers,
        " (0: ", kDefaultMinCustomers, "), got ", request.min_customers()));
  }
  query.min_customers = request.min_customers() == 0 ? kDefaultMinCustomers
                                                     : request.min_customers();
  return query;
}

RecommendationService::RecommendationService(
    CrossSellKeeper* keeper, timeline::TimelineStore* store,
    const timeline::EventValidator* validator)
    : keeper_(keeper), store_(store), validator_(validator) {}

grpc::ServerUnaryReactor* RecommendationService::GetCrossSellCandidates(
    grpc::CallbackServerContext* context,
    const v1::GetCrossSellCandidatesRequest* request,
    v1::GetCrossSellCandidatesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::CustomerSelector> selector =
      validator_->NormalizeCustomerSelector(request->customer(), "customer");
  if (!selector.ok()) {
    reactor->Finish(ToGrpcStatus(selector.status()));
    return reactor;
  }
  absl::StatusOr<CrossSellQuery> query = QueryOf(*request);
  if (!query.ok()) {
    reactor->Finish(ToGrpcStatus(query.status()));
    return reactor;
  }
  // The first command carries the call's deadline, as GetCustomer's does.
  redis::ScopedCall call(timeline::DeadlineOf(context));
  store_->ResolveAsync(
      *selector, [this, reactor, response, query = *std::move(query)](
                     absl::StatusOr<timeline::ResolvedCustomer> found) mutable {
        if (!found.ok()) return reactor->Finish(ToGrpcStatus(found.status()));
        query.customer_id = found->customer_id;
        ReadCrossSellCandidates(
            *keeper_, std::move(query),
            [reactor, response](
                absl::StatusOr<v1::GetCrossSellCandidatesResponse> answer) {
              if (!answer.ok()) {
                return reactor->Finish(ToGrpcStatus(answer.status()));
              }
              *response = *std::move(answer);
              reactor->Finish(grpc::Status::OK);
            });
      });
  return reactor;
}

}  // namespace omnihub::recommendations

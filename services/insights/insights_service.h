// The gRPC face of the customer insights (omnihub.v1.InsightsService) on the
// callback API. Requests are checked here (INVALID_ARGUMENT naming the
// field); the work runs on the insights engine's threads, never in a
// reactor.
//
//   InsightsService service(&engine, &store, &validator, {}, &segments);
//   builder.RegisterService(&service);
#ifndef OMNIHUB_SERVICES_INSIGHTS_INSIGHTS_SERVICE_H_
#define OMNIHUB_SERVICES_INSIGHTS_INSIGHTS_SERVICE_H_

#include "common/event_validation/event_validator.h"
#include "omnihub/v1/insights.grpc.pb.h"
#include "services/insights/store/insights_engine.h"
#include "services/insights/store/segment_lookup.h"
#include "services/timeline/timeline_store.h"

namespace omnihub::insights {

struct InsightsServiceLimits {
  int max_horizons = 8;
  int max_horizon_days = 3650;
  int max_kpi_days = 3660;
  int max_cohort_months = 120;
  int max_holdout_days = 3650;
  // ListTopCustomers: customers per page at most.
  int max_top_customers_page = 1000;
  // ListTopCustomers within a segment: ranking entries looked at per page
  // at most (the page then holds fewer members; its token goes on).
  int64_t max_top_customers_segment_scan = 10000;
};

class InsightsService final : public v1::InsightsService::CallbackService {
 public:
  InsightsService(InsightsEngine* engine, timeline::TimelineStore* store,
                  const timeline::EventValidator* validator,
                  InsightsServiceLimits limits = {},
                  SegmentLookup* segments = nullptr);

  grpc::ServerUnaryReactor* GetCustomerInsights(
      grpc::CallbackServerContext* context,
      const v1::GetCustomerInsightsRequest* request,
      v1::CustomerInsights* response) override;
  grpc::ServerUnaryReactor* GetPurchaseModel(
      grpc::CallbackServerContext* context,
      const v1::GetPurchaseModelRequest* request,
      v1::PurchaseModel* response) override;
  grpc::ServerUnaryReactor* FitPurchaseModel(
      grpc::CallbackServerContext* context,
      const v1::FitPurchaseModelRequest* request,
      v1::PurchaseModel* response) override;
  grpc::ServerUnaryReactor* GetKpis(grpc::CallbackServerContext* context,
                                    const v1::GetKpisRequest* request,
                                    v1::GetKpisResponse* response) override;
  grpc::ServerUnaryReactor* GetCohorts(
      grpc::CallbackServerContext* context,
      const v1::GetCohortsRequest* request,
      v1::GetCohortsResponse* response) override;
  grpc::ServerUnaryReactor* GetRfmSummary(
      grpc::CallbackServerContext* context,
      const v1::GetRfmSummaryRequest* request,
      v1::RfmSummary* response) override;
  grpc::ServerUnaryReactor* ComputeRfm(grpc::CallbackServerContext* context,
                                       const v1::ComputeRfmRequest* request,
                                       v1::RfmSummary* response) override;
  grpc::ServerUnaryReactor* ListTopCustomers(
      grpc::CallbackServerContext* context,
      const v1::ListTopCustomersRequest* request,
      v1::ListTopCustomersResponse* response) override;

 private:
  InsightsEngine* engine_;
  timeline::TimelineStore* store_;
  const timeline::EventValidator* validator_;
  InsightsServiceLimits limits_;
  SegmentLookup* segments_;  // null: segments are off
};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_INSIGHTS_SERVICE_H_

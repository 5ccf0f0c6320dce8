#include "common/auth/method_scopes.h"

namespace omnihub::auth {
namespace {

constexpr MethodAccess kOpen{.open = true};
constexpr MethodAccess Needs(Scope scope) { return {.scope = scope}; }

}  // namespace

const std::vector<std::pair<absl::string_view, MethodAccess>>& MethodTable() {
  static const auto* table = new std::vector<
      std::pair<absl::string_view, MethodAccess>>{
      {"/omnihub.v1.TimelineService/Ingest", Needs(Scope::kIngest)},
      {"/omnihub.v1.TimelineService/IngestStream", Needs(Scope::kIngest)},
      {"/omnihub.v1.TimelineService/GetTimeline", Needs(Scope::kRead)},
      {"/omnihub.v1.TimelineService/GetCustomer", Needs(Scope::kRead)},
      {"/omnihub.v1.CustomerService/ResolveCustomer", Needs(Scope::kRead)},
      {"/omnihub.v1.CustomerService/LinkIdentities", Needs(Scope::kLink)},
      {"/omnihub.v1.CustomerService/GetMergeLog", Needs(Scope::kPrivacy)},
      {"/omnihub.v1.CustomerService/ForgetCustomer", Needs(Scope::kPrivacy)},
      {"/omnihub.v1.CustomerService/ExportCustomer", Needs(Scope::kPrivacy)},
      {"/omnihub.v1.CustomerService/ListSuppressions", Needs(Scope::kPrivacy)},
      {"/omnihub.v1.CustomerService/CheckSuppression", Needs(Scope::kPrivacy)},
      {"/omnihub.v1.CustomerService/LiftSuppression", Needs(Scope::kPrivacy)},
      {"/omnihub.v1.InsightsService/GetCustomerInsights", Needs(Scope::kRead)},
      {"/omnihub.v1.InsightsService/GetPurchaseModel", Needs(Scope::kRead)},
      {"/omnihub.v1.InsightsService/FitPurchaseModel", Needs(Scope::kAdmin)},
      {"/omnihub.v1.InsightsService/GetKpis", Needs(Scope::kRead)},
      {"/omnihub.v1.InsightsService/GetCohorts", Needs(Scope::kRead)},
      {"/omnihub.v1.SegmentService/CreateSegment", Needs(Scope::kAdmin)},
      {"/omnihub.v1.SegmentService/UpdateSegment", Needs(Scope::kAdmin)},
      {"/omnihub.v1.SegmentService/DeleteSegment", Needs(Scope::kAdmin)},
      {"/omnihub.v1.SegmentService/GetSegment", Needs(Scope::kRead)},
      {"/omnihub.v1.SegmentService/ListSegments", Needs(Scope::kRead)},
      {"/omnihub.v1.SegmentService/ListSegmentMembers", Needs(Scope::kRead)},
      {"/omnihub.v1.SegmentService/GetCustomerSegments", Needs(Scope::kRead)},
      {"/omnihub.v1.SegmentService/GetSegmentSizes", Needs(Scope::kRead)},
      {"/omnihub.v1.InsightsService/GetRfmSummary", Needs(Scope::kRead)},
      {"/omnihub.v1.InsightsService/ComputeRfm", Needs(Scope::kAdmin)},
      {"/omnihub.v1.InsightsService/ListTopCustomers", Needs(Scope::kRead)},
      {"/omnihub.v1.RecommendationService/GetCrossSellCandidates",
       Needs(Scope::kRead)},
      {"/grpc.health.v1.Health/Check", kOpen},
      {"/grpc.health.v1.Health/Watch", kOpen},
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", kOpen},
      {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", kOpen},
  };
  return *table;
}

std::optional<MethodAccess> AccessOf(absl::string_view method) {
  for (const auto& [name, access] : MethodTable()) {
    if (name == method) return access;
  }
  return std::nullopt;
}

}  // namespace omnihub::auth

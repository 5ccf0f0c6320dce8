// The gRPC face of the user-defined segments (omnihub.v1.SegmentService) on
// the callback API. Requests are checked here and in the engine
// (INVALID_ARGUMENT naming the field). Member pages, and the customer
// GetCustomerSegments names, are read without blocking; the rest, which
// blocks on Redis, runs on the service's threads, never in a reactor.
//
//   SegmentService service(&engine, &store, &validator);
//   builder.RegisterService(&service);
#ifndef OMNIHUB_SERVICES_SEGMENTS_SEGMENT_SERVICE_H_
#define OMNIHUB_SERVICES_SEGMENTS_SEGMENT_SERVICE_H_

#include "common/event_validation/event_validator.h"
#include "omnihub/v1/segments.grpc.pb.h"
#include "services/segments/store/segment_engine.h"
#include "services/timeline/timeline_store.h"
#include "services/timeline/worker_pool.h"

namespace omnihub::segments {

class SegmentService final : public v1::SegmentService::CallbackService {
 public:
  SegmentService(SegmentEngine* engine, timeline::TimelineStore* store,
                 const timeline::EventValidator* validator, int threads = 2);

  grpc::ServerUnaryReactor* CreateSegment(
      grpc::CallbackServerContext* context,
      const v1::CreateSegmentRequest* request, v1::Segment* response) override;
  grpc::ServerUnaryReactor* UpdateSegment(
      grpc::CallbackServerContext* context,
      const v1::UpdateSegmentRequest* request, v1::Segment* response) override;
  grpc::ServerUnaryReactor* DeleteSegment(
      grpc::CallbackServerContext* context,
      const v1::DeleteSegmentRequest* request,
      v1::DeleteSegmentResponse* response) override;
  grpc::ServerUnaryReactor* GetSegment(grpc::CallbackServerContext* context,
                                       const v1::GetSegmentRequest* request,
                                       v1::Segment* response) override;
  grpc::ServerUnaryReactor* ListSegments(
      grpc::CallbackServerContext* context,
      const v1::ListSegmentsRequest* request,
      v1::ListSegmentsResponse* response) override;
  grpc::ServerUnaryReactor* ListSegmentMembers(
      grpc::CallbackServerContext* context,
      const v1::ListSegmentMembersRequest* request,
      v1::ListSegmentMembersResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomerSegments(
      grpc::CallbackServerContext* context,
      const v1::GetCustomerSegmentsRequest* request,
      v1::GetCustomerSegmentsResponse* response) override;
  grpc::ServerUnaryReactor* GetSegmentSizes(
      grpc::CallbackServerContext* context,
      const v1::GetSegmentSizesRequest* request,
      v1::GetSegmentSizesResponse* response) override;

 private:
  template <typename Response>
  grpc::ServerUnaryReactor* Answer(
      grpc::CallbackServerContext* context, Response* response,
      absl::AnyInvocable<absl::StatusOr<Response>() &&> work);

  SegmentEngine* engine_;
  timeline::TimelineStore* store_;
  const timeline::EventValidator* validator_;
  // Last: joined first.
  timeline::WorkerPool workers_;
};

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_SEGMENT_SERVICE_H_

#include "services/segments/segment_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_util/status_conversion.h"
#include "common/redis/call_scope.h"
#include "services/timeline/grpc_call_scope.h"

namespace omnihub::segments {
namespace {

using grpc_util::ToGrpcStatus;

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

SegmentService::SegmentService(SegmentEngine* engine,
                               timeline::TimelineStore* store,
                               const timeline::EventValidator* validator,
                               int threads)
    : engine_(engine),
      store_(store),
      validator_(validator),
      workers_(std::max(threads, 1), 1000) {}

template <typename Response>
grpc::ServerUnaryReactor* SegmentService::Answer(
    grpc::CallbackServerContext* context, Response* response,
    absl::AnyInvocable<absl::StatusOr<Response>() &&> work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto shared = std::make_shared<decltype(work)>(std::move(work));
  absl::Status queued = workers_.Schedule(
      timeline::WorkKind::kRead,
      {.run =
           [reactor, response, shared] {
             absl::StatusOr<Response> answer = std::move(*shared)();
             if (!answer.ok()) {
               return reactor->Finish(ToGrpcStatus(answer.status()));
             }
             *response = *std::move(answer);
             reactor->Finish(grpc::Status::OK);
           },
       .drop = [reactor](
                   absl::Status why) { reactor->Finish(ToGrpcStatus(why)); }});
  if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
  return reactor;
}

grpc::ServerUnaryReactor* SegmentService::CreateSegment(
    grpc::CallbackServerContext* context,
    const v1::CreateSegmentRequest* request, v1::Segment* response) {
  return Answer<v1::Segment>(context, response, [this, request] {
    return engine_->Create(request->segment());
  });
}

grpc::ServerUnaryReactor* SegmentService::UpdateSegment(
    grpc::CallbackServerContext* context,
    const v1::UpdateSegmentRequest* request, v1::Segment* response) {
  if (request->expected_version() < 0) {
    return Finished(context, absl::InvalidArgumentError(
                                 "expected_version: must not be negative"));
  }
  return Answer<v1::Segment>(context, response, [this, request] {
    return engine_->Update(request->segment(), request->expected_version());
  });
}

grpc::ServerUnaryReactor* SegmentService::DeleteSegment(
    grpc::CallbackServerContext* context,
    const v1::DeleteSegmentRequest* request,
    v1::DeleteSegmentResponse* response) {
  return Answer<v1::DeleteSegmentResponse>(
      context, response,
      [this, request]() -> absl::StatusOr<v1::DeleteSegmentResponse> {
        if (absl::Status status = engine_->Delete(request->name());
            !status.ok()) {
          return status;
        }
        return v1::DeleteSegmentResponse();
      });
}

grpc::ServerUnaryReactor* SegmentService::GetSegment(
    grpc::CallbackServerContext* context, const v1::GetSegmentRequest* request,
    v1::Segment* response) {
  return Answer<v1::Segment>(context, response, [this, request] {
    return engine_->Get(request->name());
  });
}

grpc::ServerUnaryReactor* SegmentService::ListSegments(
    grpc::CallbackServerContext* context,
    const v1::ListSegmentsRequest* request,
    v1::ListSegmentsResponse* response) {
  (void)request;
  return Answer<v1::ListSegmentsResponse>(
      context, response, [this]() -> absl::StatusOr<v1::ListSegmentsResponse> {
        absl::StatusOr<std::vector<v1::Segment>> segments = engine_->List();
        if (!segments.ok()) return segments.status();
        v1::ListSegmentsResponse answer;
        for (v1::Segment& segment : *segments) {
          *answer.add_segments() = std::move(segment);
        }
        return answer;
      });
}

grpc::ServerUnaryReactor* SegmentService::ListSegmentMembers(
    grpc::CallbackServerContext* context,
    const v1::ListSegmentMembersRequest* request,
    v1::ListSegmentMembersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // No thread waits on it; the first round trip carries the call's deadline.
  redis::ScopedCall call(timeline::DeadlineOf(context));
  engine_->Members(request->name(), request->page_size(), request->page_token(),
                   [reactor, response](absl::StatusOr<MembersPage> page) {
                     if (!page.ok())
                       return reactor->Finish(ToGrpcStatus(page.status()));
                     for (std::string& id : page->customer_ids) {
                       response->add_customer_ids(std::move(id));
                     }
                     response->set_next_page_token(page->next_page_token);
                     response->set_version(page->version);
                     response->set_complete(page->complete);
                     reactor->Finish(grpc::Status::OK);
                   });
  return reactor;
}

grpc::ServerUnaryReactor* SegmentService::GetCustomerSegments(
    grpc::CallbackServerContext* context,
    const v1::GetCustomerSegmentsRequest* request,
    v1::GetCustomerSegmentsResponse* response) {
  absl::StatusOr<v1::CustomerSelector> selector =
      validator_->NormalizeCustomerSelector(request->customer(), "customer");
  if (!selector.ok()) return Finished(context, selector.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The customer (its merges followed), then its segments on the threads.
  store_->Resolve(
      *std::move(selector),
      [this, reactor,
       response](absl::StatusOr<timeline::ResolvedCustomer> customer) {
        if (!customer.ok()) {
          return reactor->Finish(ToGrpcStatus(customer.status()));
        }
        absl::Status queued = workers_.Schedule(
            timeline::WorkKind::kRead,
            {.run =
                 [this, reactor, response, id = customer->customer_id] {
                   absl::StatusOr<v1::GetCustomerSegmentsResponse> answer =
                       engine_->CustomerSegments(id);
                   if (!answer.ok()) {
                     return reactor->Finish(ToGrpcStatus(answer.status()));
                   }
                   *response = *std::move(answer);
                   reactor->Finish(grpc::Status::OK);
                 },
             .drop =
                 [reactor](absl::Status why) {
                   reactor->Finish(ToGrpcStatus(why));
                 }});
        if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
      });
  return reactor;
}

grpc::ServerUnaryReactor* SegmentService::GetSegmentSizes(
    grpc::CallbackServerContext* context,
    const v1::GetSegmentSizesRequest* request,
    v1::GetSegmentSizesResponse* response) {
  return Answer<v1::GetSegmentSizesResponse>(
      context, response, [this, request] {
        return engine_->Sizes(request->name(), request->days());
      });
}

}  // namespace omnihub::segments

#include "services/timeline/timeline_service.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_util/status_conversion.h"
#include "services/timeline/grpc_call_scope.h"
#include "services/timeline/page_token.h"
#include "services/timeline/stored_event.h"

namespace omnihub::timeline {
namespace {

using grpc_util::ToGrpcStatus;

// Answers one IngestResponse per IngestRequest, in order: reads a batch,
// ingests it, writes the acknowledgement, then reads the next. A storage
// failure ends the stream with its status; the sender reconnects and resends
// what was not acknowledged.
class IngestStreamReactor
    : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse> {
 public:
  // `may_verify` is decided once, for the stream's caller.
  IngestStreamReactor(BatchIngester* ingester, bool may_verify)
      : ingester_(ingester), may_verify_(may_verify) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client closed its side
    ingester_->Ingest(std::move(request_), may_verify_,
                      [this](absl::StatusOr<v1::IngestResponse> response) {
                        if (!response.ok()) {
                          return Finish(ToGrpcStatus(response.status()));
                        }
                        response_ = *std::move(response);
                        StartWrite(&response_);
                      });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      return Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                 "the acknowledgement could not be sent"));
    }
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  BatchIngester* ingester_;
  const bool may_verify_;
  v1::IngestRequest request_;
  v1::IngestResponse response_;
};

std::vector<int> EnumsOf(const google::protobuf::RepeatedField<int>& values) {
  return std::vector<int>(values.begin(), values.end());
}

}  // namespace

TimelineService::TimelineService(TimelineStore* store,
                                 const EventValidator* validator,
                                 const identity::IdentityNormalizer* normalizer,
                                 TimelineMetrics* metrics,
                                 ReplicaBarrier* replicas,
                                 CallerMayVerify caller_may_verify)
    : store_(store),
      validator_(validator),
      normalizer_(normalizer),
      caller_may_verify_(std::move(caller_may_verify)),
      ingester_(
          store, validator, metrics, [] { return absl::Now(); }, replicas) {}

grpc::ServerUnaryReactor* TimelineService::Ingest(
    grpc::CallbackServerContext* context, const v1::IngestRequest* request,
    v1::IngestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Its first Redis commands are not sent once the caller has given up.
  redis::ScopedCall call(DeadlineOf(context));
  ingester_.Ingest(
      *request, MayVerify(*context),
      [reactor, response](absl::StatusOr<v1::IngestResponse> result) {
        if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
        *response = *std::move(result);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>*
TimelineService::IngestStream(grpc::CallbackServerContext* context) {
  return new IngestStreamReactor(&ingester_, MayVerify(*context));
}

bool TimelineService::MayVerify(
    const grpc::CallbackServerContext& context) const {
  return caller_may_verify_ == nullptr || caller_may_verify_(context);
}

absl::StatusOr<v1::CustomerSelector> TimelineService::NormalizedSelector(
    const v1::CustomerSelector& selector) const {
  v1::CustomerSelector normalized = selector;
  if (selector.has_identity()) {
    absl::StatusOr<std::string> value = normalizer_->Normalize(
        selector.identity().kind(), selector.identity().value());
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer.identity.value: ", value.status().message()));
    }
    normalized.mutable_identity()->set_value(*std::move(value));
  }
  return normalized;
}

grpc::ServerUnaryReactor* TimelineService::GetTimeline(
    grpc::CallbackServerContext* context, const v1::GetTimelineRequest* request,
    v1::GetTimelineResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = validator_->ValidateTimelineRequest(*request);
      !status.ok()) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  absl::StatusOr<v1::CustomerSelector> selector =
      NormalizedSelector(request->customer());
  if (!selector.ok()) {
    reactor->Finish(ToGrpcStatus(selector.status()));
    return reactor;
  }
  const uint64_t fingerprint = TimelineFilterFingerprint(*request);
  redis::ScopedCall call(DeadlineOf(context));
  TimelineQuery query;
  query.channels = EnumsOf(request->channels());
  query.kinds = EnumsOf(request->kinds());
  if (request->has_start_time()) {
    query.start_micros = ToMicros(request->start_time());
  }
  if (request->has_end_time()) query.end_micros = ToMicros(request->end_time());
  query.page_size = request->page_size() > 0
                        ? request->page_size()
                        : validator_->limits().default_page_size;
  if (!request->page_token().empty()) {
    absl::StatusOr<TimelineCursor> cursor =
        DecodePageToken(request->page_token(), fingerprint);
    if (!cursor.ok()) {
      reactor->Finish(ToGrpcStatus(cursor.status()));
      return reactor;
    }
    query.cursor = *std::move(cursor);
  }
  store_->FindCustomer(*selector, [this, reactor, response, fingerprint,
                                   query = std::move(query)](
                                      absl::StatusOr<std::string> customer) {
    if (!customer.ok()) return reactor->Finish(ToGrpcStatus(customer.status()));
    store_->ReadTimeline(
        *customer, std::move(query),
        [reactor, response, fingerprint](absl::StatusOr<TimelinePage> page) {
          if (!page.ok()) return reactor->Finish(ToGrpcStatus(page.status()));
          response->set_customer_id(page->customer_id);
          response->set_merged_from(page->merged_from);
          for (v1::InteractionEvent& event : page->events) {
            *response->add_events() = std::move(event);
          }
          if (page->next.has_value()) {
            response->set_next_page_token(
                EncodePageToken(*page->next, fingerprint));
          }
          reactor->Finish(grpc::Status::OK);
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* TimelineService::GetCustomer(
    grpc::CallbackServerContext* context, const v1::GetCustomerRequest* request,
    v1::GetCustomerResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status =
      validator_->ValidateCustomerSelector(request->customer(), "customer");
  absl::StatusOr<v1::CustomerSelector> selector =
      status.ok() ? NormalizedSelector(request->customer())
                  : absl::StatusOr<v1::CustomerSelector>(status);
  if (!selector.ok()) {
    reactor->Finish(ToGrpcStatus(selector.status()));
    return reactor;
  }
  redis::ScopedCall call(DeadlineOf(context));
  store_->FindCustomer(*selector, [this, reactor, response](
                                      absl::StatusOr<std::string> customer) {
    if (!customer.ok()) return reactor->Finish(ToGrpcStatus(customer.status()));
    store_->ReadCustomer(
        *customer, [reactor, response](absl::StatusOr<CustomerRead> read) {
          if (!read.ok()) return reactor->Finish(ToGrpcStatus(read.status()));
          *response->mutable_customer() = std::move(read->view);
          response->set_merged_from(std::move(read->merged_from));
          reactor->Finish(grpc::Status::OK);
        });
  });
  return reactor;
}

}  // namespace omnihub::timeline

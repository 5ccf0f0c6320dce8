#include "services/timeline/batch_ingester.h"

#include <atomic>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/time_util.h"

namespace omnihub::timeline {
namespace {

// What the events of one batch share while they are being stored.
struct PendingBatch : std::enable_shared_from_this<PendingBatch> {
  v1::IngestResponse response;
  Done<v1::IngestResponse> done;
  ReplicaBarrier* replicas = nullptr;  // set when events went to the store
  std::atomic<int> pending{0};
  absl::Mutex mutex;
  absl::Status first_error ABSL_GUARDED_BY(mutex);

  void Finish() {
    absl::Status error;
    {
      absl::MutexLock lock(&mutex);
      error = first_error;
    }
    if (error.ok() && replicas != nullptr) {
      // Even an all-DUPLICATE batch waits: its events may be the resend of
      // a batch whose writes were not yet replicated.
      ReplicaBarrier* barrier = std::exchange(replicas, nullptr);
      barrier->Wait([self = shared_from_this()](absl::Status replicated) {
        if (!replicated.ok()) {
          return std::move(self->done)(std::move(replicated));
        }
        std::move(self->done)(std::move(self->response));
      });
      return;
    }
    if (error.ok()) {
      std::move(done)(std::move(response));
      return;
    }
    // A full Redis queue is a moment of overload, not a refusal: senders
    // (the adapters) retry UNAVAILABLE with backoff, and keep RESOURCE_
    // EXHAUSTED for what gRPC answers a request too large to ever pass.
    if (absl::IsResourceExhausted(error)) {
      error = absl::UnavailableError(absl::StrCat(
          "the hub is overloaded, send again later: ", error.message()));
    }
    std::move(done)(std::move(error));
  }
};

v1::IngestResult::Status StatusOf(IngestOutcome::Result result) {
  switch (result) {
    case IngestOutcome::Result::kAccepted:
      return v1::IngestResult::STATUS_ACCEPTED;
    case IngestOutcome::Result::kUpdated:
      return v1::IngestResult::STATUS_UPDATED;
    case IngestOutcome::Result::kDuplicate:
      return v1::IngestResult::STATUS_DUPLICATE;
    case IngestOutcome::Result::kForgotten:
      return v1::IngestResult::STATUS_FORGOTTEN;
    case IngestOutcome::Result::kSuppressed:
      return v1::IngestResult::STATUS_SUPPRESSED;
  }
  return v1::IngestResult::STATUS_UNSPECIFIED;
}

EventResult MetricOf(IngestOutcome::Result result) {
  switch (result) {
    case IngestOutcome::Result::kAccepted:
      return EventResult::kAccepted;
    case IngestOutcome::Result::kUpdated:
      return EventResult::kUpdated;
    case IngestOutcome::Result::kDuplicate:
      return EventResult::kDuplicate;
    case IngestOutcome::Result::kForgotten:
      return EventResult::kForgotten;
    case IngestOutcome::Result::kSuppressed:
      return EventResult::kSuppressed;
  }
  return EventResult::kRejected;
}

}  // namespace

BatchIngester::BatchIngester(TimelineStore* store,
                             const EventValidator* validator,
                             TimelineMetrics* metrics,
                             std::function<absl::Time()> clock,
                             ReplicaBarrier* replicas)
    : store_(store),
      validator_(validator),
      metrics_(metrics),
      clock_(std::move(clock)),
      replicas_(replicas) {}

void BatchIngester::Ingest(v1::IngestRequest request, bool caller_may_verify,
                           Done<v1::IngestResponse> done) {
  if (!caller_may_verify) {
    // Cleared rather than refused: such a caller's events are still worth
    // keeping, only its word on who they belong to is not.
    for (v1::InteractionEvent& event : *request.mutable_events()) {
      for (v1::Identity& identity : *event.mutable_identities()) {
        identity.set_unverified(true);
      }
    }
  }
  if (absl::Status status = validator_->ValidateIngestRequest(request);
      !status.ok()) {
    return std::move(done)(std::move(status));
  }
  auto batch = std::make_shared<PendingBatch>();
  batch->done = std::move(done);
  batch->response.set_request_id(request.request_id());
  const absl::Time now = clock_();
  const google::protobuf::Timestamp received_at =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(now));

  std::vector<int> valid;
  for (int i = 0; i < request.events_size(); ++i) {
    v1::InteractionEvent& event = *request.mutable_events(i);
    v1::IngestResult& result = *batch->response.add_results();
    result.set_event_id(event.event_id());
    std::optional<FieldViolation> violation =
        validator_->ValidateEvent(event, now, absl::StrCat("events[", i, "]"));
    if (violation.has_value()) {
      result.set_status(v1::IngestResult::STATUS_REJECTED);
      result.set_field(violation->field);
      result.set_reason(violation->reason);
      metrics_->CountEvent(event.channel(), EventResult::kRejected);
      continue;
    }
    *event.mutable_received_at() = received_at;
    valid.push_back(i);
  }
  if (valid.empty()) return batch->Finish();

  batch->replicas = replicas_;
  batch->pending.store(static_cast<int>(valid.size()));
  for (int i : valid) {
    const v1::Channel channel = request.events(i).channel();
    store_->Ingest(
        std::move(*request.mutable_events(i)),
        [this, batch, i, channel](absl::StatusOr<IngestOutcome> outcome) {
          v1::IngestResult& result = *batch->response.mutable_results(i);
          if (outcome.ok()) {
            result.set_status(StatusOf(outcome->result));
            result.set_customer_id(outcome->customer_id);
            if (outcome->result == IngestOutcome::Result::kSuppressed) {
              result.set_field(
                  absl::StrCat("events[", i, "].", outcome->suppressed_field));
              result.set_reason(absl::StrCat(
                  "suppressed until ",
                  absl::FormatTime(absl::RFC3339_sec, outcome->suppressed_until,
                                   absl::UTCTimeZone()),
                  ": its person was erased and asked not to be recorded "
                  "again; nothing was stored"));
            }
            for (std::string& merged : outcome->merged_customer_ids) {
              result.add_merged_customer_ids(std::move(merged));
            }
            metrics_->CountEvent(channel, MetricOf(outcome->result));
            metrics_->identity_conflicts().Increment(
                outcome->conflicting_identities);
            metrics_->events_trimmed().Increment(outcome->trimmed_events);
            if (outcome->created_customer) {
              metrics_->customers_created().Increment();
            }
          } else if (absl::IsInvalidArgument(outcome.status())) {
            // Something refused about this event alone, as "field: reason"
            // (only blocked identities; a total that would overflow): the
            // others go on.
            std::pair<absl::string_view, absl::string_view> refusal =
                absl::StrSplit(outcome.status().message(),
                               absl::MaxSplits(": ", 1));
            result.set_status(v1::IngestResult::STATUS_REJECTED);
            if (refusal.second.empty()) {
              result.set_field(absl::StrCat("events[", i, "]"));
              result.set_reason(std::string(refusal.first));
            } else {
              result.set_field(absl::StrCat("events[", i, "].", refusal.first));
              result.set_reason(std::string(refusal.second));
            }
            metrics_->CountEvent(channel, EventResult::kRejected);
          } else {
            absl::MutexLock lock(&batch->mutex);
            if (batch->first_error.ok()) batch->first_error = outcome.status();
          }
          if (batch->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            batch->Finish();
          }
        });
  }
}

}  // namespace omnihub::timeline

#include "common/publisher/event_publisher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace omnihub::publisher {

PublisherMetrics::PublisherMetrics(prometheus::Registry& registry) {
  spool_records = &prometheus::BuildGauge()
                       .Name("omnihub_spool_records")
                       .Help(
                           "Records in the spool not yet acknowledged by "
                           "the hub.")
                       .Register(registry)
                       .Add({});
  spool_bytes = &prometheus::BuildGauge()
                     .Name("omnihub_spool_bytes")
                     .Help("Bytes of the records not yet acknowledged.")
                     .Register(registry)
                     .Add({});
  oldest_record_age_seconds =
      &prometheus::BuildGauge()
           .Name("omnihub_spool_oldest_record_age_seconds")
           .Help(
               "Age of the oldest record not yet acknowledged; 0 when the "
               "spool is empty.")
           .Register(registry)
           .Add({});
  publish_seconds = &prometheus::BuildHistogram()
                         .Name("omnihub_publish_duration_seconds")
                         .Help("Time of one delivery call to the hub.")
                         .Register(registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1, 0.25, 0.5, 1, 2.5, 10});
  retries = &prometheus::BuildCounter()
                 .Name("omnihub_publish_retries_total")
                 .Help("Delivery calls that failed and will be retried.")
                 .Register(registry)
                 .Add({});
  dead_letters = &prometheus::BuildCounter()
                      .Name("omnihub_publish_dead_letters_total")
                      .Help(
                          "Events the hub rejected as invalid, written to "
                          "the dead-letter file.")
                      .Register(registry)
                      .Add({});
  delivered = &prometheus::BuildCounter()
                   .Name("omnihub_publish_delivered_events_total")
                   .Help(
                       "Events the hub acknowledged (accepted, updated or "
                       "duplicate).")
                   .Register(registry)
                   .Add({});
}

absl::StatusOr<std::unique_ptr<EventPublisher>> EventPublisher::Start(
    spool::EventSpool* spool, EventPublisherOptions options,
    prometheus::Registry& registry) {
  if (options.dead_letter_path.empty()) {
    return absl::InvalidArgumentError("the publisher needs a dead-letter file");
  }
  std::unique_ptr<EventPublisher> publisher(
      new EventPublisher(spool, std::move(options), registry));
  publisher->thread_ = std::thread([raw = publisher.get()] { raw->Run(); });
  return publisher;
}

EventPublisher::EventPublisher(spool::EventSpool* spool,
                               EventPublisherOptions options,
                               prometheus::Registry& registry)
    : spool_(spool), options_(std::move(options)), metrics_(registry) {
  stub_ = v1::TimelineService::NewStub(grpc::CreateChannel(
      options_.hub_address, grpc::InsecureChannelCredentials()));
}

EventPublisher::~EventPublisher() { Stop(absl::ZeroDuration()); }

void EventPublisher::Stop(absl::Duration flush_for) {
  if (!thread_.joinable()) return;
  flush_deadline_ = absl::Now() + flush_for;
  stopping_.store(true);
  if (!wake_.HasBeenNotified()) wake_.Notify();
  spool_->Interrupt();
  thread_.join();
  UpdateSpoolGauges();
}

void EventPublisher::UpdateSpoolGauges() {
  const spool::SpoolStats stats = spool_->Stats();
  metrics_.spool_records->Set(static_cast<double>(stats.records));
  metrics_.spool_bytes->Set(static_cast<double>(stats.bytes));
  metrics_.oldest_record_age_seconds->Set(
      stats.oldest_appended_at
          ? absl::ToDoubleSeconds(absl::Now() - *stats.oldest_appended_at)
          : 0.0);
}

void EventPublisher::Run() {
  absl::BitGen jitter;
  absl::Duration backoff = options_.backoff_min;
  while (true) {
    UpdateSpoolGauges();
    if (stopping_.load() &&
        (absl::Now() >= flush_deadline_ || spool_->Stats().records == 0)) {
      return;
    }
    if (DeliverOnce()) {
      backoff = options_.backoff_min;
      continue;
    }
    spool_->Rewind();
    metrics_.retries->Increment();
    // Full jitter: adapters that lost the hub together don't return together.
    const absl::Duration wait = backoff * absl::Uniform(jitter, 0.5, 1.0);
    backoff = std::min(backoff * 2, options_.backoff_max);
    if (stopping_.load()) {
      if (absl::Now() + wait >= flush_deadline_) return;
      absl::SleepFor(wait);
    } else {
      wake_.WaitForNotificationWithTimeout(wait);
    }
  }
}

bool EventPublisher::DeliverOnce() {
  absl::StatusOr<std::vector<spool::SpooledRecord>> batch = spool_->ReadBatch(
      options_.batch_records, options_.batch_bytes, absl::Milliseconds(500));
  if (!batch.ok()) {
    log::Error("spool: %s", batch.status().message());
    return false;
  }
  if (batch->empty()) return true;

  v1::IngestRequest request;
  std::string dead_letters;
  for (const spool::SpooledRecord& record : *batch) {
    if (!request.add_events()->ParseFromString(record.payload)) {
      request.mutable_events()->RemoveLast();
      dead_letters += absl::StrCat(
          nlohmann::json{{"sequence", record.sequence},
                         {"reason", "the spooled record does not parse"}}
              .dump(),
          "\n");
    }
  }
  request.set_request_id(
      absl::StrCat(batch->front().sequence, "-", batch->back().sequence));
  v1::IngestResponse response;
  if (request.events_size() > 0) {
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.call_deadline));
    const absl::Time start = absl::Now();
    grpc::Status status = stub_->Ingest(&context, request, &response);
    metrics_.publish_seconds->Observe(
        absl::ToDoubleSeconds(absl::Now() - start));
    if (!status.ok() || response.results_size() != request.events_size()) {
      if (hub_reachable_.exchange(false) || !status.ok()) {
        log::Warning("hub at %s: %s; %u events wait in the spool, retrying",
                     options_.hub_address,
                     status.ok() ? "answered for the wrong number of events"
                                 : status.error_message(),
                     spool_->Stats().records);
      }
      return false;
    }
    if (!hub_reachable_.exchange(true)) {
      log::Info("hub at %s reachable: delivering", options_.hub_address);
    }
  }
  for (int i = 0; i < response.results_size(); ++i) {
    const v1::IngestResult& result = response.results(i);
    if (result.status() != v1::IngestResult::STATUS_REJECTED) {
      metrics_.delivered->Increment();
      continue;
    }
    std::string event_json;
    (void)google::protobuf::util::MessageToJsonString(request.events(i),
                                                      &event_json);
    dead_letters += absl::StrCat(
        nlohmann::json{
            {"time", absl::FormatTime(absl::Now())},
            {"field", result.field()},
            {"reason", result.reason()},
            {"event", nlohmann::json::parse(event_json, nullptr, false)}}
            .dump(),
        "\n");
  }
  if (!dead_letters.empty()) {
    // Written and synced before the spool lets go of them.
    if (absl::Status status = WriteDeadLetters(dead_letters); !status.ok()) {
      log::Error("%s", status.message());
      return false;
    }
  }
  if (absl::Status status = spool_->Acknowledge(batch->back().sequence);
      !status.ok()) {
    log::Error("spool: %s", status.message());
    return false;
  }
  return true;
}

absl::Status EventPublisher::WriteDeadLetters(const std::string& lines) {
  const int fd = open(options_.dead_letter_path.c_str(),
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open dead-letter file ",
                                               options_.dead_letter_path, ": ",
                                               std::strerror(errno)));
  }
  const bool ok = write(fd, lines.data(), lines.size()) ==
                      static_cast<ssize_t>(lines.size()) &&
                  fdatasync(fd) == 0;
  close(fd);
  if (!ok) {
    return absl::UnavailableError(absl::StrCat("cannot write dead-letter file ",
                                               options_.dead_letter_path));
  }
  int count = 0;
  for (char c : lines) count += c == '\n';
  metrics_.dead_letters->Increment(count);
  log::Warning("%d events rejected by the hub went to %s", count,
               options_.dead_letter_path);
  return absl::OkStatus();
}

}  // namespace omnihub::publisher

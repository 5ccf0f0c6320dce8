#include "common/publisher/event_publisher.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_util/status_conversion.h"
#include "common/logging/log.h"
#include "common/publisher/dead_letters.h"
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
  dead_letters_discarded =
      &prometheus::BuildCounter()
           .Name("omnihub_publish_dead_letters_discarded_total")
           .Help(
               "Dead letters deleted with the oldest rotated dead-letter file, "
               "the files being over --dead_letter_max_bytes.")
           .Register(registry)
           .Add({});
  spool_quarantined_records =
      &prometheus::BuildCounter()
           .Name("omnihub_spool_quarantined_records_total")
           .Help(
               "Damaged records the spool found on start and moved to its "
               "quarantine directory instead of delivering them.")
           .Register(registry)
           .Add({});
  spool_quarantined_bytes =
      &prometheus::BuildCounter()
           .Name("omnihub_spool_quarantined_bytes_total")
           .Help("Bytes the spool moved to its quarantine directory.")
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
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                   static_cast<int>(absl::ToInt64Milliseconds(
                       options_.reconnect_backoff_max)));
  std::shared_ptr<grpc::Channel> channel = auth::CreateHubChannel(
      options_.hub_address, options_.security, arguments);
  stub_ = v1::TimelineService::NewStub(channel);
  health_stub_ = grpc::health::v1::Health::NewStub(channel);
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
  metrics_.spool_quarantined_records->Increment(static_cast<double>(
      stats.quarantined_records - reported_quarantined_records_));
  metrics_.spool_quarantined_bytes->Increment(static_cast<double>(
      stats.quarantined_bytes - reported_quarantined_bytes_));
  reported_quarantined_records_ = stats.quarantined_records;
  reported_quarantined_bytes_ = stats.quarantined_bytes;
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
    const Delivery delivery = DeliverOnce();
    if (delivery == Delivery::kIdle && !stopping_.load() &&
        absl::Now() - last_contact_ >= options_.health_probe_interval) {
      ProbeHub();
    }
    if (delivery != Delivery::kFailed) {
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

void EventPublisher::SetReachable(bool reachable, absl::string_view why) {
  last_contact_ = absl::Now();
  if (hub_reachable_.exchange(reachable) == reachable) return;
  if (reachable) {
    log::Info("hub at %s reachable: %s", options_.hub_address, why);
  } else {
    log::Warning("hub at %s not usable: %s", options_.hub_address, why);
  }
}

void EventPublisher::ProbeHub() {
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.health_probe_deadline));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health_stub_->Check(&context, request, &response);
  if (!status.ok()) {
    SetReachable(false, absl::StrCat("health check: ", status.error_message()));
  } else if (response.status() !=
             grpc::health::v1::HealthCheckResponse::SERVING) {
    SetReachable(
        false,
        absl::StrCat("health check: ",
                     grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                         response.status())));
  } else {
    SetReachable(true, "health check: SERVING");
  }
}

EventPublisher::Delivery EventPublisher::DeliverOnce() {
  absl::StatusOr<std::vector<spool::SpooledRecord>> batch = spool_->ReadBatch(
      options_.batch_records, options_.batch_bytes, absl::Milliseconds(500));
  if (!batch.ok()) {
    log::Error("spool: %s", batch.status().message());
    return Delivery::kFailed;
  }
  if (batch->empty()) return Delivery::kIdle;

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
  std::vector<Outcome> outcomes(request.events_size());
  if (request.events_size() > 0) {
    if (absl::Status status = Send(request, outcomes.data()); !status.ok()) {
      SetReachable(false, status.message());
      log::Warning("hub at %s: %s; %u events wait in the spool, retrying",
                   options_.hub_address, status.message(),
                   spool_->Stats().records);
      return Delivery::kFailed;
    }
    SetReachable(true, "delivering");
  }
  for (int i = 0; i < request.events_size(); ++i) {
    if (!outcomes[i].rejected) {
      metrics_.delivered->Increment();
      continue;
    }
    std::string event_json;
    (void)google::protobuf::util::MessageToJsonString(request.events(i),
                                                      &event_json);
    dead_letters += absl::StrCat(
        nlohmann::json{
            {"time", absl::FormatTime(absl::Now())},
            {"field", outcomes[i].field},
            {"reason", outcomes[i].reason},
            {"event", nlohmann::json::parse(event_json, nullptr, false)}}
            .dump(),
        "\n");
  }
  if (!dead_letters.empty()) {
    // Written and synced before the spool lets go of them.
    if (absl::Status status = WriteDeadLetters(dead_letters); !status.ok()) {
      log::Error("%s", status.message());
      return Delivery::kFailed;
    }
  }
  // The spool lets go of the records even when its cursor cannot be written
  // (a full disk): they were delivered, so this is no reason to back off,
  // and delivering on is what gives a full disk its space back.
  const absl::Status acknowledged = spool_->Acknowledge(batch->back().sequence);
  if (!acknowledged.ok() && !std::exchange(cursor_failing_, true)) {
    log::Error(
        "spool: %s; delivered records may be delivered again after a crash "
        "(the hub keeps them once)",
        acknowledged.message());
  } else if (acknowledged.ok() && std::exchange(cursor_failing_, false)) {
    log::Info("spool: the cursor is written again");
  }
  return Delivery::kDelivered;
}

absl::Status EventPublisher::Send(const v1::IngestRequest& request,
                                  Outcome* outcomes) {
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.call_deadline));
  v1::IngestResponse response;
  const absl::Time start = absl::Now();
  const grpc::Status status = stub_->Ingest(&context, request, &response);
  metrics_.publish_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  const int count = request.events_size();
  if (status.ok()) {
    if (response.results_size() != count) {
      return absl::UnavailableError(absl::StrCat("the hub answered for ",
                                                 response.results_size(),
                                                 " events of ", count));
    }
    for (int i = 0; i < count; ++i) {
      const v1::IngestResult& result = response.results(i);
      if (result.status() == v1::IngestResult::STATUS_REJECTED) {
        outcomes[i] = {true, result.field(), result.reason()};
      }
    }
    return absl::OkStatus();
  }
  // Too many events or bytes for this hub's limits: retrying the same
  // request would be refused forever. gRPC answers RESOURCE_EXHAUSTED both
  // for a message over the size limit and for a spent memory quota (a
  // moment's overload, retried like UNAVAILABLE): only the first says
  // "larger than max".
  const absl::Status refusal = grpc_util::FromGrpcStatus(status);
  const bool too_large =
      absl::IsInvalidArgument(refusal) ||
      (absl::IsResourceExhausted(refusal) &&
       absl::StrContains(refusal.message(), "larger than max"));
  if (!too_large) return refusal;
  if (count == 1) {
    outcomes[0] = {true, "",
                   absl::StrCat("the hub refused the event on its own: ",
                                refusal.ToString())};
    return absl::OkStatus();
  }
  const int half = count / 2;
  log::Warning(
      "the hub refused %d events in one request (%s); sending them as %d and "
      "%d (is --publish_batch above the hub's --max_batch_events?)",
      count, refusal.ToString(), half, count - half);
  for (const auto& [begin, end] :
       {std::pair{0, half}, std::pair{half, count}}) {
    v1::IngestRequest part;
    part.set_request_id(absl::StrCat(request.request_id(), "/", begin));
    for (int i = begin; i < end; ++i) *part.add_events() = request.events(i);
    if (absl::Status sent = Send(part, outcomes + begin); !sent.ok()) {
      return sent;
    }
  }
  return absl::OkStatus();
}

absl::Status EventPublisher::WriteDeadLetters(const std::string& lines) {
  absl::StatusOr<int64_t> discarded = AppendDeadLetters(
      options_.dead_letter_path, lines, options_.dead_letter_max_bytes);
  if (!discarded.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot write dead letters: ",
                                               discarded.status().message()));
  }
  if (*discarded > 0) {
    metrics_.dead_letters_discarded->Increment(static_cast<double>(*discarded));
    log::Error(
        "%d dead letters were deleted with %s.%d: the dead-letter files are "
        "over their cap of %u bytes; replay them (omnihub-cli "
        "replay-dead-letters) or raise the cap",
        *discarded, options_.dead_letter_path, kRotatedDeadLetterFiles,
        options_.dead_letter_max_bytes);
  }
  int count = 0;
  for (char c : lines) count += c == '\n';
  metrics_.dead_letters->Increment(count);
  log::Warning("%d events rejected by the hub went to %s", count,
               options_.dead_letter_path);
  return absl::OkStatus();
}

}  // namespace omnihub::publisher

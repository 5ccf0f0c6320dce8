// Delivers spooled events to the timeline service in the background, in
// order, and removes them from the spool only once the hub has answered for
// them. Events the hub rejects as invalid go to a dead-letter file (one JSON
// line each, with the reason) so they never block the queue. The dead-letter
// files hold whole events, personal data: together they stay under
// `dead_letter_max_bytes` (the file is rotated to .1, .2, .3 at a quarter of
// it, and what falls off the end is counted and logged as an error), and
// `omnihub-cli replay-dead-letters` sends them to the hub again after a fix.
// Writers and that command agree through flock on `<dead_letter_path>.lock`. A
// request the hub refuses as a whole (INVALID_ARGUMENT or RESOURCE_EXHAUSTED:
// too many events, too many bytes) is sent again in halves, down to single
// events; a single event still refused is a dead letter too. Anything else that
// goes wrong is retried with exponential backoff and jitter, forever.
//
// While there is nothing to deliver, the hub's grpc.health.v1.Health is
// probed every `health_probe_interval`, so hub_reachable() (the adapters'
// /readyz) follows the hub whether or not events are flowing.
//
//   auto publisher = EventPublisher::Start(spool.get(),
//                                          {.hub_address = "127.0.0.1:50051",
//                                           .dead_letter_path = "dead.jsonl"},
//                                          *registry);
//   ...
//   (*publisher)->Stop(absl::Seconds(5));  // tries to flush first
#ifndef OMNIHUB_COMMON_PUBLISHER_EVENT_PUBLISHER_H_
#define OMNIHUB_COMMON_PUBLISHER_EVENT_PUBLISHER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/auth/client_channel.h"
#include "common/spool/event_spool.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace omnihub::publisher {

struct EventPublisherOptions {
  std::string hub_address = "127.0.0.1:50051";
  // TLS and the bearer token for a secured hub (README "Security").
  auth::ClientSecurity security = {};
  size_t batch_records = 500;
  size_t batch_bytes = 4 << 20;
  absl::Duration call_deadline = absl::Seconds(10);
  absl::Duration backoff_min = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(30);
  // Health probes of the hub while the spool is empty.
  absl::Duration health_probe_interval = absl::Seconds(1);
  absl::Duration health_probe_deadline = absl::Milliseconds(500);
  // Longest wait between the channel's attempts to reconnect to a lost hub
  // (gRPC's own default grows to 120 s).
  absl::Duration reconnect_backoff_max = absl::Seconds(5);
  std::string dead_letter_path;  // required
  // All dead-letter files together (the current one and three rotated).
  uint64_t dead_letter_max_bytes = 256ull << 20;
};

// The publisher's and its spool's metrics, built once.
struct PublisherMetrics {
  explicit PublisherMetrics(prometheus::Registry& registry);

  prometheus::Gauge* spool_records;
  prometheus::Gauge* spool_bytes;
  prometheus::Gauge* oldest_record_age_seconds;
  prometheus::Histogram* publish_seconds;
  prometheus::Counter* retries;
  prometheus::Counter* dead_letters;
  // Dead letters deleted with the oldest rotated file, over the cap.
  prometheus::Counter* dead_letters_discarded;
  prometheus::Counter* delivered;  // accepted, updated or duplicate
  prometheus::Counter* spool_quarantined_records;
  prometheus::Counter* spool_quarantined_bytes;
};

class EventPublisher {
 public:
  static absl::StatusOr<std::unique_ptr<EventPublisher>> Start(
      spool::EventSpool* spool, EventPublisherOptions options,
      prometheus::Registry& registry);
  ~EventPublisher();

  // Keeps delivering for up to `flush_for` while records are waiting, then
  // stops. What is left stays in the spool for the next start.
  void Stop(absl::Duration flush_for);

  // Whether the hub answered the latest contact: the last delivery call or,
  // while there is nothing to deliver, the last health probe (SERVING only).
  bool hub_reachable() const { return hub_reachable_.load(); }

 private:
  // What the hub said about one event of a batch.
  struct Outcome {
    bool rejected = false;
    std::string field;
    std::string reason;
  };
  enum class Delivery { kIdle, kDelivered, kFailed };

  EventPublisher(spool::EventSpool* spool, EventPublisherOptions options,
                 prometheus::Registry& registry);
  void Run();
  // One batch from the spool, delivered and acknowledged (or not).
  Delivery DeliverOnce();
  // Sends `request`, in halves when the hub refuses it as a whole; fills one
  // outcome per event. Not OK when it must be retried later.
  absl::Status Send(const v1::IngestRequest& request, Outcome* outcomes);
  // Asks the hub's health service whether it is SERVING.
  void ProbeHub();
  void SetReachable(bool reachable, absl::string_view why);
  absl::Status WriteDeadLetters(const std::string& lines);
  void UpdateSpoolGauges();

  spool::EventSpool* spool_;
  EventPublisherOptions options_;
  PublisherMetrics metrics_;
  std::unique_ptr<v1::TimelineService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_stub_;
  std::atomic<bool> hub_reachable_{false};
  absl::Time last_contact_ = absl::InfinitePast();  // the publisher's thread
  // What the spool's quarantine counters were when last reported.
  uint64_t reported_quarantined_records_ = 0;  // the publisher's thread
  uint64_t reported_quarantined_bytes_ = 0;
  // The last Acknowledge could not write the spool's cursor (logged once).
  bool cursor_failing_ = false;  // the publisher's thread
  std::atomic<bool> stopping_{false};
  absl::Time flush_deadline_;
  absl::Notification wake_;
  std::thread thread_;
};

}  // namespace omnihub::publisher

#endif  // OMNIHUB_COMMON_PUBLISHER_EVENT_PUBLISHER_H_

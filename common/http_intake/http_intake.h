// The HTTP side every channel adapter shares: routes with per-route metrics,
// JSON errors, body limits, /healthz, /readyz and /metrics, and Accept(),
// which answers success only once the events are durable in the spool.
// With an admin address, /healthz, /readyz and /metrics are served there
// only, so an intake open to the internet does not expose them. With API
// keys set, a route calls Authenticate() first.
// Every request is counted once in omnihub_http_requests_total, whoever
// answered it (a route, the 404 or 413 of the server itself); its route label
// is the name the route was registered with, or "other" for any path that is
// not a route, so the label stays bounded.
//
//   HttpIntake intake(options, spool.get(), &validator, registry, ready);
//   intake.Post("/v1/calls", "calls", [&](const httplib::Request& req,
//                                         httplib::Response& res) {
//     intake.Accept(ParseCalls(req.body), /*ignored=*/0, res);
//   });
//   intake.Start();
#ifndef OMNIHUB_COMMON_HTTP_INTAKE_HTTP_INTAKE_H_
#define OMNIHUB_COMMON_HTTP_INTAKE_HTTP_INTAKE_H_

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/event_validation/event_validator.h"
#include "common/http_intake/api_keys.h"
#include "common/spool/event_spool.h"
#include "httplib.h"
#include "omnihub/v1/event.pb.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace omnihub::http_intake {

// One record of a multi-record upload (e.g. a CSV row) that was refused.
struct RejectedRecord {
  int line = 0;  // 1-based line in the upload; 0 when it has none
  std::string field;
  std::string message;
};

struct HttpIntakeOptions {
  std::string listen = "127.0.0.1:8081";  // host:port; port 0 picks one
  size_t max_body_bytes = 1 << 20;
  int retry_after_seconds = 5;  // told to senders when the spool is full
  // Threads serving connections (each holds a keep-alive connection while
  // it is open), and connections that may wait for one; past that a
  // request is answered 503 with Retry-After at once.
  int threads = 8;
  int max_queued_connections = 256;
  // host:port of /healthz, /readyz and /metrics (port 0 picks one); empty:
  // served on `listen` beside the routes.
  std::string admin_listen;
  // How long one read or write on a connection may wait (a sender that
  // stops half-way through its headers or body is cut off), and how long an
  // idle keep-alive connection keeps its thread.
  absl::Duration read_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(10);
  absl::Duration keep_alive_timeout = absl::Seconds(5);
};

class HttpIntake {
 public:
  using Handler =
      std::function<void(const httplib::Request&, httplib::Response&)>;

  // `ready` says whether /readyz answers 200 (e.g. the hub is reachable).
  HttpIntake(HttpIntakeOptions options, spool::EventSpool* spool,
             const timeline::EventValidator* validator,
             std::shared_ptr<prometheus::Registry> registry,
             std::function<bool()> ready);
  ~HttpIntake();

  // Routes; `route` names them in metrics. `pattern` is an exact path.
  // Register every route before Start().
  void Post(const std::string& pattern, const std::string& route,
            Handler handler);
  void Get(const std::string& pattern, const std::string& route,
           Handler handler);
  void Options(const std::string& pattern, const std::string& route,
               Handler handler);

  // True when the request's media type (parameters such as charset aside,
  // case ignored) is one of `accepted`; otherwise answers 415 naming them.
  bool RequireContentType(const httplib::Request& request,
                          httplib::Response& response,
                          std::initializer_list<absl::string_view> accepted);

  // Validates every event (all or nothing), spools them durably, and answers
  // 202 {"accepted": n, "ignored": k, "event_ids": [...]}; 400 naming the
  // field for an invalid event; 503 with Retry-After when the spool is full.
  void Accept(std::vector<v1::InteractionEvent> events, int ignored,
              httplib::Response& response);

  // For uploads whose good records are kept and bad ones reported (e.g. a CSV
  // export): `rejected` are listed in the 202 body as {"rejected": [{"line",
  // "field", "message"}]}, and the upload's columns that nothing was read
  // from as {"ignored_columns": [...]} (always, [] when none). When no record
  // is good it is a 400 listing both. Each event must already have passed
  // Validate().
  void AcceptSome(std::vector<v1::InteractionEvent> events,
                  const std::vector<RejectedRecord>& rejected,
                  const std::vector<std::string>& ignored_columns,
                  httplib::Response& response);

  // Checks (and normalises) one event as Accept() would; the violation names
  // the field under `field_prefix`.
  std::optional<timeline::FieldViolation> Validate(
      v1::InteractionEvent& event, absl::string_view field_prefix) const;

  // The keys Authenticate() accepts; null (the default): none is needed.
  // May be replaced while serving (a key file re-read).
  void SetApiKeys(std::shared_ptr<const ApiKeySet> keys);
  bool RequiresApiKeys() const;

  // The name of the request's API key, from "Authorization: Bearer <key>",
  // "Authorization: Basic" (the key as the password, for senders that can
  // only put credentials in a URL's user:password@) or "X-Api-Key: <key>";
  // "" when no keys are required. A query string is never looked at: URLs
  // end up in logs. std::nullopt once it has answered 401.
  std::optional<std::string> Authenticate(const httplib::Request& request,
                                          httplib::Response& response);

  // Refuses a sender that could not be verified (401 or 403) with a JSON
  // error, counted in omnihub_http_auth_failures_total by route and reason.
  void RefuseSender(const httplib::Request& request,
                    httplib::Response& response, int status,
                    absl::string_view reason, absl::string_view message);

  // A JSON error body: {"error": {"status": 400, "field": ..., "message":
  // ...}}. `reason` labels omnihub_http_validation_failures_total for 4xx.
  void Error(httplib::Response& response, int status, absl::string_view field,
             absl::string_view message, absl::string_view reason);
  // An INVALID_ARGUMENT status whose message is "field: problem" as a 400.
  void BadRequest(httplib::Response& response, const absl::Status& status,
                  absl::string_view reason);

  // Binds and serves in a background thread.
  absl::Status Start();
  int port() const { return port_; }
  // Where /metrics is served: port() when there is no admin address.
  int admin_port() const { return admin_port_; }
  void Stop();

 private:
  void NameRoute(const std::string& method, const std::string& pattern,
                 const std::string& route);
  // The route label of a request: its route's name, or "other".
  std::string RouteOf(const httplib::Request& request) const;
  void Record(const std::string& route, int status,
              std::optional<absl::Duration> elapsed);
  // Spools valid events and writes the 202 (or 503) answer.
  // `ignored_columns`, when given, are listed in the answer.
  void Spool(std::vector<v1::InteractionEvent> events, int ignored,
             const std::vector<RejectedRecord>& rejected,
             const std::vector<std::string>* ignored_columns,
             httplib::Response& response);

  HttpIntakeOptions options_;
  spool::EventSpool* spool_;
  const timeline::EventValidator* validator_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::function<bool()> ready_;
  // Error handling, metrics and timeouts of either server.
  void Configure(httplib::Server& server, int threads, int max_queued);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> admin_server_;  // with an admin address
  std::thread admin_thread_;
  int admin_port_ = 0;

  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Family<prometheus::Counter>* validation_failures_;
  prometheus::Family<prometheus::Counter>* auth_failures_;
  // "POST /v1/calls" -> "calls"; written only before Start().
  absl::flat_hash_map<std::string, std::string> route_names_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, prometheus::Counter*> counters_
      ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, prometheus::Histogram*> histograms_
      ABSL_GUARDED_BY(mutex_);
  mutable absl::Mutex keys_mutex_;
  std::shared_ptr<const ApiKeySet> api_keys_ ABSL_GUARDED_BY(keys_mutex_);
};

}  // namespace omnihub::http_intake

#endif  // OMNIHUB_COMMON_HTTP_INTAKE_HTTP_INTAKE_H_

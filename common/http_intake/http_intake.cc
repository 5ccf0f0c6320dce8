#include "common/http_intake/http_intake.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/http_intake/bounded_task_queue.h"
#include "common/logging/log.h"
#include "nlohmann/json.hpp"
#include "prometheus/text_serializer.h"

namespace omnihub::http_intake {
namespace {

constexpr char kJson[] = "application/json";
constexpr char kOtherRoute[] = "other";

// When the request this server thread is answering began; set before
// routing, read once the answer is ready. Unset for requests the server
// refused before routing (a malformed request line).
thread_local std::optional<absl::Time> request_started;

nlohmann::json RejectedJson(const std::vector<RejectedRecord>& rejected) {
  nlohmann::json list = nlohmann::json::array();
  for (const RejectedRecord& record : rejected) {
    list.push_back({{"line", record.line},
                    {"field", record.field},
                    {"message", record.message}});
  }
  return list;
}

// The API key a request carries in its headers, if any.
std::optional<std::string> PresentedApiKey(const httplib::Request& request) {
  if (request.has_header("X-Api-Key")) {
    return request.get_header_value("X-Api-Key");
  }
  if (!request.has_header("Authorization")) return std::nullopt;
  const std::string header = request.get_header_value("Authorization");
  std::pair<absl::string_view, absl::string_view> scheme_value =
      absl::StrSplit(header, absl::MaxSplits(' ', 1));
  const absl::string_view value =
      absl::StripAsciiWhitespace(scheme_value.second);
  if (absl::EqualsIgnoreCase(scheme_value.first, "Bearer")) {
    return std::string(value);
  }
  if (absl::EqualsIgnoreCase(scheme_value.first, "Basic")) {
    std::string decoded;
    if (!absl::Base64Unescape(value, &decoded)) return std::nullopt;
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return decoded.substr(colon + 1);  // the user name says nothing
  }
  return std::nullopt;
}

}  // namespace

HttpIntake::HttpIntake(HttpIntakeOptions options, spool::EventSpool* spool,
                       const timeline::EventValidator* validator,
                       std::shared_ptr<prometheus::Registry> registry,
                       std::function<bool()> ready)
    : options_(std::move(options)),
      spool_(spool),
      validator_(validator),
      registry_(std::move(registry)),
      ready_(std::move(ready)) {
  requests_ = &prometheus::BuildCounter()
                   .Name("omnihub_http_requests_total")
                   .Help("HTTP requests answered, by route and status code.")
                   .Register(*registry_);
  durations_ = &prometheus::BuildHistogram()
                    .Name("omnihub_http_request_duration_seconds")
                    .Help("Time to answer an HTTP request, by route.")
                    .Register(*registry_);
  validation_failures_ = &prometheus::BuildCounter()
                              .Name("omnihub_http_validation_failures_total")
                              .Help("Requests refused as invalid, by reason.")
                              .Register(*registry_);

  auth_failures_ =
      &prometheus::BuildCounter()
           .Name("omnihub_http_auth_failures_total")
           .Help(
               "Requests refused because the sender could not be verified "
               "(a missing or unknown API key, a bad signature), by route "
               "and reason.")
           .Register(*registry_);

  Configure(server_, options_.threads, options_.max_queued_connections);
  server_.set_payload_max_length(options_.max_body_bytes);
  httplib::Server* admin = &server_;
  if (!options_.admin_listen.empty()) {
    admin_server_ = std::make_unique<httplib::Server>();
    // Scrapes and probes are few; they never wait behind the intake's load.
    Configure(*admin_server_, /*threads=*/2, /*max_queued=*/16);
    admin = admin_server_.get();
  }
  NameRoute("GET", "/healthz", "healthz");
  admin->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", kJson);
  });
  NameRoute("GET", "/readyz", "readyz");
  admin->Get("/readyz", [this](const httplib::Request&,
                               httplib::Response& res) {
    const bool ready = ready_ == nullptr || ready_();
    res.status = ready ? 200 : 503;
    res.set_content(nlohmann::json{{"status", ready ? "ready" : "not ready"},
                                   {"spooled_records", spool_->Stats().records}}
                        .dump(),
                    kJson);
  });
  NameRoute("GET", "/metrics", "metrics");
  admin->Get("/metrics",
             [this](const httplib::Request&, httplib::Response& res) {
               res.set_content(
                   prometheus::TextSerializer().Serialize(registry_->Collect()),
                   "text/plain; version=0.0.4");
             });
}

HttpIntake::~HttpIntake() { Stop(); }

void HttpIntake::Configure(httplib::Server& server, int threads,
                           int max_queued) {
  const auto seconds_and_micros = [](absl::Duration d) {
    const int64_t micros = std::max<int64_t>(absl::ToInt64Microseconds(d), 1);
    return std::pair<time_t, time_t>(micros / 1000000, micros % 1000000);
  };
  const auto read = seconds_and_micros(options_.read_timeout);
  const auto write = seconds_and_micros(options_.write_timeout);
  server.set_read_timeout(read.first, read.second);
  server.set_write_timeout(write.first, write.second);
  server.set_keep_alive_timeout(
      std::max<time_t>(1, absl::ToInt64Seconds(options_.keep_alive_timeout)));
  server.new_task_queue = [threads, queued = max_queued] {
    return new BoundedTaskQueue(static_cast<size_t>(std::max(threads, 1)),
                                static_cast<size_t>(std::max(queued, 0)));
  };
  // Without it, Nagle's algorithm and the client's delayed ACK hold each
  // small response back for tens of milliseconds.
  server.set_tcp_nodelay(true);
  server.set_error_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        // Only errors no handler wrote a body for: unknown route, too large, a
        // request that could not be read.
        if (!response.body.empty()) return;
        if (response.status == 413) {
          return Error(response, 413, "",
                       absl::StrCat("the body is over the limit of ",
                                    options_.max_body_bytes, " bytes"),
                       "too_large");
        }
        if (response.status == 400) {
          return Error(response, 400, "",
                       "the request could not be read: malformed, or a read "
                       "waited longer than the read timeout",
                       "unreadable_request");
        }
        Error(response, response.status, "",
              absl::StrCat("no route ", request.method, " ", request.path),
              "no_route");
      });
  server.set_exception_handler([this](const httplib::Request&,
                                      httplib::Response& response,
                                      std::exception_ptr) {
    Error(response, 500, "", "internal error", "internal");
  });
  // Every answer passes here once, just before it is written, whoever made
  // it: a route, the error handler (404, 413, 400) or the exception handler.
  server.set_pre_routing_handler([this](const httplib::Request&,
                                        httplib::Response& response) {
    request_started = absl::Now();
    if (!AnsweringOverload()) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    // No thread was free and the queue was full: refused before the
    // body is read, and the connection is to be closed.
    response.set_header("Retry-After",
                        absl::StrCat(options_.retry_after_seconds));
    response.set_header("Connection", "close");
    Error(response, 503, "",
          absl::StrCat("the adapter is overloaded (", options_.threads,
                       " connections served, ", options_.max_queued_connections,
                       " waiting); send again later"),
          "overloaded");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_post_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        std::optional<absl::Duration> elapsed;
        if (request_started) elapsed = absl::Now() - *request_started;
        request_started.reset();
        Record(RouteOf(request), response.status, elapsed);
      });
}

void HttpIntake::Post(const std::string& pattern, const std::string& route,
                      Handler handler) {
  NameRoute("POST", pattern, route);
  server_.Post(pattern, std::move(handler));
}

void HttpIntake::Get(const std::string& pattern, const std::string& route,
                     Handler handler) {
  NameRoute("GET", pattern, route);
  server_.Get(pattern, std::move(handler));
}

void HttpIntake::Options(const std::string& pattern, const std::string& route,
                         Handler handler) {
  NameRoute("OPTIONS", pattern, route);
  server_.Options(pattern, std::move(handler));
}

void HttpIntake::NameRoute(const std::string& method,
                           const std::string& pattern,
                           const std::string& route) {
  route_names_[absl::StrCat(method, " ", pattern)] = route;
}

std::string HttpIntake::RouteOf(const httplib::Request& request) const {
  // httplib answers HEAD with the GET route.
  const absl::string_view method =
      request.method == "HEAD" ? "GET" : absl::string_view(request.method);
  auto it = route_names_.find(absl::StrCat(method, " ", request.path));
  return it == route_names_.end() ? kOtherRoute : it->second;
}

bool HttpIntake::RequireContentType(
    const httplib::Request& request, httplib::Response& response,
    std::initializer_list<absl::string_view> accepted) {
  const std::string header = request.get_header_value("Content-Type");
  const std::string type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(
      absl::string_view(header).substr(0, header.find(';'))));
  for (absl::string_view candidate : accepted) {
    if (type == candidate) return true;
  }
  Error(response, 415, "Content-Type",
        absl::StrCat("send ", absl::StrJoin(accepted, " or "),
                     header.empty() ? " (no Content-Type was given)"
                                    : absl::StrCat(", not ", header)),
        "unsupported_media_type");
  return false;
}

void HttpIntake::Record(const std::string& route, int status,
                        std::optional<absl::Duration> elapsed) {
  prometheus::Counter* counter;
  prometheus::Histogram* histogram;
  {
    absl::MutexLock lock(&mutex_);
    const std::string key = absl::StrCat(route, " ", status);
    auto it = counters_.find(key);
    if (it == counters_.end()) {
      it = counters_
               .emplace(key, &requests_->Add({{"route", route},
                                              {"code", absl::StrCat(status)}}))
               .first;
    }
    counter = it->second;
    auto h = histograms_.find(route);
    if (h == histograms_.end()) {
      h = histograms_
              .emplace(route,
                       &durations_->Add({{"route", route}},
                                        prometheus::Histogram::BucketBoundaries{
                                            0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025, 0.05, 0.1, 0.25, 1}))
              .first;
    }
    histogram = h->second;
  }
  counter->Increment();
  if (elapsed) histogram->Observe(absl::ToDoubleSeconds(*elapsed));
}

void HttpIntake::SetApiKeys(std::shared_ptr<const ApiKeySet> keys) {
  absl::MutexLock lock(&keys_mutex_);
  api_keys_ = std::move(keys);
}

bool HttpIntake::RequiresApiKeys() const {
  absl::MutexLock lock(&keys_mutex_);
  return api_keys_ != nullptr;
}

std::optional<std::string> HttpIntake::Authenticate(
    const httplib::Request& request, httplib::Response& response) {
  std::shared_ptr<const ApiKeySet> keys;
  {
    absl::MutexLock lock(&keys_mutex_);
    keys = api_keys_;
  }
  if (keys == nullptr) return "";
  std::optional<std::string> presented = PresentedApiKey(request);
  if (!presented.has_value() || presented->empty()) {
    response.set_header("WWW-Authenticate", R"(Bearer realm="omnihub")");
    RefuseSender(request, response, 401, "missing_api_key",
                 "send an API key: Authorization: Bearer <key>, or X-Api-Key: "
                 "<key>");
    return std::nullopt;
  }
  std::optional<std::string> name = keys->NameOf(*presented);
  if (!name.has_value()) {
    response.set_header("WWW-Authenticate", R"(Bearer realm="omnihub")");
    RefuseSender(request, response, 401, "unknown_api_key",
                 "the API key is not one this adapter accepts");
    return std::nullopt;
  }
  return name;
}

void HttpIntake::RefuseSender(const httplib::Request& request,
                              httplib::Response& response, int status,
                              absl::string_view reason,
                              absl::string_view message) {
  auth_failures_
      ->Add({{"route", RouteOf(request)}, {"reason", std::string(reason)}})
      .Increment();
  Error(response, status, "", message, reason);
}

void HttpIntake::Error(httplib::Response& response, int status,
                       absl::string_view field, absl::string_view message,
                       absl::string_view reason) {
  response.status = status;
  nlohmann::json error = {{"status", status},
                          {"message", std::string(message)}};
  if (!field.empty()) error["field"] = std::string(field);
  response.set_content(nlohmann::json{{"error", error}}.dump(), kJson);
  if (status >= 400 && status < 500) {
    validation_failures_->Add({{"reason", std::string(reason)}}).Increment();
  }
}

void HttpIntake::BadRequest(httplib::Response& response,
                            const absl::Status& status,
                            absl::string_view reason) {
  // Our parsers say "field: problem"; the field goes in its own member.
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(status.message(), absl::MaxSplits(": ", 1));
  if (parts.second.empty()) {
    Error(response, 400, "", status.message(), reason);
  } else {
    Error(response, 400, parts.first, status.message(), reason);
  }
}

void HttpIntake::Accept(std::vector<v1::InteractionEvent> events, int ignored,
                        httplib::Response& response) {
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < events.size(); ++i) {
    std::optional<timeline::FieldViolation> violation =
        validator_->ValidateEvent(events[i], now,
                                  absl::StrCat("events[", i, "]"));
    if (violation.has_value()) {
      return Error(response, 400, violation->field,
                   absl::StrCat(violation->field, ": ", violation->reason),
                   "invalid_event");
    }
  }
  Spool(std::move(events), ignored, {}, nullptr, response);
}

std::optional<timeline::FieldViolation> HttpIntake::Validate(
    v1::InteractionEvent& event, absl::string_view field_prefix) const {
  return validator_->ValidateEvent(event, absl::Now(), field_prefix);
}

void HttpIntake::AcceptSome(std::vector<v1::InteractionEvent> events,
                            const std::vector<RejectedRecord>& rejected,
                            const std::vector<std::string>& ignored_columns,
                            httplib::Response& response) {
  if (events.empty() && !rejected.empty()) {
    Error(response, 400, rejected.front().field,
          absl::StrCat("no record was valid; the first problem: line ",
                       rejected.front().line, ": ", rejected.front().message),
          "invalid_record");
    nlohmann::json body = nlohmann::json::parse(response.body);
    body["rejected"] = RejectedJson(rejected);
    body["ignored_columns"] = ignored_columns;
    response.set_content(body.dump(), kJson);
    return;
  }
  Spool(std::move(events), 0, rejected, &ignored_columns, response);
}

void HttpIntake::Spool(std::vector<v1::InteractionEvent> events, int ignored,
                       const std::vector<RejectedRecord>& rejected,
                       const std::vector<std::string>* ignored_columns,
                       httplib::Response& response) {
  std::vector<std::string> records;
  nlohmann::json ids = nlohmann::json::array();
  records.reserve(events.size());
  for (const v1::InteractionEvent& event : events) {
    ids.push_back(event.event_id());
    records.push_back(event.SerializeAsString());
  }
  if (!records.empty()) {
    absl::StatusOr<uint64_t> spooled = spool_->Append(std::move(records));
    if (!spooled.ok()) {
      // Nothing was kept: tell the sender to come back later.
      response.set_header("Retry-After",
                          absl::StrCat(options_.retry_after_seconds));
      return Error(response, 503, "", spooled.status().message(),
                   "spool_unavailable");
    }
  }
  if (!rejected.empty()) {
    validation_failures_->Add({{"reason", "invalid_record"}})
        .Increment(static_cast<double>(rejected.size()));
  }
  response.status = 202;
  nlohmann::json body = {
      {"accepted", ids.size()}, {"ignored", ignored}, {"event_ids", ids}};
  if (!rejected.empty()) body["rejected"] = RejectedJson(rejected);
  if (ignored_columns != nullptr) body["ignored_columns"] = *ignored_columns;
  response.set_content(body.dump(), kJson);
}

namespace {

// Binds `server` to "host:port" (port 0: any free one); the port, or an
// error naming the address.
absl::StatusOr<int> Bind(httplib::Server& server, const std::string& listen) {
  std::pair<std::string, std::string> host_port =
      absl::StrSplit(listen, absl::MaxSplits(':', 1));
  int port = 0;
  if (!absl::SimpleAtoi(host_port.second, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address must be host:port, got ", listen));
  }
  const int bound =
      port == 0 ? server.bind_to_any_port(host_port.first)
                : (server.bind_to_port(host_port.first, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }
  return bound;
}

}  // namespace

absl::Status HttpIntake::Start() {
  absl::StatusOr<int> port = Bind(server_, options_.listen);
  if (!port.ok()) return port.status();
  port_ = *port;
  admin_port_ = port_;
  if (admin_server_ != nullptr) {
    absl::StatusOr<int> admin_port =
        Bind(*admin_server_, options_.admin_listen);
    if (!admin_port.ok()) {
      server_.stop();
      return absl::Status(
          admin_port.status().code(),
          absl::StrCat("admin address: ", admin_port.status().message()));
    }
    admin_port_ = *admin_port;
    admin_thread_ = std::thread([this] { admin_server_->listen_after_bind(); });
  }
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  return absl::OkStatus();
}

void HttpIntake::Stop() {
  if (thread_.joinable()) {
    // Stops accepting; requests being handled finish first.
    server_.stop();
    thread_.join();
  }
  if (admin_thread_.joinable()) {
    admin_server_->stop();
    admin_thread_.join();
  }
}

}  // namespace omnihub::http_intake

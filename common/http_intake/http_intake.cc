#include "common/http_intake/http_intake.h"

#include <algorithm>

#include "absl/strings/ascii.h"
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

  server_.set_payload_max_length(options_.max_body_bytes);
  server_.new_task_queue = [threads = options_.threads,
                            queued = options_.max_queued_connections] {
    return new BoundedTaskQueue(static_cast<size_t>(std::max(threads, 1)),
                                static_cast<size_t>(std::max(queued, 0)));
  };
  // Without it, Nagle's algorithm and the client's delayed ACK hold each
  // small response back for tens of milliseconds.
  server_.set_tcp_nodelay(true);
  server_.set_error_handler([this](const httplib::Request& request,
                                   httplib::Response& response) {
    // Only errors no handler wrote a body for: unknown route, too large.
    if (!response.body.empty()) return;
    const bool too_large = response.status == 413;
    Error(response, response.status, "",
          too_large
              ? absl::StrCat("the body is over the limit of ",
                             options_.max_body_bytes, " bytes")
              : absl::StrCat("no route ", request.method, " ", request.path),
          too_large ? "too_large" : "no_route");
  });
  server_.set_exception_handler([this](const httplib::Request&,
                                       httplib::Response& response,
                                       std::exception_ptr) {
    Error(response, 500, "", "internal error", "internal");
  });
  // Every answer passes here once, just before it is written, whoever made
  // it: a route, the error handler (404, 413, 400) or the exception handler.
  server_.set_pre_routing_handler([this](const httplib::Request&,
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
  server_.set_post_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        std::optional<absl::Duration> elapsed;
        if (request_started) elapsed = absl::Now() - *request_started;
        request_started.reset();
        Record(RouteOf(request), response.status, elapsed);
      });
  Get("/healthz", "healthz",
      [](const httplib::Request&, httplib::Response& res) {
        res.set_content(R"({"status":"ok"})", kJson);
      });
  Get("/readyz", "readyz",
      [this](const httplib::Request&, httplib::Response& res) {
        const bool ready = ready_ == nullptr || ready_();
        res.status = ready ? 200 : 503;
        res.set_content(
            nlohmann::json{{"status", ready ? "ready" : "not ready"},
                           {"spooled_records", spool_->Stats().records}}
                .dump(),
            kJson);
      });
  Get("/metrics", "metrics",
      [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(
            prometheus::TextSerializer().Serialize(registry_->Collect()),
            "text/plain; version=0.0.4");
      });
}

HttpIntake::~HttpIntake() { Stop(); }

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

absl::Status HttpIntake::Start() {
  std::pair<std::string, std::string> host_port =
      absl::StrSplit(options_.listen, absl::MaxSplits(':', 1));
  int port = 0;
  if (!absl::SimpleAtoi(host_port.second, &port)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address must be host:port, got ", options_.listen));
  }
  port_ = port == 0 ? server_.bind_to_any_port(host_port.first)
                    : (server_.bind_to_port(host_port.first, port) ? port : -1);
  if (port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen));
  }
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  return absl::OkStatus();
}

void HttpIntake::Stop() {
  if (!thread_.joinable()) return;
  // Stops accepting; requests being handled finish first.
  server_.stop();
  thread_.join();
}

}  // namespace omnihub::http_intake

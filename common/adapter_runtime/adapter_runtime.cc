#include "common/adapter_runtime/adapter_runtime.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/client_flags.h"
#include "common/config/env_flags.h"
#include "common/event_validation/event_validator.h"
#include "common/event_validation/ingest_limit_flags.h"
#include "common/json_fields/json_body.h"
#include "common/logging/log.h"
#include "common/metrics/build_info.h"
#include "common/publisher/event_publisher.h"
#include "common/spool/event_spool.h"

ABSL_FLAG(std::string, listen, "",
          "HTTP address (host:port); default 127.0.0.1 and the adapter's port "
          "(phone 8081, web 8082, visit 8083).");
ABSL_FLAG(std::string, admin_listen, "",
          "Where /metrics, /healthz and /readyz are served (host:port); "
          "default 127.0.0.1 and the adapter's port + 1000 (phone 9081, web "
          "9082, visit 9083), so an intake open to the internet does not "
          "expose them. \"intake\": on --listen, beside the routes.");
ABSL_FLAG(std::string, api_keys_file, "",
          "Phone and visit adapters: the API keys senders must present "
          "(Authorization: Bearer <key> or X-Api-Key), one \"name "
          "sha256-of-key\" a line; re-read on SIGHUP. The key's name goes "
          "into each event's source. Without it the adapter only starts on "
          "a loopback address, or with --insecure_no_api_keys.");
ABSL_FLAG(bool, insecure_no_api_keys, false,
          "Phone and visit adapters: accept records from anyone who can "
          "reach --listen, on an address other than loopback, without "
          "--api_keys_file (logs a warning at start).");
ABSL_FLAG(absl::Duration, http_read_timeout, absl::Seconds(10),
          "How long one read of a request (its headers or body) may wait "
          "before the connection is closed.");
ABSL_FLAG(absl::Duration, http_write_timeout, absl::Seconds(10),
          "How long one write of an answer may wait before the connection is "
          "closed.");
ABSL_FLAG(absl::Duration, http_keep_alive_timeout, absl::Seconds(5),
          "How long an idle keep-alive connection keeps its thread.");
ABSL_FLAG(std::string, hub_address, "127.0.0.1:50051",
          "The timeline service (gRPC host:port).");
ABSL_FLAG(std::string, spool_dir, "",
          "Where accepted records wait for the hub (default .omnihub/spool/"
          "<adapter>).");
ABSL_FLAG(int64_t, spool_max_bytes, int64_t{1} << 30,
          "Undelivered bytes the spool may hold; beyond, requests get 503 "
          "with Retry-After.");
ABSL_FLAG(bool, spool_fsync, true,
          "fsync every accepted request before answering (turn off only to "
          "measure what durability costs).");
ABSL_FLAG(int64_t, dead_letter_max_bytes, int64_t{256} << 20,
          "Bytes all dead-letter files of the adapter may hold together "
          "(<spool_dir>/dead-letters.jsonl, rotated at a quarter of it to "
          ".1, .2, .3; the oldest rotated file is deleted beyond). They hold "
          "whole events, personal data: replay them with omnihub-cli "
          "replay-dead-letters.");
ABSL_FLAG(int64_t, max_body_bytes, 1 << 20, "Largest request body, in bytes.");
ABSL_FLAG(int, max_json_depth,
          static_cast<int>(omnihub::json_fields::kDefaultMaxJsonDepth),
          "Most arrays and objects a JSON body may nest inside one another "
          "(at least 1); a deeper body is refused with 400 naming the field. "
          "It bounds every step that recurses over a body.");
ABSL_FLAG(int, http_threads, 8,
          "Threads serving HTTP connections (each holds a keep-alive "
          "connection while it is open).");
ABSL_FLAG(int, http_max_queued, 256,
          "Most HTTP connections waiting for a thread; past it a request is "
          "answered 503 with Retry-After at once.");
ABSL_FLAG(int, publish_batch, 500, "Most events per call to the hub.");
ABSL_FLAG(std::string, default_region, "US",
          "Region (ISO 3166) for phone numbers written without +country.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long to keep delivering spooled events.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");

namespace omnihub::adapter {
namespace {

// "host:port" with a port from `least_port` to 65535.
absl::Status CheckAddress(const char* flag, const std::string& address,
                          int least_port) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) ||
      port < least_port || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": \"", address, "\" is not host:port (a port from ",
        least_port, " to 65535)"));
  }
  return absl::OkStatus();
}

absl::Status CheckAtLeast(const char* flag, int64_t value, int64_t least) {
  if (value >= least) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, ": ", value, " is not allowed; it must be at least ", least));
}

absl::Status CheckTimeout(const char* flag, absl::Duration value) {
  if (value > absl::ZeroDuration() && value < absl::Hours(1)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": ", absl::FormatDuration(value),
                   " is not allowed; it must be more than 0 and under 1h"));
}

// Whether "host:port" only takes connections from this machine: an address
// in 127.0.0.0/8, ::1 or localhost (a name that merely starts with "127."
// is not one).
bool IsLoopback(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr ipv4{};
  return inet_pton(AF_INET, host.c_str(), &ipv4) == 1 &&
         (ntohl(ipv4.s_addr) >> 24) == 127;
}

// The keys the adapter's routes require, from --api_keys_file; null when
// none are. Without a key file an adapter that takes keys only listens on
// loopback, unless told it may be open to anyone.
absl::StatusOr<std::shared_ptr<const http_intake::ApiKeySet>> ApiKeysFromFlags(
    const AdapterDescription& description, const std::string& listen) {
  const std::string path = absl::GetFlag(FLAGS_api_keys_file);
  if (!description.takes_api_keys) {
    if (!path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--api_keys_file: the ", description.name,
          " adapter does not take API keys (it has its own write keys)"));
    }
    return nullptr;
  }
  if (!path.empty()) {
    absl::StatusOr<http_intake::ApiKeySet> keys =
        http_intake::ApiKeySet::Load(path);
    if (!keys.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--api_keys_file: ", keys.status().message()));
    }
    log::Info("senders must present one of the %u API keys in %s", keys->size(),
              path);
    return std::make_shared<const http_intake::ApiKeySet>(*std::move(keys));
  }
  if (IsLoopback(listen)) {
    log::Info(
        "no --api_keys_file: any sender is accepted, as %s takes connections "
        "from this machine only",
        listen);
  } else if (absl::GetFlag(FLAGS_insecure_no_api_keys)) {
    log::Warning(
        "--insecure_no_api_keys: anyone who can reach %s may send records, "
        "which the hub takes as true; give --api_keys_file",
        listen);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen=", listen,
        " takes connections from other machines, and no --api_keys_file "
        "says who may send: give --api_keys_file (or --insecure_no_api_keys "
        "to accept anyone, or listen on 127.0.0.1)"));
  }
  return nullptr;
}

// SIGHUP: the key file again. A file that no longer reads keeps the keys in
// use, so a typo does not lock every sender out.
void ReloadApiKeys(http_intake::HttpIntake& intake) {
  const std::string path = absl::GetFlag(FLAGS_api_keys_file);
  if (path.empty() || !intake.RequiresApiKeys()) {
    log::Info("SIGHUP: no --api_keys_file to re-read");
    return;
  }
  absl::StatusOr<http_intake::ApiKeySet> keys =
      http_intake::ApiKeySet::Load(path);
  if (!keys.ok()) {
    log::Error("SIGHUP: keeping the API keys in use: %s",
               keys.status().message());
    return;
  }
  log::Info("SIGHUP: %u API keys re-read from %s", keys->size(), path);
  intake.SetApiKeys(
      std::make_shared<const http_intake::ApiKeySet>(*std::move(keys)));
}

// Every runtime flag, before anything starts: a value that makes no sense
// stops the adapter (exit code 2) with a message naming the flag, rather
// than being quietly replaced.
absl::Status CheckRuntimeFlags() {
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string admin_listen = absl::GetFlag(FLAGS_admin_listen);
  const std::string region = absl::GetFlag(FLAGS_default_region);
  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  for (absl::Status status :
       {listen.empty() ? absl::OkStatus() : CheckAddress("listen", listen, 0),
        admin_listen.empty() || admin_listen == "intake"
            ? absl::OkStatus()
            : CheckAddress("admin_listen", admin_listen, 0),
        // gRPC also dials a Unix socket ("unix:/run/omnihub.sock").
        absl::StartsWith(absl::GetFlag(FLAGS_hub_address), "unix:")
            ? absl::OkStatus()
            : CheckAddress("hub_address", absl::GetFlag(FLAGS_hub_address), 1),
        CheckAtLeast("spool_max_bytes", absl::GetFlag(FLAGS_spool_max_bytes),
                     1),
        CheckAtLeast("max_body_bytes", absl::GetFlag(FLAGS_max_body_bytes), 1),
        CheckAtLeast("max_json_depth", absl::GetFlag(FLAGS_max_json_depth), 1),
        CheckAtLeast("publish_batch", absl::GetFlag(FLAGS_publish_batch), 1),
        CheckTimeout("http_read_timeout",
                     absl::GetFlag(FLAGS_http_read_timeout)),
        CheckTimeout("http_write_timeout",
                     absl::GetFlag(FLAGS_http_write_timeout)),
        CheckTimeout("http_keep_alive_timeout",
                     absl::GetFlag(FLAGS_http_keep_alive_timeout))}) {
    if (!status.ok()) return status;
  }
  if (!identity::IsPhoneRegion(region)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--default_region: \"", region,
                     "\" is not a region (an ISO 3166 code such as US, GB "
                     "or ES)"));
  }
  if (grace < absl::ZeroDuration() || grace == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shutdown_grace: ", absl::FormatDuration(grace),
                     " is not allowed; it must be a finite duration like 10s"));
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// Registered by the registrar and run by the signal loop, both on the main
// thread.
std::vector<std::function<void()>>& Reloads() {
  static auto* reloads = new std::vector<std::function<void()>>();
  return *reloads;
}

}  // namespace

void OnReload(std::function<void()> reload) {
  Reloads().push_back(std::move(reload));
}

size_t MaxJsonDepth() {
  return static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_max_json_depth)));
}

int RunAdapter(int argc, char** argv, const AdapterDescription& description,
               const RouteRegistrar& register_routes) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  config::ParseFlags(argc, argv, description.usage);
  log::Level level;
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    log::Error("--log_level: \"%s\" is not debug, info, warning or error",
               absl::GetFlag(FLAGS_log_level));
    return 2;
  }
  log::SetMinLevel(level);
  if (absl::Status status = CheckRuntimeFlags(); !status.ok()) {
    log::Error("%s", status.message());
    return 2;
  }
  absl::StatusOr<timeline::IngestLimits> limits =
      timeline::IngestLimitsFromFlags();
  if (!limits.ok()) {
    log::Error("%s", limits.status().message());
    return 2;
  }
  absl::StatusOr<auth::ClientSecurity> hub_security =
      auth::ClientSecurityFromFlags();
  if (!hub_security.ok()) {
    log::Error("%s", hub_security.status().message());
    return 2;
  }

  std::string listen = absl::GetFlag(FLAGS_listen);
  if (listen.empty()) {
    listen = absl::StrCat("127.0.0.1:", description.default_port);
  }
  absl::StatusOr<std::shared_ptr<const http_intake::ApiKeySet>> api_keys =
      ApiKeysFromFlags(description, listen);
  if (!api_keys.ok()) {
    log::Error("%s", api_keys.status().message());
    return 2;
  }

  std::string spool_dir = absl::GetFlag(FLAGS_spool_dir);
  if (spool_dir.empty()) spool_dir = ".omnihub/spool/" + description.name;
  absl::StatusOr<std::unique_ptr<spool::EventSpool>> spool =
      spool::EventSpool::Open({.directory = spool_dir,
                               .max_bytes = static_cast<uint64_t>(
                                   absl::GetFlag(FLAGS_spool_max_bytes)),
                               .fsync = absl::GetFlag(FLAGS_spool_fsync)});
  if (!spool.ok()) {
    log::Error("%s", spool.status().message());
    return 1;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::RegisterBuildInfo(*registry, description.name + "-adapter",
                             OMNIHUB_VERSION, OMNIHUB_GIT_COMMIT);
  absl::StatusOr<std::unique_ptr<publisher::EventPublisher>> publisher =
      publisher::EventPublisher::Start(
          spool->get(),
          {.hub_address = absl::GetFlag(FLAGS_hub_address),
           .security = *std::move(hub_security),
           .batch_records =
               static_cast<size_t>(absl::GetFlag(FLAGS_publish_batch)),
           .dead_letter_path = spool_dir + "/dead-letters.jsonl",
           .dead_letter_max_bytes = static_cast<uint64_t>(std::max<int64_t>(
               1, absl::GetFlag(FLAGS_dead_letter_max_bytes)))},
          *registry);
  if (!publisher.ok()) {
    log::Error("%s", publisher.status().message());
    return 1;
  }

  identity::IdentityNormalizer normalizer(
      {.default_region = absl::GetFlag(FLAGS_default_region)});
  timeline::EventValidator validator(*limits, &normalizer);
  publisher::EventPublisher* raw_publisher = publisher->get();
  http_intake::HttpIntakeOptions intake_options;
  intake_options.listen = listen;
  intake_options.max_body_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_body_bytes));
  intake_options.threads = absl::GetFlag(FLAGS_http_threads);
  intake_options.max_queued_connections = absl::GetFlag(FLAGS_http_max_queued);
  intake_options.read_timeout = absl::GetFlag(FLAGS_http_read_timeout);
  intake_options.write_timeout = absl::GetFlag(FLAGS_http_write_timeout);
  intake_options.keep_alive_timeout =
      absl::GetFlag(FLAGS_http_keep_alive_timeout);
  std::string admin_listen = absl::GetFlag(FLAGS_admin_listen);
  if (admin_listen.empty()) {
    admin_listen = absl::StrCat("127.0.0.1:", description.default_port + 1000);
  }
  if (admin_listen != "intake") intake_options.admin_listen = admin_listen;
  http_intake::HttpIntake intake(
      std::move(intake_options), spool->get(), &validator, registry,
      [raw_publisher] { return raw_publisher->hub_reachable(); });
  intake.SetApiKeys(*std::move(api_keys));
  if (absl::Status status = register_routes(intake, normalizer); !status.ok()) {
    log::Error("%s", status.message());
    return 2;
  }
  if (absl::Status status = intake.Start(); !status.ok()) {
    log::Error("%s", status.message());
    return 1;
  }
  log::Info(
      "omnihub %s adapter %s listening on http://%s (metrics and health on "
      "http://%s); spool in %s; hub at %s",
      description.name, OMNIHUB_VERSION, listen,
      admin_listen == "intake" ? listen : admin_listen, spool_dir,
      absl::GetFlag(FLAGS_hub_address));

  int received = 0;
  for (;;) {
    sigwait(&signals, &received);
    if (received != SIGHUP) break;
    ReloadApiKeys(intake);
    for (const std::function<void()>& reload : Reloads()) reload();
  }
  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  log::Info(
      "%s received: refusing new requests, delivering what is spooled "
      "(up to %s)",
      received == SIGINT ? "SIGINT" : "SIGTERM", absl::FormatDuration(grace));
  intake.Stop();
  (*publisher)->Stop(grace);
  const uint64_t left = (*spool)->Stats().records;
  log::Info("stopped cleanly; %u records stay spooled for the next start",
            left);
  return 0;
}

}  // namespace omnihub::adapter

// omnihub-web-adapter: the company website sends visit events here.
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/adapter_runtime/adapter_runtime.h"
#include "common/event_validation/ingest_limit_flags.h"
#include "common/logging/log.h"
#include "services/web_adapter/web_routes.h"

ABSL_FLAG(std::string, write_keys, "",
          "Client write keys: public, in the websites' pages, as "
          "key=site[,key=site...]; the site names the events' source. The "
          "identities they send, but for the anonymous id, are unverified "
          "claims, never merging customers. Requests without a known key "
          "get 401.");
ABSL_FLAG(std::string, server_write_keys_file, "",
          "File of server write keys: secret, for the company's own "
          "backends, key=site entries one or more a line (# comments). Their "
          "identities are verified and their timestamps taken as given. "
          "Re-read on SIGHUP.");
ABSL_FLAG(std::string, allowed_origins, "",
          "Origins browsers may send from, comma-separated "
          "(https://shop.example), or * for any.");
ABSL_FLAG(std::string, trusted_proxies, "",
          "Proxies whose X-Forwarded-For is believed: addresses or networks, "
          "comma-separated (10.0.0.0/8,::1).");
ABSL_FLAG(std::string, ip_privacy, "keep",
          "What is kept of a visitor's IP address: keep, truncate (IPv4 /24, "
          "IPv6 /48) or drop.");
ABSL_FLAG(int, max_batch_calls, 500, "Most calls in one /v1/batch request.");
ABSL_FLAG(std::string, form_events, "Form Submitted,Signed Up",
          "track event names that are form submissions.");
ABSL_FLAG(std::string, purchase_events, "Order Completed",
          "track event names that are purchases (properties revenue or "
          "total, and currency).");

namespace {

// "--flag: problem", which stops the adapter (exit code 2).
absl::Status FlagError(absl::string_view flag, const absl::Status& status) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": ", status.message()));
}

// The server write keys file, none of them also a client key.
absl::StatusOr<std::map<std::string, std::string>> ReadServerWriteKeys(
    const std::string& path,
    const std::map<std::string, std::string>& client_keys) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(path, " cannot be read"));
  }
  auto server_keys = omnihub::web::ParseServerWriteKeysFile(contents.str());
  if (!server_keys.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", server_keys.status().message()));
  }
  for (const auto& [key, site] : *server_keys) {
    if (client_keys.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a key of site ", site,
          " is also in --write_keys; a key is either public (client) or "
          "secret (server), never both"));
    }
  }
  return server_keys;
}

// Flags are read after RunAdapter parsed them; a bad one stops the adapter.
absl::StatusOr<omnihub::web::WebRouteOptions> OptionsFromFlags() {
  omnihub::web::WebRouteOptions options;
  auto keys = omnihub::web::ParseWriteKeys(absl::GetFlag(FLAGS_write_keys));
  if (!keys.ok()) return FlagError("write_keys", keys.status());

  options.write_keys = *std::move(keys);
  if (const std::string path = absl::GetFlag(FLAGS_server_write_keys_file);
      !path.empty()) {
    auto server_keys = ReadServerWriteKeys(path, options.write_keys);
    if (!server_keys.ok()) {
      return FlagError("server_write_keys_file", server_keys.status());
    }
    options.server_write_keys = *std::move(server_keys);
  }
  options.allowed_origins = absl::StrSplit(absl::GetFlag(FLAGS_allowed_origins),
                                           ',', absl::SkipWhitespace());
  if (options.write_keys.empty() && options.server_write_keys.empty()) {
    omnihub::log::Warning(
        "no --write_keys nor --server_write_keys_file: every request will be "
        "refused with 401");
  }
  auto proxies =
      omnihub::web::AddressSet::Parse(absl::GetFlag(FLAGS_trusted_proxies));
  if (!proxies.ok()) return FlagError("trusted_proxies", proxies.status());
  options.trusted_proxies = *std::move(proxies);
  auto privacy = omnihub::web::ParseIpPrivacy(absl::GetFlag(FLAGS_ip_privacy));
  if (!privacy.ok()) return FlagError("ip_privacy", privacy.status());
  options.ip_privacy = *privacy;
  const int max_calls = absl::GetFlag(FLAGS_max_batch_calls);
  if (max_calls < 1) {
    return FlagError("max_batch_calls",
                     absl::InvalidArgumentError(absl::StrCat(
                         max_calls, " is not allowed; it must be at least 1")));
  }
  options.parse.max_calls = static_cast<size_t>(max_calls);
  options.parse.max_json_depth = omnihub::adapter::MaxJsonDepth();
  options.events.form_events = absl::StrSplit(absl::GetFlag(FLAGS_form_events),
                                              ',', absl::SkipWhitespace());
  options.events.purchase_events = absl::StrSplit(
      absl::GetFlag(FLAGS_purchase_events), ',', absl::SkipWhitespace());
  // As the hub's limits, so that what the adapter reads the hub accepts.
  options.events.line_items = {
      .max_items =
          static_cast<size_t>(std::max(absl::GetFlag(FLAGS_max_line_items), 0)),
      .max_field_bytes = static_cast<size_t>(
          std::max(absl::GetFlag(FLAGS_max_line_item_field_bytes), 1))};
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  return omnihub::adapter::RunAdapter(
      argc, argv,
      {.name = "web",
       .default_port = 8082,
       .usage = "omnihub-web-adapter: takes Segment-style page, track and "
                "identify calls from websites and browsers over HTTP and "
                "delivers them to the timeline service."},
      [](omnihub::http_intake::HttpIntake& intake,
         const omnihub::identity::IdentityNormalizer& normalizer) {
        absl::StatusOr<omnihub::web::WebRouteOptions> options =
            OptionsFromFlags();
        if (!options.ok()) return options.status();
        const std::map<std::string, std::string> client_keys =
            options->write_keys;
        omnihub::web::ServerWriteKeysReplacer replace =
            omnihub::web::RegisterWebRoutes(intake, &normalizer,
                                            *std::move(options));
        const std::string path = absl::GetFlag(FLAGS_server_write_keys_file);
        if (!path.empty()) {
          // Rotated secret keys: the file again; one that no longer reads
          // keeps the keys in use.
          omnihub::adapter::OnReload([replace, path, client_keys] {
            auto keys = ReadServerWriteKeys(path, client_keys);
            if (!keys.ok()) {
              omnihub::log::Error(
                  "SIGHUP: keeping the server write keys in use: %s",
                  keys.status().message());
              return;
            }
            omnihub::log::Info("SIGHUP: %u server write keys re-read from %s",
                               keys->size(), path);
            replace(*std::move(keys));
          });
        }
        return absl::OkStatus();
      });
}

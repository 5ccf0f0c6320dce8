#include "services/web_adapter/web_routes.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "openssl/sha.h"
#include "services/web_adapter/web_snippet.h"

namespace omnihub::web {
namespace {

// Shared by the server's handlers, which keep it alive.
class WebRoutes : public std::enable_shared_from_this<WebRoutes> {
 public:
  WebRoutes(http_intake::HttpIntake& intake,
            const identity::IdentityNormalizer* normalizer,
            WebRouteOptions options)
      : intake_(intake),
        normalizer_(*normalizer),
        options_(std::move(options)) {
    ReplaceServerKeys(options_.server_write_keys);
  }

  void ReplaceServerKeys(const std::map<std::string, std::string>& keys) {
    auto by_digest =
        std::make_shared<absl::flat_hash_map<std::string, std::string>>();
    for (const auto& [key, site] : keys) (*by_digest)[Digest(key)] = site;
    absl::MutexLock lock(&server_keys_mutex_);
    server_keys_ = std::move(by_digest);
  }

  void Register() {
    for (const char* kind : {"batch", "page", "track", "identify"}) {
      const std::string path = absl::StrCat("/v1/", kind);
      intake_.Post(
          path, kind,
          [self = shared_from_this(), kind](const httplib::Request& request,
                                            httplib::Response& response) {
            self->Handle(kind, request, response);
          });
      intake_.Options(
          path, absl::StrCat(kind, "_preflight"),
          [self = shared_from_this()](const httplib::Request& request,
                                      httplib::Response& response) {
            self->Preflight(request, response);
          });
    }
    intake_.Get("/omnihub.js", "snippet",
                [](const httplib::Request&, httplib::Response& res) {
                  res.set_header("Cache-Control", "public, max-age=3600");
                  res.set_content(std::string(kWebSnippetJs),
                                  "application/javascript; charset=utf-8");
                });
  }

 private:
  bool OriginAllowed(const std::string& origin) const {
    return std::any_of(options_.allowed_origins.begin(),
                       options_.allowed_origins.end(),
                       [&](const std::string& allowed) {
                         return allowed == "*" || allowed == origin;
                       });
  }

  // Requests without an Origin are not from a browser page: CORS does not
  // apply. From a page, only the allowed origins may send.
  bool ApplyCors(const httplib::Request& request, httplib::Response& response) {
    const std::string origin = request.get_header_value("Origin");
    if (origin.empty()) return true;
    if (!OriginAllowed(origin)) {
      intake_.Error(
          response, 403, "Origin",
          absl::StrCat("origin ", origin, " is not in the allowed origins"),
          "origin_not_allowed");
      return false;
    }
    response.set_header("Access-Control-Allow-Origin", origin);
    response.set_header("Access-Control-Allow-Credentials", "true");
    response.set_header("Vary", "Origin");
    return true;
  }

  void Preflight(const httplib::Request& request, httplib::Response& response) {
    if (!ApplyCors(request, response)) return;
    response.status = 204;
    response.set_header("Access-Control-Allow-Methods", "POST, OPTIONS");
    response.set_header("Access-Control-Allow-Headers",
                        "Content-Type, Authorization, X-Write-Key");
    response.set_header("Access-Control-Max-Age", "86400");
  }

  // The key from the request's headers or query, else "".
  static std::string KeyOutsideBody(const httplib::Request& request,
                                    bool* in_query) {
    *in_query = false;
    const std::string authorization = request.get_header_value("Authorization");
    if (absl::StartsWithIgnoreCase(authorization, "basic ")) {
      std::string decoded;
      if (absl::Base64Unescape(absl::StripAsciiWhitespace(
                                   absl::string_view(authorization).substr(6)),
                               &decoded)) {
        return std::string(decoded.substr(0, decoded.find(':')));
      }
    }
    if (request.has_header("X-Write-Key")) {
      return request.get_header_value("X-Write-Key");
    }
    *in_query = request.has_param("writeKey");
    return request.get_param_value("writeKey");
  }

  struct KnownKey {
    std::string site;
    bool server = false;
  };
  // Server keys are compared through their SHA-256 digests, so how long a
  // lookup takes says nothing about a secret key's characters.
  std::optional<KnownKey> Find(const std::string& key) const {
    std::shared_ptr<const absl::flat_hash_map<std::string, std::string>>
        server_keys;
    {
      absl::MutexLock lock(&server_keys_mutex_);
      server_keys = server_keys_;
    }
    if (auto it = server_keys->find(Digest(key)); it != server_keys->end()) {
      return KnownKey{.site = it->second, .server = true};
    }
    if (auto it = options_.write_keys.find(key);
        it != options_.write_keys.end()) {
      return KnownKey{.site = it->second, .server = false};
    }
    return std::nullopt;
  }

  static std::string Digest(absl::string_view key) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(),
           digest);
    return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
  }

  void Handle(absl::string_view kind, const httplib::Request& request,
              httplib::Response& response) {
    if (!ApplyCors(request, response)) return;
    // sendBeacon posts text/plain; a form post would be a mistake.
    const std::string type =
        absl::AsciiStrToLower(request.get_header_value("Content-Type"));
    if (!type.empty() && !absl::StartsWith(type, "application/json") &&
        !absl::StartsWith(type, "text/plain")) {
      return intake_.Error(response, 415, "Content-Type",
                           "send application/json or text/plain",
                           "unsupported_media_type");
    }
    // Who is sending is decided before anything about the body is said, and
    // before any work is done on it when the key comes in a header or the
    // query. Only a key in the body (beacons) needs the body parsed first,
    // and parsing is bounded (depth, and the intake's size limit).
    bool in_query = false;
    std::string key = KeyOutsideBody(request, &in_query);
    std::optional<absl::StatusOr<nlohmann::json>> document;
    if (key.empty()) {
      document = ParseSegmentJson(request.body, kind, options_.parse);
      if (document->ok()) key = WriteKeyInBody(**document);
    }
    std::optional<KnownKey> site = Find(key);
    // A secret in a URL ends up in logs and browser histories: a server key
    // there is refused (and should be replaced).
    const bool server_key_in_query =
        site.has_value() && site->server && in_query;
    if (server_key_in_query) site.reset();
    if (!site.has_value()) {
      response.set_header("WWW-Authenticate", "Basic realm=\"omnihub\"");
      return intake_.Error(
          response, 401, "writeKey",
          key.empty() ? "a write key is required"
          : server_key_in_query
              ? "a server write key is not accepted in the URL; send it in "
                "the Authorization or X-Write-Key header"
              : "the write key is not known",
          "bad_write_key");
    }
    if (!document.has_value()) {
      document = ParseSegmentJson(request.body, kind, options_.parse);
    }
    if (!document->ok()) {
      return intake_.BadRequest(response, document->status(), "bad_json");
    }
    absl::StatusOr<SegmentBatch> batch =
        ReadSegmentBatch(**document, kind, options_.parse);
    if (!batch.ok()) {
      return intake_.BadRequest(response, batch.status(), "bad_json");
    }
    RequestContext context;
    context.received_at = absl::Now();
    context.site = site->site;
    context.server_key = site->server;
    context.user_agent = request.get_header_value("User-Agent");
    context.client_ip = ApplyIpPrivacy(
        ClientAddress(request.remote_addr,
                      request.get_header_value("X-Forwarded-For"),
                      options_.trusted_proxies),
        options_.ip_privacy);
    std::vector<v1::InteractionEvent> events;
    events.reserve(batch->calls.size());
    for (const SegmentCall& call : batch->calls) {
      absl::StatusOr<v1::InteractionEvent> event =
          SegmentCallToEvent(call, context, normalizer_, options_.events);
      if (!event.ok()) {
        return intake_.BadRequest(response, event.status(), "invalid_call");
      }
      events.push_back(*std::move(event));
    }
    intake_.Accept(std::move(events), 0, response);
  }

  http_intake::HttpIntake& intake_;
  const identity::IdentityNormalizer& normalizer_;
  const WebRouteOptions options_;
  // SHA-256 of each server key -> its site; replaced whole on a reload.
  mutable absl::Mutex server_keys_mutex_;
  std::shared_ptr<const absl::flat_hash_map<std::string, std::string>>
      server_keys_ ABSL_GUARDED_BY(server_keys_mutex_);
};

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseWriteKeys(
    absl::string_view list) {
  std::map<std::string, std::string> keys;
  for (absl::string_view entry :
       absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(
        absl::StripAsciiWhitespace(entry), absl::MaxSplits('=', 1));
    std::string key(absl::StripAsciiWhitespace(parts.first));
    std::string site(absl::StripAsciiWhitespace(parts.second));
    if (site.empty()) site = key;
    const bool printable = std::all_of(site.begin(), site.end(), [](char c) {
      return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
    });
    if (key.empty() || !printable || site.size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat(
          "write key entry \"", entry,
          "\" must be key=site, the site made of letters, digits, . - _"));
    }
    keys[key] = site;
  }
  return keys;
}

absl::StatusOr<std::map<std::string, std::string>> ParseServerWriteKeysFile(
    absl::string_view contents) {
  std::map<std::string, std::string> keys;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    absl::StatusOr<std::map<std::string, std::string>> entries =
        ParseWriteKeys(line);
    if (!entries.ok()) {
      // The entry itself is a secret: only the line is named.
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number,
                       " must be key=site entries, the site made of "
                       "letters, digits, . - _"));
    }
    keys.merge(*entries);
  }
  return keys;
}

ServerWriteKeysReplacer RegisterWebRoutes(
    http_intake::HttpIntake& intake,
    const identity::IdentityNormalizer* normalizer, WebRouteOptions options) {
  auto routes =
      std::make_shared<WebRoutes>(intake, normalizer, std::move(options));
  routes->Register();
  return [routes](std::map<std::string, std::string> server_write_keys) {
    routes->ReplaceServerKeys(server_write_keys);
  };
}

}  // namespace omnihub::web

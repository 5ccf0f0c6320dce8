// The web adapter's HTTP routes: Segment-style calls from websites and
// browsers in, web events out.
//
//   POST /v1/batch                  {"batch": [call, ...], "sentAt",
//   "writeKey"} POST /v1/page|track|identify    one call OPTIONS /v1/... CORS
//   preflight GET  /omnihub.js                the browser snippet
//
// The write key comes from HTTP Basic auth (the key as user name, as
// Segment's libraries send it), an X-Write-Key header, a writeKey query
// parameter (client keys only), or the body's writeKey (navigator.sendBeacon
// cannot set headers).
//
// Client keys are public (they ship in every page): identities they send,
// but for the anonymous id, are claims (v1::Identity.unverified). Server keys
// are secrets of the company's own backends: their identities are verified
// and their timestamps taken as given.
#ifndef OMNIHUB_SERVICES_WEB_ADAPTER_WEB_ROUTES_H_
#define OMNIHUB_SERVICES_WEB_ADAPTER_WEB_ROUTES_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http_intake/http_intake.h"
#include "common/identity/identity_normalizer.h"
#include "services/web_adapter/client_address.h"
#include "services/web_adapter/segment_call.h"

namespace omnihub::web {

struct WebRouteOptions {
  // Client (public) write key -> the website it identifies (names the event
  // source).
  std::map<std::string, std::string> write_keys;
  // Server (secret) write keys, the same way; a key may not be both.
  std::map<std::string, std::string> server_write_keys;
  // Origins browsers may send from ("https://shop.example"), or "*".
  std::vector<std::string> allowed_origins;
  AddressSet trusted_proxies;
  IpPrivacy ip_privacy = IpPrivacy::kKeep;
  SegmentParseOptions parse;
  SegmentEventOptions events;
};

// "key1=site-a,key2=site-b" (a bare key names its site after itself).
absl::StatusOr<std::map<std::string, std::string>> ParseWriteKeys(
    absl::string_view list);

// A server write keys file: entries as ParseWriteKeys takes them, one or
// more a line (comma-separated); blank lines and lines starting with # are
// skipped. INVALID_ARGUMENT naming the line.
absl::StatusOr<std::map<std::string, std::string>> ParseServerWriteKeysFile(
    absl::string_view contents);

// Replaces the server write keys the routes accept (a file re-read on
// SIGHUP); requests under way keep the keys they were checked with.
using ServerWriteKeysReplacer =
    std::function<void(std::map<std::string, std::string> server_write_keys)>;

// `normalizer` must outlive the intake's server.
ServerWriteKeysReplacer RegisterWebRoutes(
    http_intake::HttpIntake& intake,
    const identity::IdentityNormalizer* normalizer, WebRouteOptions options);

}  // namespace omnihub::web

#endif  // OMNIHUB_SERVICES_WEB_ADAPTER_WEB_ROUTES_H_

// The web adapter's input: Segment-style analytics calls (`page`, `track`,
// `identify`), single or in a batch, as a website or a browser sends them,
// and how each becomes an interaction event.
//
//   absl::StatusOr<SegmentBatch> batch = ParseSegmentBody(body, "batch", {});
//   for (size_t i = 0; i < batch->calls.size(); ++i)
//     absl::StatusOr<v1::InteractionEvent> event =
//         SegmentCallToEvent(batch->calls[i], context, normalizer);
#ifndef OMNIHUB_SERVICES_WEB_ADAPTER_SEGMENT_CALL_H_
#define OMNIHUB_SERVICES_WEB_ADAPTER_SEGMENT_CALL_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/identity_normalizer.h"
#include "common/json_fields/json_body.h"
#include "common/line_items/line_items.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/event.pb.h"

namespace omnihub::web {

struct SegmentCall {
  std::string path;  // "batch[3]": names the call in errors
  std::string type;  // page, track or identify
  std::string message_id;
  std::string anonymous_id;
  std::string user_id;
  // When it happened by the browser's clock (originalTimestamp, else
  // timestamp) and when the browser sent it (sentAt of the call or batch).
  std::optional<absl::Time> happened_at;
  std::optional<absl::Time> sent_at;
  // The call's own `timestamp`, as given: a server key's historical import.
  std::optional<absl::Time> timestamp;
  std::string event;  // track's event name
  std::string name;   // page's name
  std::string url, path_name, referrer, title;
  std::string user_agent;  // context.userAgent
  v1::Campaign campaign;
  std::string email, phone;  // identify's traits (or context.traits)
  // Order Completed-style revenue: the amount as a decimal and its currency.
  std::optional<int64_t> revenue_micros;
  std::string currency;
  // A track call's properties.products (the Segment e-commerce spec's
  // products[]), as given: a purchase's line items (see SegmentCallToEvent).
  std::optional<nlohmann::json> products;
  // Top-level properties (and traits, for identify) as strings; never
  // products.
  std::vector<std::pair<std::string, std::string>> properties;
};

struct SegmentBatch {
  std::vector<SegmentCall> calls;
  std::string write_key;  // the body's writeKey, if any
};

struct SegmentParseOptions {
  size_t max_calls = 500;
  size_t max_properties = 32;
  size_t max_property_value_bytes = 1024;
  // Most arrays and objects nested in the body (see json_body.h).
  size_t max_json_depth = json_fields::kDefaultMaxJsonDepth;
};

// `kind` is the route: "batch" ({"batch": [...]}), or "page", "track",
// "identify" for one call (whose `type` may be left out). INVALID_ARGUMENT
// naming the field ("batch[2].messageId: must be set") for anything wrong.
// The same as ParseSegmentJson, then ReadSegmentBatch.
absl::StatusOr<SegmentBatch> ParseSegmentBody(
    absl::string_view body, absl::string_view kind,
    const SegmentParseOptions& options);

// The body as JSON, refused when it nests deeper than max_json_depth
// ("track.properties.p: nests arrays and objects deeper than ...").
absl::StatusOr<nlohmann::json> ParseSegmentJson(
    absl::string_view body, absl::string_view kind,
    const SegmentParseOptions& options);

// The body's writeKey; "" when there is none or it is not a string.
std::string WriteKeyInBody(const nlohmann::json& document);

// The calls of a parsed body (see ParseSegmentBody).
absl::StatusOr<SegmentBatch> ReadSegmentBatch(
    const nlohmann::json& document, absl::string_view kind,
    const SegmentParseOptions& options);

// What the adapter knows of the request beyond its body.
struct RequestContext {
  absl::Time received_at;
  std::string site;  // which website (from its write key)
  // Sent with a server write key (the company's own backend) rather than a
  // client key (public, in every page): its identities are verified, and
  // its clock is believed.
  bool server_key = false;
  std::string client_ip;   // already chosen and truncated as configured
  std::string user_agent;  // the request's User-Agent header
};

struct SegmentEventOptions {
  line_items::LineItemLimits line_items;
  // track calls with these names become FORM_SUBMITTED / PURCHASE events.
  std::vector<std::string> form_events = {"Form Submitted", "Signed Up"};
  std::vector<std::string> purchase_events = {"Order Completed"};
};

// The interaction event for one call. A purchase's products[] become its
// line items (sku, else product_id; name, category, quantity, price in the
// call's properties.currency); other calls' products are dropped. Its time:
// from a server key, the call's `timestamp` (else originalTimestamp) as given;
// from a client key, corrected for the browser's clock: received - (sent -
// happened). From a client key, every identity but the anonymous id (the
// browser's own) is marked unverified: a claim the hub never merges customers
// on. INVALID_ARGUMENT naming the field when an identity is unusable.
absl::StatusOr<v1::InteractionEvent> SegmentCallToEvent(
    const SegmentCall& call, const RequestContext& context,
    const identity::IdentityNormalizer& normalizer,
    const SegmentEventOptions& options);

}  // namespace omnihub::web

#endif  // OMNIHUB_SERVICES_WEB_ADAPTER_SEGMENT_CALL_H_

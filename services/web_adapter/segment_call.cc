#include "services/web_adapter/segment_call.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/event_validation/event_validator.h"
#include "common/json_fields/json_fields.h"
#include "common/line_items/line_items.h"
#include "common/money/money.h"
#include "httplib.h"

namespace omnihub::web {
namespace {

using json_fields::FieldError;
using json_fields::JsonFields;
using nlohmann::json;

constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxUrlBytes = 2048;
constexpr size_t kMaxTextBytes = 512;

// A string field of a nested object: "context.page.url".
absl::Status NestedString(const JsonFields& in, const char* object,
                          const char* name, std::string* out,
                          size_t max_bytes) {
  const json* nested = in.Find(object);
  if (nested == nullptr) return absl::OkStatus();
  if (!nested->is_object()) {
    return in.Error(object, "must be a JSON object");
  }
  return JsonFields(*nested, absl::StrCat(in.path(), ".", object))
      .String(name, out, false, max_bytes);
}

absl::Status ReadPage(const JsonFields& in, SegmentCall& call) {
  const json* context = in.Find("context");
  if (context == nullptr) return absl::OkStatus();
  if (!context->is_object())
    return in.Error("context", "must be a JSON object");
  JsonFields fields(*context, absl::StrCat(in.path(), ".context"));
  for (absl::Status status :
       {NestedString(fields, "page", "url", &call.url, kMaxUrlBytes),
        NestedString(fields, "page", "path", &call.path_name, kMaxUrlBytes),
        NestedString(fields, "page", "referrer", &call.referrer, kMaxUrlBytes),
        NestedString(fields, "page", "title", &call.title, kMaxTextBytes),
        fields.String("userAgent", &call.user_agent, false, kMaxTextBytes),
        NestedString(fields, "campaign", "source",
                     call.campaign.mutable_source(), kMaxTextBytes),
        NestedString(fields, "campaign", "medium",
                     call.campaign.mutable_medium(), kMaxTextBytes),
        NestedString(fields, "campaign", "name", call.campaign.mutable_name(),
                     kMaxTextBytes),
        NestedString(fields, "campaign", "term", call.campaign.mutable_term(),
                     kMaxTextBytes),
        NestedString(fields, "campaign", "content",
                     call.campaign.mutable_content(), kMaxTextBytes),
        NestedString(fields, "traits", "email", &call.email, 256),
        NestedString(fields, "traits", "phone", &call.phone, 64)}) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// A page call repeats its url, path, referrer and title in properties.
absl::Status ReadPageProperties(const JsonFields& in, SegmentCall& call) {
  struct Field {
    const char* name;
    std::string* out;
    size_t max_bytes;
  };
  for (const Field& field : {Field{"url", &call.url, kMaxUrlBytes},
                             Field{"path", &call.path_name, kMaxUrlBytes},
                             Field{"referrer", &call.referrer, kMaxUrlBytes},
                             Field{"title", &call.title, kMaxTextBytes}}) {
    if (!field.out->empty()) continue;
    if (absl::Status status = NestedString(in, "properties", field.name,
                                           field.out, field.max_bytes);
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

// Campaign fields the site did not send, from the page URL's utm_ parameters.
void CampaignFromUrl(SegmentCall& call) {
  const size_t query = call.url.find('?');
  if (query == std::string::npos) return;
  std::string text = call.url.substr(query + 1);
  text = text.substr(0, text.find('#'));
  httplib::Params params;
  httplib::detail::parse_query_text(text, params);
  struct Utm {
    const char* name;
    std::string* out;
  };
  for (const Utm& utm : {Utm{"utm_source", call.campaign.mutable_source()},
                         Utm{"utm_medium", call.campaign.mutable_medium()},
                         Utm{"utm_campaign", call.campaign.mutable_name()},
                         Utm{"utm_term", call.campaign.mutable_term()},
                         Utm{"utm_content", call.campaign.mutable_content()}}) {
    auto it = params.find(utm.name);
    if (utm.out->empty() && it != params.end()) {
      *utm.out = it->second.substr(0, kMaxTextBytes);
    }
  }
}

absl::Status ReadProperties(const JsonFields& in, const char* object,
                            const SegmentParseOptions& options,
                            SegmentCall& call) {
  const json* properties = in.Find(object);
  if (properties == nullptr) return absl::OkStatus();
  if (!properties->is_object()) {
    return in.Error(object, "must be a JSON object");
  }
  for (const auto& [key, value] : properties->items()) {
    // Identify's e-mail and phone become identities, not attributes.
    if (value.is_null() || (absl::string_view(object) == "traits" &&
                            (key == "email" || key == "phone"))) {
      continue;
    }
    // Line items, not an attribute (see SegmentCallToEvent).
    if (absl::string_view(object) == "properties" && key == "products" &&
        call.type == "track") {
      call.products = value;
      continue;
    }
    const std::string path = absl::StrCat(object, ".", key);
    if (call.properties.size() == options.max_properties) {
      return in.Error(object, absl::StrCat("has more than ",
                                           options.max_properties, " fields"));
    }
    std::string text =
        value.is_string()
            ? value.get<std::string>()
            : value.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > options.max_property_value_bytes || key.size() > 64) {
      return in.Error(path, absl::StrCat("is longer than ",
                                         options.max_property_value_bytes,
                                         " bytes (or its name than 64)"));
    }
    call.properties.emplace_back(key, std::move(text));
  }
  return absl::OkStatus();
}

absl::Status ReadRevenue(const JsonFields& in, SegmentCall& call) {
  const json* properties = in.Find("properties");
  if (properties == nullptr || !properties->is_object())
    return absl::OkStatus();
  JsonFields fields(*properties, absl::StrCat(in.path(), ".properties"));
  for (const char* name : {"revenue", "total", "value"}) {
    const json* amount = fields.Find(name);
    if (amount == nullptr) continue;
    std::string text;
    if (amount->is_string()) {
      text = amount->get<std::string>();
    } else if (amount->is_number()) {
      text = amount->dump();
    } else {
      return fields.Error(name, "must be a number like 12.34");
    }
    absl::StatusOr<int64_t> micros = money::ParseDecimalMicros(text);
    if (!micros.ok()) return fields.Error(name, micros.status().message());
    call.revenue_micros = *micros;
    if (absl::Status status =
            fields.String("currency", &call.currency, true, 3);
        !status.ok()) {
      return fields.Error("currency",
                          "must be an ISO 4217 code like EUR when an amount "
                          "is given");
    }
    call.currency = absl::AsciiStrToUpper(call.currency);
    if (!money::IsCurrencyCode(call.currency)) {
      return fields.Error("currency", "must be an ISO 4217 code like EUR");
    }
    return absl::OkStatus();
  }
  // No amount: the currency, if a valid one is given, is still that of the
  // products' prices.
  std::string currency;
  if (fields.String("currency", &currency, false, 3).ok()) {
    currency = absl::AsciiStrToUpper(currency);
    if (money::IsCurrencyCode(currency)) call.currency = std::move(currency);
  }
  return absl::OkStatus();
}

absl::StatusOr<SegmentCall> ReadCall(const json& object, std::string path,
                                     absl::string_view route,
                                     std::optional<absl::Time> batch_sent_at,
                                     const SegmentParseOptions& options) {
  if (!object.is_object()) {
    return FieldError(path, "", "must be a JSON object");
  }
  JsonFields in(object, path);
  SegmentCall call;
  call.path = std::move(path);
  if (absl::Status status = in.String("type", &call.type, route == "batch", 16);
      !status.ok()) {
    return status;
  }
  if (route != "batch") {
    if (!call.type.empty() && call.type != route) {
      return in.Error("type",
                      absl::StrCat("must be ", route, " on this route"));
    }
    call.type = std::string(route);
  }
  if (call.type != "page" && call.type != "track" && call.type != "identify") {
    return in.Error("type", "must be page, track or identify");
  }
  std::optional<absl::Time> timestamp, original_timestamp;
  for (absl::Status status :
       {in.String("messageId", &call.message_id, true, kMaxIdBytes),
        in.String("anonymousId", &call.anonymous_id, false, kMaxIdBytes),
        in.String("userId", &call.user_id, false, kMaxIdBytes),
        in.Time("timestamp", &timestamp, false),
        in.Time("originalTimestamp", &original_timestamp, false),
        in.Time("sentAt", &call.sent_at, false),
        in.String("event", &call.event, call.type == "track", kMaxTextBytes),
        in.String("name", &call.name, false, kMaxTextBytes)}) {
    if (!status.ok()) return status;
  }
  if (call.anonymous_id.empty() && call.user_id.empty()) {
    return in.Error("anonymousId", "anonymousId or userId must be set");
  }
  call.happened_at = original_timestamp ? original_timestamp : timestamp;
  call.timestamp = timestamp;
  if (!call.sent_at) call.sent_at = batch_sent_at;
  for (absl::Status status :
       {ReadPage(in, call),
        call.type == "page" ? ReadPageProperties(in, call) : absl::OkStatus(),
        call.type == "identify"
            ? NestedString(in, "traits", "email", &call.email, 256)
            : absl::OkStatus(),
        call.type == "identify"
            ? NestedString(in, "traits", "phone", &call.phone, 64)
            : absl::OkStatus(),
        ReadRevenue(in, call), ReadProperties(in, "properties", options, call),
        call.type == "identify" ? ReadProperties(in, "traits", options, call)
                                : absl::OkStatus()}) {
    if (!status.ok()) return status;
  }
  CampaignFromUrl(call);
  return call;
}

}  // namespace

absl::StatusOr<SegmentBatch> ParseSegmentBody(
    absl::string_view body, absl::string_view kind,
    const SegmentParseOptions& options) {
  absl::StatusOr<json> document = ParseSegmentJson(body, kind, options);
  if (!document.ok()) return document.status();
  return ReadSegmentBatch(*document, kind, options);
}

absl::StatusOr<json> ParseSegmentJson(absl::string_view body,
                                      absl::string_view kind,
                                      const SegmentParseOptions& options) {
  // Fields are named as ReadSegmentBatch names them: "track.properties.p",
  // "batch[0].properties.p".
  return json_fields::ParseJsonBody(body,
                                    {.max_depth = options.max_json_depth,
                                     .root = kind == "batch" ? "" : kind});
}

std::string WriteKeyInBody(const json& document) {
  if (!document.is_object()) return "";
  auto it = document.find("writeKey");
  if (it == document.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

absl::StatusOr<SegmentBatch> ReadSegmentBatch(
    const json& document, absl::string_view kind,
    const SegmentParseOptions& options) {
  if (!document.is_object()) {
    return FieldError("", "body", "must be a JSON object");
  }
  SegmentBatch batch;
  JsonFields top(document, "");
  std::optional<absl::Time> sent_at;
  for (absl::Status status :
       {top.String("writeKey", &batch.write_key, false, 256),
        top.Time("sentAt", &sent_at, false)}) {
    if (!status.ok()) return status;
  }
  if (kind != "batch") {
    absl::StatusOr<SegmentCall> call =
        ReadCall(document, std::string(kind), kind, sent_at, options);
    if (!call.ok()) return call.status();
    batch.calls.push_back(*std::move(call));
    return batch;
  }
  const json* calls = top.Find("batch");
  if (calls == nullptr || !calls->is_array() || calls->empty()) {
    return FieldError("", "batch", "must be a non-empty array of calls");
  }
  if (calls->size() > options.max_calls) {
    return FieldError("", "batch",
                      absl::StrCat("has ", calls->size(),
                                   " calls; the limit is ", options.max_calls));
  }
  for (size_t i = 0; i < calls->size(); ++i) {
    absl::StatusOr<SegmentCall> call = ReadCall(
        (*calls)[i], absl::StrCat("batch[", i, "]"), kind, sent_at, options);
    if (!call.ok()) return call.status();
    batch.calls.push_back(*std::move(call));
  }
  return batch;
}

absl::StatusOr<v1::InteractionEvent> SegmentCallToEvent(
    const SegmentCall& call, const RequestContext& context,
    const identity::IdentityNormalizer& normalizer,
    const SegmentEventOptions& options) {
  v1::InteractionEvent event;
  event.set_event_id(absl::StrCat("web:", context.site, ":", call.message_id));
  event.set_source(absl::StrCat("web-adapter/", context.site));
  event.set_channel(v1::CHANNEL_WEB);

  // The browser's clock may be off; the gap between happening and sending is
  // what its clock measures reliably. A backend's clock is believed, and a
  // `timestamp` it gives is taken as given (historical imports), as
  // Segment's HTTP API does.
  absl::Time occurred = context.received_at;
  if (context.server_key && (call.timestamp || call.happened_at)) {
    occurred = call.timestamp ? *call.timestamp : *call.happened_at;
  } else if (call.happened_at && call.sent_at) {
    occurred = context.received_at - (*call.sent_at - *call.happened_at);
  } else if (call.happened_at) {
    occurred = *call.happened_at;
  }
  std::optional<google::protobuf::Timestamp> occurred_at =
      timeline::ToEventTimestamp(occurred);
  if (!occurred_at) {
    return FieldError(
        call.path, "timestamp",
        absl::StrCat("puts the event at ", absl::FormatTime(occurred), ", ",
                     timeline::kTimeOutOfRange));
  }
  *event.mutable_occurred_at() = *occurred_at;

  const auto contains = [](const std::vector<std::string>& names,
                           const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  if (call.type == "page") {
    event.set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
  } else if (call.type == "identify") {
    event.set_kind(v1::INTERACTION_KIND_IDENTIFIED);
  } else if (contains(options.purchase_events, call.event)) {
    event.set_kind(v1::INTERACTION_KIND_PURCHASE);
  } else if (contains(options.form_events, call.event)) {
    event.set_kind(v1::INTERACTION_KIND_FORM_SUBMITTED);
  } else {
    event.set_kind(v1::INTERACTION_KIND_WEB_ACTION);
  }

  const auto add_identity = [&](v1::IdentityKind kind, const std::string& value,
                                absl::string_view field) -> absl::Status {
    if (value.empty()) return absl::OkStatus();
    absl::StatusOr<std::string> normalized = normalizer.Normalize(kind, value);
    if (!normalized.ok()) {
      return FieldError(call.path, field, normalized.status().message());
    }
    v1::Identity* identity = event.add_identities();
    identity->set_kind(kind);
    identity->set_value(*normalized);
    // Anyone can send anything with a client key; only the anonymous id is
    // the browser's own.
    identity->set_unverified(!context.server_key &&
                             kind != v1::IDENTITY_KIND_WEB_ANONYMOUS_ID);
    return absl::OkStatus();
  };
  for (absl::Status status :
       {add_identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, call.anonymous_id,
                     "anonymousId"),
        add_identity(v1::IDENTITY_KIND_LOGIN_ID, call.user_id, "userId"),
        add_identity(v1::IDENTITY_KIND_EMAIL, call.email, "traits.email"),
        add_identity(v1::IDENTITY_KIND_PHONE, call.phone, "traits.phone")}) {
    if (!status.ok()) return status;
  }

  v1::WebVisitDetail* web = event.mutable_web();
  web->set_url(call.url);
  web->set_path(call.path_name);
  web->set_referrer(call.referrer);
  web->set_title(call.title.empty() ? call.name : call.title);
  web->set_user_agent(call.user_agent.empty() ? context.user_agent
                                              : call.user_agent);
  web->set_ip(context.client_ip);
  web->set_event_name(call.type == "track" ? call.event : call.name);
  if (call.campaign.ByteSizeLong() > 0)
    *web->mutable_campaign() = call.campaign;

  if (call.revenue_micros) {
    event.mutable_value()->set_amount_micros(*call.revenue_micros);
    event.mutable_value()->set_currency(call.currency);
  }
  for (const auto& [key, value] : call.properties) {
    (*event.mutable_attributes())[key] = value;
  }
  if (call.products.has_value() &&
      event.kind() == v1::INTERACTION_KIND_PURCHASE) {
    absl::StatusOr<std::vector<v1::LineItem>> items =
        line_items::LineItemsFromJson(
            *call.products, absl::StrCat(call.path, ".properties.products"),
            call.currency, options.line_items);
    if (!items.ok()) return items.status();
    for (v1::LineItem& item : *items) {
      *event.add_line_items() = std::move(item);
    }
  }
  return event;
}

}  // namespace omnihub::web

#include "services/visit_adapter/visit_record.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/csv/csv_reader.h"
#include "common/json_fields/json_fields.h"
#include "common/money/money.h"
#include "google/protobuf/util/time_util.h"

namespace omnihub::visit {
namespace {

using json_fields::FieldError;
using json_fields::JsonFields;
using nlohmann::json;

// Short enough that "visit:<store>:<visit>" stays within event id limits.
constexpr size_t kMaxIdBytes = 60;

absl::Status ReadAmount(const JsonFields& in, VisitRecord& visit) {
  const json* amount = in.Find("purchase_amount");
  if (amount == nullptr) return absl::OkStatus();
  std::string text;
  if (amount->is_string()) {
    text = amount->get<std::string>();
  } else if (amount->is_number()) {
    text = amount->dump();
  } else {
    return in.Error("purchase_amount", "must be a decimal like 12.34");
  }
  if (text.empty()) return absl::OkStatus();
  absl::StatusOr<int64_t> micros = money::ParseDecimalMicros(text);
  if (!micros.ok())
    return in.Error("purchase_amount", micros.status().message());
  visit.amount_micros = *micros;
  if (absl::Status status = in.String("currency", &visit.currency, true, 3);
      !status.ok()) {
    return in.Error("currency",
                    "must be an ISO 4217 code like EUR when purchase_amount "
                    "is given");
  }
  visit.currency = absl::AsciiStrToUpper(visit.currency);
  if (!money::IsCurrencyCode(visit.currency)) {
    return in.Error("currency", "must be an ISO 4217 code like EUR");
  }
  return absl::OkStatus();
}

// JSON visits nest identities in an object; CSV rows have them as columns.
absl::Status ReadIdentities(const JsonFields& in, bool nested,
                            VisitRecord& visit) {
  const json* object = &in.object();
  std::string path = in.path();
  if (nested) {
    object = in.Find("identities");
    if (object == nullptr || !object->is_object()) {
      return in.Error("identities",
                      "must be an object with at least one of loyalty_card, "
                      "phone, email, crm_id");
    }
    path = absl::StrCat(path, path.empty() ? "" : ".", "identities");
  }
  JsonFields identities(*object, path);
  for (absl::Status status :
       {identities.String("loyalty_card", &visit.loyalty_card, false, 128),
        identities.String("phone", &visit.phone, false, 64),
        identities.String("email", &visit.email, false, 256),
        identities.String("crm_id", &visit.crm_id, false, 128)}) {
    if (!status.ok()) return status;
  }
  if (visit.loyalty_card.empty() && visit.phone.empty() &&
      visit.email.empty() && visit.crm_id.empty()) {
    return in.Error(nested ? "identities" : "loyalty_card",
                    "at least one of loyalty_card, phone, email, crm_id "
                    "must be set");
  }
  return absl::OkStatus();
}

absl::StatusOr<VisitRecord> ReadVisit(const json& object, std::string path,
                                      std::string format, int line) {
  if (!object.is_object()) return FieldError(path, "", "must be a JSON object");
  JsonFields in(object, path);
  VisitRecord visit;
  visit.format = std::move(format);
  visit.path = std::move(path);
  visit.line = line;
  for (absl::Status status :
       {in.String("visit_id", &visit.visit_id, true, kMaxIdBytes),
        in.String("store_id", &visit.store_id, true, kMaxIdBytes),
        in.String("staff_id", &visit.staff_id, false, 128),
        in.Time("checked_in_at", &visit.checked_in_at, true),
        in.Time("checked_out_at", &visit.checked_out_at, false),
        in.String("purpose", &visit.purpose, false, 32),
        in.String("outcome", &visit.outcome, false, 256),
        in.Time("updated_at", &visit.updated_at, false), ReadAmount(in, visit),
        in.Satisfaction(&visit.satisfaction),
        ReadIdentities(in, visit.format == "json", visit)}) {
    if (!status.ok()) return status;
  }
  visit.purpose = absl::AsciiStrToLower(visit.purpose);
  if (!visit.purpose.empty() &&
      std::find(std::begin(kVisitPurposes), std::end(kVisitPurposes),
                visit.purpose) == std::end(kVisitPurposes)) {
    return in.Error(
        "purpose",
        absl::StrCat("must be one of ", absl::StrJoin(kVisitPurposes, ", ")));
  }
  if (visit.checked_out_at && *visit.checked_out_at < *visit.checked_in_at) {
    return in.Error("checked_out_at", "is before checked_in_at");
  }
  return visit;
}

// A CSV row as the JSON object a visit would be, so both formats share one
// reader and its checks. Numbers stay strings unless the field wants one.
json RowObject(const std::vector<std::string>& header,
               const std::vector<std::string>& fields) {
  json object = json::object();
  for (size_t i = 0; i < header.size() && i < fields.size(); ++i) {
    const absl::string_view value = absl::StripAsciiWhitespace(fields[i]);
    if (value.empty() || header[i].empty()) continue;
    double number = 0;
    if ((header[i] == "satisfaction" || header[i] == "satisfaction_scale") &&
        absl::SimpleAtod(value, &number)) {
      object[header[i]] = number;
    } else {
      object[header[i]] = std::string(value);
    }
  }
  return object;
}

}  // namespace

absl::StatusOr<std::vector<VisitRecord>> ParseJsonVisits(
    absl::string_view body, const VisitParseOptions& options) {
  const json document = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return FieldError("", "body", "is not valid JSON");
  }
  std::vector<VisitRecord> visits;
  if (!document.is_array()) {
    absl::StatusOr<VisitRecord> visit = ReadVisit(document, "visit", "json", 0);
    if (!visit.ok()) return visit.status();
    visits.push_back(*std::move(visit));
    return visits;
  }
  if (document.empty()) {
    return FieldError("", "body", "is an empty array: no visits");
  }
  if (document.size() > options.max_visits) {
    return FieldError(
        "", "body",
        absl::StrCat("has ", document.size(), " visits; the limit is ",
                     options.max_visits));
  }
  for (size_t i = 0; i < document.size(); ++i) {
    absl::StatusOr<VisitRecord> visit =
        ReadVisit(document[i], absl::StrCat("visits[", i, "]"), "json", 0);
    if (!visit.ok()) return visit.status();
    visits.push_back(*std::move(visit));
  }
  return visits;
}

absl::StatusOr<CsvVisits> ParseCsvVisits(absl::string_view body,
                                         const VisitParseOptions& options) {
  // Spreadsheet programs like to start UTF-8 exports with a byte order mark.
  absl::ConsumePrefix(&body, "\xEF\xBB\xBF");
  absl::StatusOr<std::vector<csv::CsvRow>> rows =
      csv::ReadCsv(body, {.max_rows = options.max_csv_rows + 1});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return FieldError("", "body", "no header row: the CSV is empty");
  }
  std::vector<std::string> header;
  for (const std::string& name : rows->front().fields) {
    header.push_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(name)));
  }
  for (const char* required : {"visit_id", "store_id", "checked_in_at"}) {
    if (std::find(header.begin(), header.end(), required) == header.end()) {
      return FieldError("", "header",
                        absl::StrCat("has no ", required, " column"));
    }
  }
  CsvVisits visits;
  for (size_t i = 1; i < rows->size(); ++i) {
    const csv::CsvRow& row = (*rows)[i];
    if (row.fields.size() > header.size()) {
      visits.bad.push_back(
          {row.line, "",
           absl::StrCat("has ", row.fields.size(), " fields; the header has ",
                        header.size())});
      continue;
    }
    absl::StatusOr<VisitRecord> visit =
        ReadVisit(RowObject(header, row.fields), "", "csv", row.line);
    if (!visit.ok()) {
      const std::string message(visit.status().message());
      visits.bad.push_back(
          {row.line, message.substr(0, message.find(": ")), message});
      continue;
    }
    visits.good.push_back(*std::move(visit));
  }
  if (visits.good.empty() && visits.bad.empty()) {
    return FieldError("", "body", "has a header but no rows");
  }
  return visits;
}

absl::StatusOr<v1::InteractionEvent> VisitToEvent(
    const VisitRecord& visit, const identity::IdentityNormalizer& normalizer) {
  v1::InteractionEvent event;
  event.set_event_id(
      absl::StrCat("visit:", visit.store_id, ":", visit.visit_id));
  event.set_source(absl::StrCat("visit-adapter/", visit.format));
  event.set_channel(v1::CHANNEL_IN_PERSON);
  event.set_kind(visit.purpose == "appointment"
                     ? v1::INTERACTION_KIND_APPOINTMENT
                     : v1::INTERACTION_KIND_STORE_VISIT);
  const auto timestamp = [](absl::Time time) {
    return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
        absl::ToUnixMicros(time));
  };
  *event.mutable_occurred_at() = timestamp(*visit.checked_in_at);

  const std::string prefix =
      visit.format == "json" ? absl::StrCat(visit.path, ".identities") : "";
  struct Given {
    v1::IdentityKind kind;
    const std::string* value;
    const char* field;
  };
  for (const Given& given :
       {Given{v1::IDENTITY_KIND_LOYALTY_CARD, &visit.loyalty_card,
              "loyalty_card"},
        Given{v1::IDENTITY_KIND_PHONE, &visit.phone, "phone"},
        Given{v1::IDENTITY_KIND_EMAIL, &visit.email, "email"},
        Given{v1::IDENTITY_KIND_CRM_ID, &visit.crm_id, "crm_id"}}) {
    if (given.value->empty()) continue;
    absl::StatusOr<std::string> value =
        normalizer.Normalize(given.kind, *given.value);
    if (!value.ok()) {
      return FieldError(prefix, given.field, value.status().message());
    }
    v1::Identity* identity = event.add_identities();
    identity->set_kind(given.kind);
    identity->set_value(*value);
  }

  v1::InPersonVisitDetail* detail = event.mutable_in_person();
  detail->set_visit_id(visit.visit_id);
  detail->set_location_id(visit.store_id);
  detail->set_staff_id(visit.staff_id);
  *detail->mutable_checked_in_at() = timestamp(*visit.checked_in_at);
  if (visit.checked_out_at) {
    *detail->mutable_checked_out_at() = timestamp(*visit.checked_out_at);
  }
  detail->set_purpose(visit.purpose);
  detail->set_outcome(visit.outcome);
  if (visit.amount_micros) {
    event.mutable_value()->set_amount_micros(*visit.amount_micros);
    event.mutable_value()->set_currency(visit.currency);
  }
  if (visit.satisfaction) event.set_satisfaction(*visit.satisfaction);
  // The store system's update time orders its records; without one, the
  // check-out record is the later, fuller one.
  event.set_revision(
      visit.updated_at
          ? static_cast<uint64_t>(absl::ToUnixMicros(*visit.updated_at))
          : (visit.checked_out_at ? 2 : 1));
  return event;
}

}  // namespace omnihub::visit

// omnihub-cli: talks to the timeline service over gRPC, JSON in and out, for
// people trying omnihub by hand and for scripts. (Debian 12 ships no grpcurl;
// the server also has reflection on, for any tool that wants it.)
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/auth/client_flags.h"
#include "common/config/env_flags.h"
#include "common/money/money.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "omnihub/v1/customer.grpc.pb.h"
#include "omnihub/v1/insights.grpc.pb.h"
#include "omnihub/v1/recommendations.grpc.pb.h"
#include "omnihub/v1/segments.grpc.pb.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "services/cli/dead_letter_commands.h"

// --hub_address, as the adapters name the same address. A flag's place in
// --help is alphabetical, so the usage text shows it first.
constexpr char kDefaultHubAddress[] = "127.0.0.1:50051";
ABSL_FLAG(std::string, hub_address, kDefaultHubAddress,
          "The timeline service (gRPC host:port).");
ABSL_FLAG(std::string, target, "",
          "Deprecated: the old name of --hub_address, still understood.");
ABSL_FLAG(int, timeout_seconds, 10, "Deadline of the call.");
ABSL_FLAG(std::string, customer_id, "", "timeline/customer: by customer id.");
ABSL_FLAG(std::string, identity, "",
          "timeline/customer: by identity, as kind:value, e.g. "
          "phone:+442071838750, email:ann@example.com, web_anonymous_id:...,"
          " login_id:..., loyalty_card:..., crm_id:...");
ABSL_FLAG(int, page_size, 0,
          "timeline, suppressions: entries per page (0: server default).");
ABSL_FLAG(std::string, page_token, "",
          "timeline, suppressions, top: next_page_token of a page.");
ABSL_FLAG(std::vector<std::string>, identities, {},
          "link: the identities to link, as kind:value,kind:value.");
ABSL_FLAG(std::string, source, "omnihub-cli",
          "link: who says the identities belong together.");
ABSL_FLAG(std::string, reason, "", "link: why.");
ABSL_FLAG(std::string, requested_by, "",
          "forget/export/lift-suppression: who asked (e.g. a ticket number), "
          "for the audit log.");
ABSL_FLAG(bool, suppress, false,
          "forget: keep refusing events that carry the erased identities "
          "(for --suppress_for, else the hub's --suppression_period).");
ABSL_FLAG(absl::Duration, suppress_for, absl::ZeroDuration(),
          "forget --suppress: how long, e.g. 8760h; 0: the hub's default.");
ABSL_FLAG(std::string, identity_hash, "",
          "lift-suppression: the identity by its hash, as suppressions "
          "lists it (instead of --identity).");
ABSL_FLAG(std::string, as_of, "",
          "insights/fit: the day to evaluate or fit as of, YYYY-MM-DD "
          "(purchases before it count); empty: today.");
ABSL_FLAG(bool, recompute, false,
          "rfm: compute the RFM boundaries and rankings now (admin).");
ABSL_FLAG(int, holdout_days, 0,
          "fit: backtest the model over this many days from --as_of.");
ABSL_FLAG(std::vector<std::string>, horizon_days, {},
          "insights: expected purchases over these horizons too (days).");
ABSL_FLAG(std::string, currency, "",
          "insights/kpis: only this currency's values.");
ABSL_FLAG(std::string, by, "historical",
          "top: rank by \"historical\" value (total spend) or "
          "\"predicted\" lifetime value.");
ABSL_FLAG(std::string, start, "",
          "kpis: first day YYYY-MM-DD; cohorts: first month YYYY-MM.");
ABSL_FLAG(std::string, end, "",
          "kpis: last day YYYY-MM-DD; cohorts: last month YYYY-MM.");
ABSL_FLAG(std::string, channel, "",
          "kpis/cohorts: only customers acquired on this channel (phone, "
          "web, in_person).");
ABSL_FLAG(int, limit, 0, "cross-sell: most candidates (0: 10).");
ABSL_FLAG(std::string, level, "product", "cross-sell: product or category.");
ABSL_FLAG(int64_t, min_customers, 0,
          "cross-sell: customers who bought both, at least (0: 2).");
ABSL_FLAG(std::string, file, "",
          "import-purchases: the CSV file (default: stdin); "
          "replay-dead-letters, erase-dead-letters: an adapter's dead-letter "
          "file.");
ABSL_FLAG(std::string, service, "",
          "health: the service to ask about (empty: the server as a whole).");
ABSL_FLAG(int, batch, 500,
          "import-purchases, replay-dead-letters: events per Ingest call.");
ABSL_FLAG(std::string, default_region, "US",
          "erase-dead-letters: region (ISO 3166) for phone numbers written "
          "without +country, as the adapter's own flag.");
ABSL_FLAG(std::string, name, "",
          "segment, segment-members, segment-sizes, segment-delete: the "
          "segment's name; top: only the members of this segment.");
ABSL_FLAG(int, days, 0, "segment-sizes: days of history (default 30).");
ABSL_FLAG(int64_t, expected_version, 0,
          "segment-update: change only if the segment is at this version.");

namespace {

// The flags library puts the program's name in front of this.
constexpr char kUsage[] =
    "calls the omnihub timeline service.\n\n"
    "  --hub_address=host:port  the timeline service, 127.0.0.1:50051 unless\n"
    "                           set (--target is its old name)\n"
    "  --token_file=path        a secured hub: the bearer token's file\n"
    "  --tls_ca_file=path       ... and its CA, for TLS (scripts/run.sh\n"
    "                           writes both to .omnihub/)\n\n"
    "  omnihub-cli health [--service=omnihub.v1.TimelineService]\n"
    "      exit status 0 while the hub is SERVING (while Redis is reachable),\n"
    "      3 when it answers otherwise, 1 when it does not answer\n"
    "  omnihub-cli ingest < request.json    IngestRequest as JSON on stdin\n"
    "  omnihub-cli timeline --identity=phone:+442071838750 [--page_size=N]\n"
    "  omnihub-cli customer --identity=email:ann@example.com\n"
    "  omnihub-cli customer --customer_id=c...\n"
    "  omnihub-cli resolve --identity=phone:+442071838750\n"
    "  omnihub-cli link --identities=email:ann@example.com,phone:+44...\n"
    "      [--source=crm --reason=...]\n"
    "  omnihub-cli merges --identity=...      the customer's merge log\n"
    "  omnihub-cli forget --identity=... --requested_by=ticket-42\n"
    "      [--suppress [--suppress_for=8760h]]  and refuse the person's\n"
    "      identities in later events for a while\n"
    "  omnihub-cli suppressions [--page_size=N --page_token=...]\n"
    "  omnihub-cli check-suppression --identity=email:ann@example.com\n"
    "  omnihub-cli lift-suppression --identity=... (or --identity_hash=...)\n"
    "      --requested_by=ticket-43\n"
    "  omnihub-cli export --identity=... --requested_by=ticket-42\n"
    "  omnihub-cli import-purchases --file=purchases.csv --source=erp\n"
    "      CSV rows identity,date,amount,currency (kind:value, YYYY-MM-DD or\n"
    "      RFC 3339, 12.34, EUR); a header row is skipped\n"
    "  omnihub-cli insights --identity=... [--as_of=YYYY-MM-DD]\n"
    "      [--horizon_days=273] [--currency=EUR]\n"
    "  omnihub-cli model                      the purchase model in use\n"
    "  omnihub-cli fit [--as_of=YYYY-MM-DD --holdout_days=N]\n"
    "  omnihub-cli kpis --start=YYYY-MM-DD --end=YYYY-MM-DD [--channel=web]\n"
    "  omnihub-cli cohorts --start=YYYY-MM --end=YYYY-MM [--channel=web]\n"
    "  omnihub-cli segment-create --file=segment.json   a Segment as JSON\n"
    "      (name, description, condition); see the README's Segments\n"
    "  omnihub-cli segment-update --file=segment.json [--expected_version=N]\n"
    "  omnihub-cli segments | segment --name=... | segment-delete --name=...\n"
    "  omnihub-cli segment-members --name=... [--page_size=N --page_token=]\n"
    "  omnihub-cli segment-sizes --name=... [--days=30]\n"
    "  omnihub-cli customer-segments --identity=...   its segments, since\n"
    "      when, and its recent entries and exits\n"
    "  omnihub-cli rfm                        RFM boundaries, customers per\n"
    "      segment; with --identity=...: that customer's RFM scores;\n"
    "      with --recompute: computes them now from every customer\n"
    "  omnihub-cli top --currency=EUR [--by=historical|predicted]\n"
    "      [--name=SEGMENT --page_size=N --page_token=...]  the most\n"
    "      valuable customers (with --name: of that segment)\n"
    "  omnihub-cli cross-sell --identity=... [--level=product|category]\n"
    "      [--limit=10 --min_customers=2]  what customers who bought what\n"
    "      this one bought also bought, with support, confidence and lift\n"
    "  omnihub-cli replay-dead-letters --file=<spool>/dead-letters.jsonl\n"
    "      sends an adapter's dead letters again; what the hub takes (or\n"
    "      already has) leaves the file\n"
    "  omnihub-cli erase-dead-letters --file=... --identity=...\n"
    "      removes the person's dead letters (before forget: the hub is\n"
    "      asked for the person's other identities)\n\n"
    "Prints the response as JSON. Exit status: 0 OK, 1 the call failed, 2 "
    "bad usage, 3 (health) the hub is not SERVING.";

// --hub_address, or the deprecated --target when only it was given; empty
// (and a message) when both were given, differently.
std::string HubAddress() {
  const std::string hub_address = absl::GetFlag(FLAGS_hub_address);
  const std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty() || target == hub_address) return hub_address;
  if (hub_address != kDefaultHubAddress) {
    std::cerr << "--target is the old name of --hub_address; give only "
                 "--hub_address\n";
    return "";
  }
  std::cerr << "warning: --target is deprecated; use --hub_address\n";
  return target;
}

int Fail(const grpc::Status& status) {
  std::cerr << "error: " << status.error_code() << " " << status.error_message()
            << "\n";
  return 1;
}

int Print(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
  return 0;
}

bool ParseIdentity(const std::string& text, omnihub::v1::Identity* identity) {
  std::pair<std::string, std::string> kind_value =
      absl::StrSplit(text, absl::MaxSplits(':', 1));
  static const std::pair<const char*, omnihub::v1::IdentityKind> kKinds[] = {
      {"phone", omnihub::v1::IDENTITY_KIND_PHONE},
      {"email", omnihub::v1::IDENTITY_KIND_EMAIL},
      {"web_anonymous_id", omnihub::v1::IDENTITY_KIND_WEB_ANONYMOUS_ID},
      {"login_id", omnihub::v1::IDENTITY_KIND_LOGIN_ID},
      {"loyalty_card", omnihub::v1::IDENTITY_KIND_LOYALTY_CARD},
      {"crm_id", omnihub::v1::IDENTITY_KIND_CRM_ID},
  };
  for (const auto& [name, kind] : kKinds) {
    if (kind_value.first == name) {
      identity->set_kind(kind);
      identity->set_value(kind_value.second);
      return true;
    }
  }
  std::cerr << "\"" << text << "\" is not kind:value (kinds: phone, email, "
            << "web_anonymous_id, login_id, loyalty_card, crm_id)\n";
  return false;
}

bool Selector(omnihub::v1::CustomerSelector* selector) {
  const std::string id = absl::GetFlag(FLAGS_customer_id);
  if (!id.empty()) {
    selector->set_customer_id(id);
    return true;
  }
  const std::string identity = absl::GetFlag(FLAGS_identity);
  if (identity.empty()) {
    std::cerr << "give --customer_id=... or --identity=kind:value\n";
    return false;
  }
  return ParseIdentity(identity, selector->mutable_identity());
}

// Calls one unary method of CustomerService and prints its answer.
template <typename Request, typename Response>
int CallCustomerService(
    omnihub::v1::CustomerService::Stub& stub, grpc::ClientContext& context,
    const Request& request,
    grpc::Status (omnihub::v1::CustomerService::Stub::*method)(
        grpc::ClientContext*, const Request&, Response*)) {
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  return status.ok() ? Print(response) : Fail(status);
}

// A day "YYYY-MM-DD" as the timestamp of its 00:00 UTC; false when it is
// not one.
bool ParseDay(const std::string& text, google::protobuf::Timestamp* out) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) {
    std::cerr << "\"" << text << "\" is not a date YYYY-MM-DD\n";
    return false;
  }
  out->set_seconds(
      absl::ToUnixSeconds(absl::FromCivil(day, absl::UTCTimeZone())));
  return true;
}

omnihub::v1::Channel ParseChannel(const std::string& text, bool* ok) {
  *ok = true;
  if (text.empty()) return omnihub::v1::CHANNEL_UNSPECIFIED;
  if (text == "phone") return omnihub::v1::CHANNEL_PHONE;
  if (text == "web") return omnihub::v1::CHANNEL_WEB;
  if (text == "in_person") return omnihub::v1::CHANNEL_IN_PERSON;
  std::cerr << "--channel must be phone, web or in_person\n";
  *ok = false;
  return omnihub::v1::CHANNEL_UNSPECIFIED;
}

// One CSV row of import-purchases as a PURCHASE event; false (and a message
// naming the line) when it is not one.
bool PurchaseFromRow(const std::string& row, int line,
                     const std::string& source,
                     omnihub::v1::InteractionEvent* event) {
  std::vector<std::string> columns = absl::StrSplit(row, ',');
  for (std::string& column : columns) {
    column = std::string(absl::StripAsciiWhitespace(column));
  }
  auto fail = [&](const std::string& why) {
    std::cerr << "line " << line << ": " << why << ": " << row << "\n";
    return false;
  };
  if (columns.size() != 4) return fail("want identity,date,amount,currency");
  if (!ParseIdentity(columns[0], event->add_identities())) {
    return fail("not an identity");
  }
  absl::Time at;
  absl::CivilDay day;
  std::string error;
  if (absl::ParseCivilTime(columns[1], &day)) {
    // A date alone: noon UTC, well inside the day whatever the zone.
    at = absl::FromCivil(day, absl::UTCTimeZone()) + absl::Hours(12);
  } else if (!absl::ParseTime(absl::RFC3339_full, columns[1], &at, &error)) {
    return fail("the date is neither YYYY-MM-DD nor RFC 3339");
  }
  absl::StatusOr<int64_t> micros =
      omnihub::money::ParseDecimalMicros(columns[2]);
  if (!micros.ok()) return fail(std::string(micros.status().message()));
  if (!omnihub::money::IsCurrencyCode(columns[3])) {
    return fail("the currency is not an ISO 4217 code");
  }
  event->set_event_id(absl::StrCat(source, ":", line));
  event->mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(at));
  event->set_channel(omnihub::v1::CHANNEL_IN_PERSON);
  event->set_kind(omnihub::v1::INTERACTION_KIND_PURCHASE);
  event->set_source(source);
  event->mutable_value()->set_amount_micros(*micros);
  event->mutable_value()->set_currency(columns[3]);
  return true;
}

// Sends the purchases of a CSV in batches; prints a summary. Event ids are
// the source and the line number, so importing the same file again changes
// nothing.
int ImportPurchases(omnihub::v1::TimelineService::Stub& stub) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (!absl::GetFlag(FLAGS_file).empty()) {
    file.open(absl::GetFlag(FLAGS_file));
    if (!file) {
      std::cerr << "cannot read " << absl::GetFlag(FLAGS_file) << "\n";
      return 2;
    }
    in = &file;
  }
  const std::string source = absl::GetFlag(FLAGS_source);
  std::map<std::string, int64_t> counts;
  omnihub::v1::IngestRequest request;
  auto send = [&]() {
    if (request.events_size() == 0) return true;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    omnihub::v1::IngestResponse response;
    grpc::Status status = stub.Ingest(&context, request, &response);
    if (!status.ok()) {
      Fail(status);
      return false;
    }
    for (const omnihub::v1::IngestResult& result : response.results()) {
      ++counts[omnihub::v1::IngestResult::Status_Name(result.status())];
      if (result.status() == omnihub::v1::IngestResult::STATUS_REJECTED) {
        std::cerr << result.event_id() << ": " << result.field() << ": "
                  << result.reason() << "\n";
      }
    }
    request.clear_events();
    return true;
  };
  std::string row;
  int line = 0;
  while (std::getline(*in, row)) {
    ++line;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    if (absl::StripAsciiWhitespace(row).empty()) continue;
    if (line == 1 && absl::StartsWith(row, "identity")) continue;  // header
    if (!PurchaseFromRow(row, line, source, request.add_events())) return 2;
    if (request.events_size() >= absl::GetFlag(FLAGS_batch) && !send()) {
      return 1;
    }
  }
  if (!send()) return 1;
  for (const auto& [name, count] : counts) {
    std::cout << name << " " << count << "\n";
  }
  return 0;
}

// The InsightsService commands; -1 when `command` is none of them, else the
// exit status.
int InsightsCommand(const std::string& command,
                    const std::shared_ptr<grpc::Channel>& channel,
                    grpc::ClientContext& context) {
  using omnihub::v1::InsightsService;
  auto stub = InsightsService::NewStub(channel);
  auto call = [&](const auto& request, auto method, auto* response) {
    grpc::Status status = ((*stub).*method)(&context, request, response);
    return status.ok() ? Print(*response) : Fail(status);
  };
  if (command == "insights") {
    omnihub::v1::GetCustomerInsightsRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    if (!absl::GetFlag(FLAGS_as_of).empty() &&
        !ParseDay(absl::GetFlag(FLAGS_as_of), request.mutable_as_of())) {
      return 2;
    }
    for (const std::string& text : absl::GetFlag(FLAGS_horizon_days)) {
      int days = 0;
      if (!absl::SimpleAtoi(text, &days)) {
        std::cerr << "--horizon_days: \"" << text << "\" is not a number\n";
        return 2;
      }
      request.add_horizon_days(days);
    }
    request.set_currency(absl::GetFlag(FLAGS_currency));
    omnihub::v1::CustomerInsights response;
    return call(request, &InsightsService::Stub::GetCustomerInsights,
                &response);
  }
  if (command == "model") {
    omnihub::v1::PurchaseModel response;
    return call(omnihub::v1::GetPurchaseModelRequest(),
                &InsightsService::Stub::GetPurchaseModel, &response);
  }
  if (command == "fit") {
    omnihub::v1::FitPurchaseModelRequest request;
    if (!absl::GetFlag(FLAGS_as_of).empty() &&
        !ParseDay(absl::GetFlag(FLAGS_as_of), request.mutable_as_of())) {
      return 2;
    }
    request.set_holdout_days(absl::GetFlag(FLAGS_holdout_days));
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::minutes(10));
    omnihub::v1::PurchaseModel response;
    return call(request, &InsightsService::Stub::FitPurchaseModel, &response);
  }
  if (command == "rfm") {
    if (absl::GetFlag(FLAGS_recompute)) {
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::minutes(10));
      omnihub::v1::RfmSummary response;
      return call(omnihub::v1::ComputeRfmRequest(),
                  &InsightsService::Stub::ComputeRfm, &response);
    }
    if (absl::GetFlag(FLAGS_identity).empty() &&
        absl::GetFlag(FLAGS_customer_id).empty()) {
      omnihub::v1::RfmSummary response;
      return call(omnihub::v1::GetRfmSummaryRequest(),
                  &InsightsService::Stub::GetRfmSummary, &response);
    }
    omnihub::v1::GetCustomerInsightsRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    omnihub::v1::CustomerInsights insights;
    grpc::Status status =
        stub->GetCustomerInsights(&context, request, &insights);
    if (!status.ok()) return Fail(status);
    if (!insights.has_rfm()) {
      std::cerr << "no RFM scores: " << insights.rfm_unavailable() << "\n";
      return 1;
    }
    return Print(insights.rfm());
  }
  if (command == "top") {
    omnihub::v1::ListTopCustomersRequest request;
    request.set_currency(absl::GetFlag(FLAGS_currency));
    const std::string by = absl::GetFlag(FLAGS_by);
    if (by == "historical") {
      request.set_by(
          omnihub::v1::ListTopCustomersRequest::RANKED_BY_HISTORICAL_VALUE);
    } else if (by == "predicted") {
      request.set_by(
          omnihub::v1::ListTopCustomersRequest::RANKED_BY_PREDICTED_VALUE);
    } else {
      std::cerr << "--by: \"" << by
                << "\" is neither historical nor predicted\n";
      return 2;
    }
    request.set_limit(absl::GetFlag(FLAGS_page_size));
    request.set_page_token(absl::GetFlag(FLAGS_page_token));
    request.set_segment(absl::GetFlag(FLAGS_name));
    omnihub::v1::ListTopCustomersResponse response;
    return call(request, &InsightsService::Stub::ListTopCustomers, &response);
  }
  if (command == "kpis" || command == "cohorts") {
    bool ok = false;
    const omnihub::v1::Channel acquired =
        ParseChannel(absl::GetFlag(FLAGS_channel), &ok);
    if (!ok) return 2;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::minutes(10));
    if (command == "kpis") {
      omnihub::v1::GetKpisRequest request;
      request.set_start_date(absl::GetFlag(FLAGS_start));
      request.set_end_date(absl::GetFlag(FLAGS_end));
      request.set_acquisition_channel(acquired);
      request.set_currency(absl::GetFlag(FLAGS_currency));
      omnihub::v1::GetKpisResponse response;
      return call(request, &InsightsService::Stub::GetKpis, &response);
    }
    omnihub::v1::GetCohortsRequest request;
    request.set_start_month(absl::GetFlag(FLAGS_start));
    request.set_end_month(absl::GetFlag(FLAGS_end));
    request.set_acquisition_channel(acquired);
    omnihub::v1::GetCohortsResponse response;
    return call(request, &InsightsService::Stub::GetCohorts, &response);
  }
  return -1;
}

// A Segment from the JSON file --file (protobuf's JSON mapping; a field it
// does not know is an error).
bool ReadSegmentFile(omnihub::v1::Segment* segment) {
  const std::string path = absl::GetFlag(FLAGS_file);
  if (path.empty()) {
    std::cerr << "needs --file=segment.json\n";
    return false;
  }
  std::ifstream in(path);
  if (!in) {
    std::cerr << "--file: cannot read " << path << "\n";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto parsed =
      google::protobuf::util::JsonStringToMessage(text.str(), segment);
  if (!parsed.ok()) {
    std::cerr << path << ": not a Segment: " << parsed.message() << "\n";
    return false;
  }
  return true;
}

// The SegmentService commands; -1 when `command` is none of them, else the
// exit status.
int SegmentCommand(const std::string& command,
                   const std::shared_ptr<grpc::Channel>& channel,
                   grpc::ClientContext& context) {
  using omnihub::v1::SegmentService;
  auto stub = SegmentService::NewStub(channel);
  auto call = [&](const auto& request, auto method, auto* response) {
    grpc::Status status = ((*stub).*method)(&context, request, response);
    return status.ok() ? Print(*response) : Fail(status);
  };
  omnihub::v1::Segment segment;
  if (command == "segment-create") {
    omnihub::v1::CreateSegmentRequest request;
    if (!ReadSegmentFile(request.mutable_segment())) return 2;
    return call(request, &SegmentService::Stub::CreateSegment, &segment);
  }
  if (command == "segment-update") {
    omnihub::v1::UpdateSegmentRequest request;
    if (!ReadSegmentFile(request.mutable_segment())) return 2;
    request.set_expected_version(absl::GetFlag(FLAGS_expected_version));
    return call(request, &SegmentService::Stub::UpdateSegment, &segment);
  }
  if (command == "segments") {
    omnihub::v1::ListSegmentsResponse response;
    return call(omnihub::v1::ListSegmentsRequest(),
                &SegmentService::Stub::ListSegments, &response);
  }
  if (command == "segment") {
    omnihub::v1::GetSegmentRequest request;
    request.set_name(absl::GetFlag(FLAGS_name));
    return call(request, &SegmentService::Stub::GetSegment, &segment);
  }
  if (command == "segment-delete") {
    omnihub::v1::DeleteSegmentRequest request;
    request.set_name(absl::GetFlag(FLAGS_name));
    omnihub::v1::DeleteSegmentResponse response;
    return call(request, &SegmentService::Stub::DeleteSegment, &response);
  }
  if (command == "segment-members") {
    omnihub::v1::ListSegmentMembersRequest request;
    request.set_name(absl::GetFlag(FLAGS_name));
    request.set_page_size(absl::GetFlag(FLAGS_page_size));
    request.set_page_token(absl::GetFlag(FLAGS_page_token));
    omnihub::v1::ListSegmentMembersResponse response;
    return call(request, &SegmentService::Stub::ListSegmentMembers, &response);
  }
  if (command == "segment-sizes") {
    omnihub::v1::GetSegmentSizesRequest request;
    request.set_name(absl::GetFlag(FLAGS_name));
    request.set_days(absl::GetFlag(FLAGS_days));
    omnihub::v1::GetSegmentSizesResponse response;
    return call(request, &SegmentService::Stub::GetSegmentSizes, &response);
  }
  if (command == "customer-segments") {
    omnihub::v1::GetCustomerSegmentsRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    omnihub::v1::GetCustomerSegmentsResponse response;
    return call(request, &SegmentService::Stub::GetCustomerSegments, &response);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = omnihub::config::ParseFlags(argc, argv, kUsage);
  if (args.size() != 2) {
    std::cerr << "omnihub-cli: " << kUsage << "\n";
    return 2;
  }
  const std::string command = args[1];
  const std::string hub_address = HubAddress();
  if (hub_address.empty()) return 2;
  absl::StatusOr<omnihub::auth::ClientSecurity> security =
      omnihub::auth::ClientSecurityFromFlags();
  if (!security.ok()) {
    std::cerr << security.status().message() << "\n";
    return 2;
  }
  auto channel = omnihub::auth::CreateHubChannel(hub_address, *security);
  auto stub = omnihub::v1::TimelineService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::seconds(absl::GetFlag(FLAGS_timeout_seconds)));

  // The standard grpc.health.v1 check, for the container image's
  // HEALTHCHECK: Debian ships no grpc_health_probe.
  if (command == "health") {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(absl::GetFlag(FLAGS_service));
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
        &context, request, &response);
    if (!status.ok()) return Fail(status);
    std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                     response.status())
              << "\n";
    // 3, not 1: the hub answered. A liveness probe restarts a hub that does
    // not answer (1), not one waiting for Redis to come back (3).
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
               ? 0
               : 3;
  }
  if (command == "ingest") {
    const std::string json((std::istreambuf_iterator<char>(std::cin)),
                           std::istreambuf_iterator<char>());
    omnihub::v1::IngestRequest request;
    auto parsed = google::protobuf::util::JsonStringToMessage(json, &request);
    if (!parsed.ok()) {
      std::cerr << "stdin is not an IngestRequest in JSON: " << parsed << "\n";
      return 2;
    }
    omnihub::v1::IngestResponse response;
    grpc::Status status = stub->Ingest(&context, request, &response);
    return status.ok() ? Print(response) : Fail(status);
  }
  if (command == "timeline") {
    omnihub::v1::GetTimelineRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    request.set_page_size(absl::GetFlag(FLAGS_page_size));
    request.set_page_token(absl::GetFlag(FLAGS_page_token));
    omnihub::v1::GetTimelineResponse response;
    grpc::Status status = stub->GetTimeline(&context, request, &response);
    return status.ok() ? Print(response) : Fail(status);
  }
  if (command == "customer") {
    omnihub::v1::GetCustomerRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    omnihub::v1::GetCustomerResponse response;
    grpc::Status status = stub->GetCustomer(&context, request, &response);
    return status.ok() ? Print(response) : Fail(status);
  }
  auto customers = omnihub::v1::CustomerService::NewStub(channel);
  using omnihub::v1::CustomerService;
  if (command == "resolve") {
    omnihub::v1::ResolveCustomerRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    return CallCustomerService(*customers, context, request,
                               &CustomerService::Stub::ResolveCustomer);
  }
  if (command == "link") {
    omnihub::v1::LinkIdentitiesRequest request;
    for (const std::string& text : absl::GetFlag(FLAGS_identities)) {
      if (!ParseIdentity(text, request.add_identities())) return 2;
    }
    request.set_source(absl::GetFlag(FLAGS_source));
    request.set_reason(absl::GetFlag(FLAGS_reason));
    return CallCustomerService(*customers, context, request,
                               &CustomerService::Stub::LinkIdentities);
  }
  if (command == "merges") {
    omnihub::v1::GetMergeLogRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    return CallCustomerService(*customers, context, request,
                               &CustomerService::Stub::GetMergeLog);
  }
  if (command == "forget") {
    omnihub::v1::ForgetCustomerRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    request.set_requested_by(absl::GetFlag(FLAGS_requested_by));
    request.set_suppress(absl::GetFlag(FLAGS_suppress));
    const absl::Duration suppress_for = absl::GetFlag(FLAGS_suppress_for);
    if (suppress_for != absl::ZeroDuration()) {
      const int64_t nanos = absl::ToInt64Nanoseconds(suppress_for);
      request.mutable_suppress_for()->set_seconds(nanos / 1'000'000'000);
      request.mutable_suppress_for()->set_nanos(
          static_cast<int32_t>(nanos % 1'000'000'000));
    }
    return CallCustomerService(*customers, context, request,
                               &CustomerService::Stub::ForgetCustomer);
  }
  if (command == "suppressions") {
    omnihub::v1::ListSuppressionsRequest request;
    request.set_page_size(absl::GetFlag(FLAGS_page_size));
    request.set_page_token(absl::GetFlag(FLAGS_page_token));
    return CallCustomerService(*customers, context, request,
                               &CustomerService::Stub::ListSuppressions);
  }
  if (command == "check-suppression") {
    omnihub::v1::CheckSuppressionRequest request;
    if (absl::GetFlag(FLAGS_identity).empty()) {
      std::cerr << "check-suppression needs --identity=kind:value\n";
      return 2;
    }
    if (!ParseIdentity(absl::GetFlag(FLAGS_identity),
                       request.mutable_identity())) {
      return 2;
    }
    return CallCustomerService(*customers, context, request,
                               &CustomerService::Stub::CheckSuppression);
  }
  if (command == "lift-suppression") {
    omnihub::v1::LiftSuppressionRequest request;
    const std::string identity = absl::GetFlag(FLAGS_identity);
    const std::string hash = absl::GetFlag(FLAGS_identity_hash);
    if (identity.empty() == hash.empty()) {
      std::cerr << "lift-suppression needs --identity=kind:value or "
                   "--identity_hash=..., not both\n";
      return 2;
    }
    if (!hash.empty()) {
      request.set_identity_hash(hash);
    } else if (!ParseIdentity(identity, request.mutable_identity())) {
      return 2;
    }
    request.set_requested_by(absl::GetFlag(FLAGS_requested_by));
    return CallCustomerService(*customers, context, request,
                               &CustomerService::Stub::LiftSuppression);
  }
  if (command == "export") {
    omnihub::v1::ExportCustomerRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    request.set_requested_by(absl::GetFlag(FLAGS_requested_by));
    omnihub::v1::ExportCustomerResponse response;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    grpc::Status status =
        customers->ExportCustomer(&context, request, &response);
    if (!status.ok()) return Fail(status);
    std::cout << response.json() << "\n";
    return 0;
  }
  if (command == "import-purchases") return ImportPurchases(*stub);
  if (command == "replay-dead-letters") {
    return omnihub::cli::ReplayDeadLetters(*stub, absl::GetFlag(FLAGS_file),
                                           absl::GetFlag(FLAGS_batch));
  }
  if (command == "erase-dead-letters") {
    omnihub::v1::Identity identity;
    if (absl::GetFlag(FLAGS_identity).empty()) {
      std::cerr << "erase-dead-letters needs --identity=kind:value\n";
      return 2;
    }
    if (!ParseIdentity(absl::GetFlag(FLAGS_identity), &identity)) return 2;
    return omnihub::cli::EraseDeadLetters(*stub, absl::GetFlag(FLAGS_file),
                                          identity,
                                          absl::GetFlag(FLAGS_default_region));
  }
  if (const int status = InsightsCommand(command, channel, context);
      status >= 0) {
    return status;
  }
  if (const int status = SegmentCommand(command, channel, context);
      status >= 0) {
    return status;
  }
  if (command == "cross-sell") {
    omnihub::v1::GetCrossSellCandidatesRequest request;
    if (!Selector(request.mutable_customer())) return 2;
    const std::string level = absl::GetFlag(FLAGS_level);
    if (level == "product") {
      request.set_level(omnihub::v1::CROSS_SELL_LEVEL_PRODUCT);
    } else if (level == "category") {
      request.set_level(omnihub::v1::CROSS_SELL_LEVEL_CATEGORY);
    } else {
      std::cerr << "--level: must be product or category, not \"" << level
                << "\"\n";
      return 2;
    }
    request.set_limit(absl::GetFlag(FLAGS_limit));
    request.set_min_customers(absl::GetFlag(FLAGS_min_customers));
    auto recommendations = omnihub::v1::RecommendationService::NewStub(channel);
    omnihub::v1::GetCrossSellCandidatesResponse response;
    grpc::Status status =
        recommendations->GetCrossSellCandidates(&context, request, &response);
    return status.ok() ? Print(response) : Fail(status);
  }
  std::cerr << "unknown command \"" << command << "\"\n\n"
            << "omnihub-cli: " << kUsage << "\n";
  return 2;
}

// omnihub-cli: talks to the timeline service over gRPC, JSON in and out, for
// people trying omnihub by hand and for scripts. (Debian 12 ships no grpcurl;
// the server also has reflection on, for any tool that wants it.)
#include <iostream>
#include <iterator>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/strings/str_split.h"
#include "common/config/env_flags.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "omnihub/v1/customer.grpc.pb.h"
#include "omnihub/v1/timeline.grpc.pb.h"

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
ABSL_FLAG(int, page_size, 0, "timeline: events per page (0: server default).");
ABSL_FLAG(std::string, page_token, "", "timeline: next_page_token of a page.");
ABSL_FLAG(std::vector<std::string>, identities, {},
          "link: the identities to link, as kind:value,kind:value.");
ABSL_FLAG(std::string, source, "omnihub-cli",
          "link: who says the identities belong together.");
ABSL_FLAG(std::string, reason, "", "link: why.");
ABSL_FLAG(std::string, requested_by, "",
          "forget/export: who asked (e.g. a ticket number), for the audit "
          "log.");

namespace {

// The flags library puts the program's name in front of this.
constexpr char kUsage[] =
    "calls the omnihub timeline service.\n\n"
    "  --hub_address=host:port  the timeline service, 127.0.0.1:50051 unless\n"
    "                           set (--target is its old name)\n\n"
    "  omnihub-cli ingest < request.json    IngestRequest as JSON on stdin\n"
    "  omnihub-cli timeline --identity=phone:+442071838750 [--page_size=N]\n"
    "  omnihub-cli customer --identity=email:ann@example.com\n"
    "  omnihub-cli customer --customer_id=c...\n"
    "  omnihub-cli resolve --identity=phone:+442071838750\n"
    "  omnihub-cli link --identities=email:ann@example.com,phone:+44...\n"
    "      [--source=crm --reason=...]\n"
    "  omnihub-cli merges --identity=...      the customer's merge log\n"
    "  omnihub-cli forget --identity=... --requested_by=ticket-42\n"
    "  omnihub-cli export --identity=... --requested_by=ticket-42\n\n"
    "Prints the response as JSON. Exit status: 0 OK, 1 the call failed, 2 "
    "bad usage.";

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
  auto channel =
      grpc::CreateChannel(hub_address, grpc::InsecureChannelCredentials());
  auto stub = omnihub::v1::TimelineService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::seconds(absl::GetFlag(FLAGS_timeout_seconds)));

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
    return CallCustomerService(*customers, context, request,
                               &CustomerService::Stub::ForgetCustomer);
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
  std::cerr << "unknown command \"" << command << "\"\n\n"
            << "omnihub-cli: " << kUsage << "\n";
  return 2;
}

// omnihub-chaos: the two halves of scripts/chaos.sh.
//
//   omnihub-chaos drive --web=127.0.0.1:8082 --phone=... --visit=...
//       --rate=60 --duration=60s --accepted=accepted.tsv
// sends records to the three adapters at a steady rate, as a source would:
// a record that is not answered 202 (the adapter was down, or said 503) is
// sent again until it is. Each record answered 202 is written to --accepted
// with its event id and one identity of its customer.
//
//   omnihub-chaos check --hub=127.0.0.1:50051 --accepted=accepted.tsv
// then finds every accepted record on the hub: each must be on exactly one
// customer's timeline, once, and every customer's single view must agree with
// a recomputation from its timeline. Exit code 1 when anything is lost,
// doubled or wrong.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/timeline.grpc.pb.h"

ABSL_FLAG(std::string, web, "127.0.0.1:8082", "drive: the web adapter.");
ABSL_FLAG(std::string, phone, "127.0.0.1:8081", "drive: the phone adapter.");
ABSL_FLAG(std::string, visit, "127.0.0.1:8083", "drive: the visit adapter.");
ABSL_FLAG(std::string, write_key, "chaos-key",
          "drive: the web adapter's write key (its site is --site).");
ABSL_FLAG(std::string, site, "chaos", "drive: the site of --write_key.");
ABSL_FLAG(double, rate, 60, "drive: records per second, over all adapters.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(60), "drive: how long.");
ABSL_FLAG(absl::Duration, give_up_after, absl::Seconds(60),
          "drive: how long past --duration to keep re-sending a record that "
          "was not accepted yet.");
ABSL_FLAG(int, customers, 200, "drive: the customers records spread over.");
ABSL_FLAG(std::string, run_id, "",
          "drive: prefix of every id (default: the start time), so runs "
          "against one store do not collide.");
ABSL_FLAG(std::string, accepted, "accepted.tsv",
          "The accepted records: drive appends, check reads.");
ABSL_FLAG(std::string, hub, "127.0.0.1:50051", "check: the hub.");

namespace {

namespace v1 = omnihub::v1;

struct Record {
  std::string path;  // on the adapter
  std::string body;  // JSON
  std::string event_id;
  std::string identity_kind;  // one identity of the customer, to find it
  std::string identity_value;
};

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

// Spanish mobile numbers, one per customer.
std::string PhoneOf(int customer) {
  return absl::StrFormat("+346%08d", 10000000 + customer);
}

class Driver {
 public:
  Driver(std::string run_id, int customers, std::ofstream& accepted)
      : run_id_(std::move(run_id)),
        customers_(customers),
        accepted_(accepted) {}

  // The n-th record for each adapter. Web records are page views, purchases
  // and identify calls that tie the visitor to the phone number (merges);
  // visits tie the loyalty card to the phone number too.
  Record WebRecord(int64_t n, int customer, absl::BitGen& random) {
    const std::string message_id = absl::StrCat(run_id_, "-w", n);
    const std::string anonymous_id = absl::StrCat(run_id_, "-a", customer);
    nlohmann::json call = {{"writeKey", absl::GetFlag(FLAGS_write_key)},
                           {"messageId", message_id},
                           {"anonymousId", anonymous_id}};
    std::string kind;
    const int dice = absl::Uniform(random, 0, 10);
    if (dice < 2) {
      kind = "identify";
      call["traits"] = {
          {"email", absl::StrCat("c", customer, "@chaos.example")},
          {"phone", PhoneOf(customer)}};
    } else if (dice < 5) {
      kind = "track";
      call["event"] = "Order Completed";
      call["properties"] = {{"revenue", 19.99}, {"currency", "EUR"}};
    } else {
      kind = "page";
      call["properties"] = {
          {"url", absl::StrCat("https://chaos.example/p/", dice)}};
    }
    return {.path = absl::StrCat("/v1/", kind),
            .body = call.dump(),
            .event_id = absl::StrCat("web:", absl::GetFlag(FLAGS_site), ":",
                                     message_id),
            .identity_kind = "web_anonymous_id",
            .identity_value = anonymous_id};
  }

  Record PhoneRecord(int64_t n, int customer, absl::BitGen& random) {
    const std::string call_id = absl::StrCat(run_id_, "-p", n);
    const absl::Time now = absl::Now();
    const bool answered = absl::Bernoulli(random, 0.8);
    nlohmann::json call = {
        {"call_id", call_id},
        {"direction", "inbound"},
        {"caller", PhoneOf(customer)},
        {"callee", "200"},
        {"started_at", Rfc3339(now - absl::Seconds(30))},
        {"ended_at", Rfc3339(now)},
        {"duration_seconds", 30},
        {"disposition", answered ? "answered" : "no_answer"}};
    if (answered) {
      call["answered_at"] = Rfc3339(now - absl::Seconds(25));
      call["billable_seconds"] = 25;
      call["satisfaction"] = absl::Uniform(random, 0, 11);
    }
    return {.path = "/v1/calls",
            .body = call.dump(),
            .event_id = absl::StrCat("call:json:", call_id),
            .identity_kind = "phone",
            .identity_value = PhoneOf(customer)};
  }

  Record VisitRecord(int64_t n, int customer, absl::BitGen& random) {
    const std::string visit_id = absl::StrCat(run_id_, "-v", n);
    const std::string card = absl::StrCat(run_id_, "-L", customer);
    const absl::Time now = absl::Now();
    nlohmann::json visit = {
        {"visit_id", visit_id},
        {"store_id", "s-1"},
        {"checked_in_at", Rfc3339(now - absl::Minutes(10))},
        {"checked_out_at", Rfc3339(now)},
        {"identities", {{"loyalty_card", card}, {"phone", PhoneOf(customer)}}}};
    if (absl::Bernoulli(random, 0.5)) {
      visit["purchase_amount"] = "25.50";
      visit["currency"] = "EUR";
    }
    return {.path = "/v1/visits",
            .body = visit.dump(),
            .event_id = absl::StrCat("visit:s-1:", visit_id),
            .identity_kind = "loyalty_card",
            .identity_value = card};
  }

  // Sends `make(n)` for n = 0, 1, ... at `rate` per second until `end`.
  template <typename MakeRecord>
  void Send(const std::string& address, double rate, absl::Time end,
            MakeRecord make) {
    httplib::Client client(absl::StrCat("http://", address));
    client.set_connection_timeout(2);
    client.set_read_timeout(10);
    absl::BitGen random;
    const absl::Time start = absl::Now();
    const absl::Time give_up = end + absl::GetFlag(FLAGS_give_up_after);
    for (int64_t n = 0;; ++n) {
      const absl::Time due = start + absl::Seconds(n / rate);
      if (due >= end) break;
      absl::SleepFor(due - absl::Now());
      const Record record =
          (this->*make)(n, absl::Uniform(random, 0, customers_), random);
      // Sent again until accepted: a failed send may or may not have been
      // kept, and the adapter and hub must make the resend harmless.
      while (true) {
        httplib::Result result =
            client.Post(record.path, record.body, "application/json");
        ++sent_;
        if (result && result->status == 202) {
          Accept(record);
          break;
        }
        if (result && result->status / 100 == 4) {
          std::fprintf(stderr, "refused %s %s: %d %s\n", record.path.c_str(),
                       record.body.c_str(), result->status,
                       result->body.c_str());
          ++refused_;
          break;
        }
        ++retried_;
        if (absl::Now() > give_up) {
          ++abandoned_;
          break;
        }
        absl::SleepFor(absl::Milliseconds(200));
      }
    }
  }

  void Accept(const Record& record) {
    std::lock_guard<std::mutex> lock(mutex_);
    accepted_ << record.event_id << '\t' << record.identity_kind << '\t'
              << record.identity_value << '\n';
    accepted_.flush();
    ++accepted_count_;
  }

  int Report() const {
    std::printf(
        "drive: %lld accepted, %lld sends, %lld re-sends, %lld refused, "
        "%lld abandoned\n",
        static_cast<long long>(accepted_count_.load()),
        static_cast<long long>(sent_.load()),
        static_cast<long long>(retried_.load()),
        static_cast<long long>(refused_.load()),
        static_cast<long long>(abandoned_.load()));
    return refused_ > 0 || abandoned_ > 0 ? 1 : 0;
  }

 private:
  const std::string run_id_;
  const int customers_;
  std::mutex mutex_;
  std::ofstream& accepted_;
  std::atomic<int64_t> accepted_count_{0};
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> retried_{0};
  std::atomic<int64_t> refused_{0};
  std::atomic<int64_t> abandoned_{0};
};

int Drive() {
  std::string run_id = absl::GetFlag(FLAGS_run_id);
  if (run_id.empty())
    run_id = absl::StrCat("r", absl::ToUnixSeconds(absl::Now()));
  std::ofstream accepted(absl::GetFlag(FLAGS_accepted), std::ios::app);
  if (!accepted) {
    std::fprintf(stderr, "cannot write %s\n",
                 absl::GetFlag(FLAGS_accepted).c_str());
    return 2;
  }
  Driver driver(run_id, absl::GetFlag(FLAGS_customers), accepted);
  const double rate = absl::GetFlag(FLAGS_rate) / 3;
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  std::thread web([&] {
    driver.Send(absl::GetFlag(FLAGS_web), rate, end, &Driver::WebRecord);
  });
  std::thread phone([&] {
    driver.Send(absl::GetFlag(FLAGS_phone), rate, end, &Driver::PhoneRecord);
  });
  std::thread visit([&] {
    driver.Send(absl::GetFlag(FLAGS_visit), rate, end, &Driver::VisitRecord);
  });
  web.join();
  phone.join();
  visit.join();
  return driver.Report();
}

// ---- check ----

struct Accepted {
  std::string event_id;
  v1::Identity identity;
};

bool ParseIdentityKind(const std::string& name, v1::IdentityKind* kind) {
  static const std::map<std::string, v1::IdentityKind> kKinds = {
      {"phone", v1::IDENTITY_KIND_PHONE},
      {"web_anonymous_id", v1::IDENTITY_KIND_WEB_ANONYMOUS_ID},
      {"loyalty_card", v1::IDENTITY_KIND_LOYALTY_CARD}};
  auto it = kKinds.find(name);
  if (it == kKinds.end()) return false;
  *kind = it->second;
  return true;
}

class Checker {
 public:
  explicit Checker(const std::string& hub)
      : stub_(v1::TimelineService::NewStub(
            grpc::CreateChannel(hub, grpc::InsecureChannelCredentials()))) {}

  // The customer an identity belongs to now; "" when none.
  std::string CustomerOf(const v1::Identity& identity) {
    v1::GetCustomerRequest request;
    *request.mutable_customer()->mutable_identity() = identity;
    v1::GetCustomerResponse response;
    const grpc::Status status =
        Call(&v1::TimelineService::Stub::GetCustomer, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return "";
    if (!status.ok()) Fail("GetCustomer", status);
    return response.customer().customer_id();
  }

  v1::CustomerView ViewOf(const std::string& customer_id) {
    v1::GetCustomerRequest request;
    request.mutable_customer()->set_customer_id(customer_id);
    v1::GetCustomerResponse response;
    const grpc::Status status =
        Call(&v1::TimelineService::Stub::GetCustomer, request, &response);
    if (!status.ok()) Fail("GetCustomer", status);
    return response.customer();
  }

  std::vector<v1::InteractionEvent> TimelineOf(const std::string& customer_id) {
    std::vector<v1::InteractionEvent> events;
    v1::GetTimelineRequest request;
    request.mutable_customer()->set_customer_id(customer_id);
    request.set_page_size(500);
    while (true) {
      v1::GetTimelineResponse response;
      const grpc::Status status =
          Call(&v1::TimelineService::Stub::GetTimeline, request, &response);
      if (!status.ok()) Fail("GetTimeline", status);
      for (v1::InteractionEvent& event : *response.mutable_events()) {
        events.push_back(std::move(event));
      }
      if (response.next_page_token().empty()) return events;
      request.set_page_token(response.next_page_token());
    }
  }

 private:
  template <typename Method, typename Request, typename Response>
  grpc::Status Call(Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    return ((*stub_).*method)(&context, request, response);
  }

  [[noreturn]] void Fail(const char* what, const grpc::Status& status) {
    std::fprintf(stderr, "check: %s failed: %s\n", what,
                 status.error_message().c_str());
    std::exit(2);
  }

  std::unique_ptr<v1::TimelineService::Stub> stub_;
};

int64_t Micros(const google::protobuf::Timestamp& time) {
  return google::protobuf::util::TimeUtil::TimestampToMicroseconds(time);
}

// What the single view should say, recomputed from the timeline; the
// differences, one per line ("" when none).
std::string ViewDifferences(const v1::CustomerView& view,
                            const std::vector<v1::InteractionEvent>& events) {
  std::string differences;
  auto differ = [&](absl::string_view field, auto stored, auto recomputed) {
    if (stored == recomputed) return;
    absl::StrAppend(&differences, "  ", view.customer_id(), " ", field,
                    ": view ", stored, ", timeline ", recomputed, "\n");
  };
  int64_t first = 0, last = 0, satisfaction_count = 0;
  std::map<int, std::pair<int64_t, int64_t>> channels;  // count, last
  std::map<std::string, int64_t> value;
  for (const v1::InteractionEvent& event : events) {
    const int64_t at = Micros(event.occurred_at());
    if (first == 0 || at < first) first = at;
    if (at > last) last = at;
    auto& [count, channel_last] = channels[event.channel()];
    ++count;
    channel_last = std::max(channel_last, at);
    if (event.has_value()) {
      value[event.value().currency()] += event.value().amount_micros();
    }
    if (event.has_satisfaction()) ++satisfaction_count;
  }
  differ("total_interactions", view.total_interactions(),
         static_cast<int64_t>(events.size()));
  differ("first_seen", Micros(view.first_seen()), first);
  differ("last_seen", Micros(view.last_seen()), last);
  differ("satisfaction_count", view.satisfaction_count(), satisfaction_count);
  std::map<int, std::pair<int64_t, int64_t>> stored_channels;
  for (const v1::ChannelSummary& summary : view.channels()) {
    stored_channels[summary.channel()] = {
        summary.interaction_count(), Micros(summary.last_interaction_at())};
  }
  for (const auto& [channel, figures] : channels) {
    differ(absl::StrCat("channel ", channel, " count"),
           stored_channels[channel].first, figures.first);
    differ(absl::StrCat("channel ", channel, " last"),
           stored_channels[channel].second, figures.second);
  }
  std::map<std::string, int64_t> stored_value;
  for (const v1::Money& money : view.total_value()) {
    if (money.amount_micros() != 0) {
      stored_value[money.currency()] = money.amount_micros();
    }
  }
  std::erase_if(value, [](const auto& entry) { return entry.second == 0; });
  for (const auto& [currency, micros] : value) {
    differ(absl::StrCat("total_value ", currency), stored_value[currency],
           micros);
  }
  for (const auto& [currency, micros] : stored_value) {
    if (!value.contains(currency)) {
      differ(absl::StrCat("total_value ", currency), micros, int64_t{0});
    }
  }
  return differences;
}

int Check() {
  std::ifstream file(absl::GetFlag(FLAGS_accepted));
  if (!file) {
    std::fprintf(stderr, "cannot read %s\n",
                 absl::GetFlag(FLAGS_accepted).c_str());
    return 2;
  }
  std::vector<Accepted> accepted;
  std::set<std::pair<int, std::string>> identities;
  for (std::string line; std::getline(file, line);) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    v1::IdentityKind kind;
    if (fields.size() != 3 || !ParseIdentityKind(fields[1], &kind)) {
      std::fprintf(stderr, "bad line in accepted file: %s\n", line.c_str());
      return 2;
    }
    Accepted record;
    record.event_id = fields[0];
    record.identity.set_kind(kind);
    record.identity.set_value(fields[2]);
    identities.emplace(kind, fields[2]);
    accepted.push_back(std::move(record));
  }

  Checker checker(absl::GetFlag(FLAGS_hub));
  std::set<std::string> customers;
  for (const auto& [kind, value] : identities) {
    v1::Identity identity;
    identity.set_kind(static_cast<v1::IdentityKind>(kind));
    identity.set_value(value);
    const std::string customer = checker.CustomerOf(identity);
    if (!customer.empty()) customers.insert(customer);
  }
  std::map<std::string, int> copies;  // event id -> on how many timelines
  int64_t views_wrong = 0;
  std::string differences;
  for (const std::string& customer : customers) {
    const std::vector<v1::InteractionEvent> events =
        checker.TimelineOf(customer);
    // Twice on one timeline counts as doubled as well as on two.
    for (const v1::InteractionEvent& event : events) ++copies[event.event_id()];
    const std::string wrong = ViewDifferences(checker.ViewOf(customer), events);
    if (!wrong.empty()) {
      ++views_wrong;
      if (views_wrong <= 10) differences += wrong;
    }
  }
  int64_t lost = 0, doubled = 0;
  std::set<std::string> seen;
  for (const Accepted& record : accepted) {
    if (!seen.insert(record.event_id).second) continue;  // re-accepted
    const int found = copies[record.event_id];
    if (found == 0) {
      if (++lost <= 10) {
        std::printf("  lost: %s\n", record.event_id.c_str());
      }
    } else if (found > 1) {
      if (++doubled <= 10) {
        std::printf("  doubled: %s (%d copies)\n", record.event_id.c_str(),
                    found);
      }
    }
  }
  std::fputs(differences.c_str(), stdout);
  std::printf(
      "check: %zu records accepted, %zu customers, %lld lost, %lld doubled, "
      "%lld views wrong\n",
      seen.size(), customers.size(), static_cast<long long>(lost),
      static_cast<long long>(doubled), static_cast<long long>(views_wrong));
  return lost == 0 && doubled == 0 && views_wrong == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "omnihub-chaos drive|check [flags]: the load and the verdict of "
      "scripts/chaos.sh.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string command = args.size() > 1 ? args[1] : "";
  if (command == "drive") return Drive();
  if (command == "check") return Check();
  std::fprintf(stderr, "usage: omnihub-chaos drive|check [flags] (--help)\n");
  return 2;
}

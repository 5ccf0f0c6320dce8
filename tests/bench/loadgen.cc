// omnihub-loadgen: drives the timeline service (or a ceiling: Redis alone, an
// empty gRPC handler) and prints throughput and latency percentiles, plus one
// JSON line for scripts. `--report=FILE` turns collected JSON lines into the
// table of figures, ceilings and ratios.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/auth/client_flags.h"
#include "common/config/env_flags.h"
#include "common/redis/pipelined_redis_client.h"
#include "common/redis/redis_credentials.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/insights.grpc.pb.h"
#include "omnihub/v1/recommendations.grpc.pb.h"
#include "omnihub/v1/segments.grpc.pb.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "services/insights/store/insights_engine.h"
#include "services/timeline/timeline_store.h"
#include "tests/bench/event_mix.h"
#include "tests/bench/latency_histogram.h"
#include "tests/bench/synthetic_purchases.h"

ABSL_FLAG(std::string, mode, "grpc",
          "grpc: the service at --target; empty: an in-process gRPC server "
          "whose handlers do nothing (the RPC ceiling); redis: the service's "
          "own store code straight to --redis_address (the storage ceiling).");
ABSL_FLAG(std::string, target, "127.0.0.1:50051", "The timeline service.");
ABSL_FLAG(std::string, redis_address, "127.0.0.1:6379", "For --mode=redis.");
ABSL_FLAG(int, redis_connections, 2, "For --mode=redis, as the service's.");
ABSL_FLAG(std::string, redis_user, "", "For --mode=redis, as the service's.");
ABSL_FLAG(std::string, redis_password_file, "",
          "For --mode=redis, as the service's (or OMNIHUB_REDIS_PASSWORD).");
ABSL_FLAG(std::string, workload, "ingest",
          "ingest, timeline, customer, insights (GetCustomerInsights), "
          "cross_sell (GetCrossSellCandidates), segment_members "
          "(ListSegmentMembers of --segment, --page_size a page), "
          "top_customers (ListTopCustomers in --currency, --page_size a "
          "page), or purchases: every purchase of --customers customers "
          "drawn from a BG/NBD population (CDNOW's parameters) over "
          "--cohort_days days, once, then stop.");
ABSL_FLAG(int, purchase_percent, 10,
          "ingest: percent of events that are purchases with a value.");
ABSL_FLAG(int, line_items, 0,
          "ingest: purchases carry 1 to this many line items (0: none).");
ABSL_FLAG(int64_t, catalogue, 10000,
          "ingest: products the line items are drawn from (Zipf-skewed).");
ABSL_FLAG(int, cohort_days, 365,
          "purchases: first purchases spread over this many days to today.");
ABSL_FLAG(int, batch, 100, "Events per Ingest call (1: single-event).");
ABSL_FLAG(int64_t, customers, 100000, "Customers the events spread over.");
ABSL_FLAG(double, zipf, 0, "Zipf exponent for picking customers; 0 uniform.");
ABSL_FLAG(int, inflight, 64, "Calls in flight at once.");
ABSL_FLAG(double, rate, 0,
          "Calls per second to pace at (latency then counts from when each "
          "call was due); 0 sends as fast as answers come.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "How long to run.");
ABSL_FLAG(int64_t, total_events, 0, "Stop after this many events (ingest).");
ABSL_FLAG(int, page_size, 50,
          "Page size of GetTimeline, ListSegmentMembers, ListTopCustomers.");
ABSL_FLAG(std::string, segment, "", "segment_members: the segment listed.");
ABSL_FLAG(std::string, currency, "GBP", "top_customers: the ranking read.");
ABSL_FLAG(int, pages, 50,
          "segment_members, top_customers: requests go through the first "
          "this many pages in turn (the tokens are read before the run).");
ABSL_FLAG(std::string, name, "", "Names this run in the JSON line.");
ABSL_FLAG(std::string, ceiling, "", "The --name of the run this compares to.");
ABSL_FLAG(std::string, report, "",
          "Print the table of the JSON lines in this file and exit.");

namespace omnihub::bench {
namespace {

using v1::TimelineService;

// Set by SIGINT or SIGTERM: the run ends as at its deadline, and its figures
// are printed (a script stops a run beside something it times).
std::atomic<bool> stop_requested{false};
void RequestStop(int) { stop_requested = true; }

// One call: start it, and call `done(ok)` exactly once when it ends.
using StartCall = std::function<void(std::function<void(bool)> done)>;

struct RunResult {
  LatencyHistogram latency;
  int64_t calls = 0;
  int64_t errors = 0;
  absl::Duration elapsed;
};

// Keeps `inflight` calls going (or paces them at `rate`) until the deadline
// or `max_calls`, and measures each from when it was due.
RunResult Drive(const StartCall& start, int inflight, double rate,
                absl::Duration duration, int64_t max_calls) {
  std::mutex mutex;
  std::condition_variable changed;
  int running = 0;
  RunResult result;
  const absl::Time begin = absl::Now();
  const absl::Time deadline = begin + duration;
  for (int64_t issued = 0; max_calls == 0 || issued < max_calls; ++issued) {
    absl::Time due = absl::Now();
    if (rate > 0) {
      due = begin + absl::Seconds(static_cast<double>(issued) / rate);
      // In short sleeps, so a stop is seen.
      while (absl::Now() < due && !stop_requested) {
        absl::SleepFor(std::min(due - absl::Now(), absl::Milliseconds(100)));
      }
    }
    if (absl::Now() >= deadline || stop_requested) break;
    {
      std::unique_lock<std::mutex> lock(mutex);
      changed.wait(lock, [&] { return running < inflight; });
      ++running;
    }
    if (rate == 0) due = absl::Now();
    start([&, due](bool ok) {
      const absl::Duration latency = absl::Now() - due;
      std::lock_guard<std::mutex> lock(mutex);
      result.latency.Record(latency);
      ++result.calls;
      if (!ok) ++result.errors;
      --running;
      changed.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mutex);
  changed.wait(lock, [&] { return running == 0; });
  result.elapsed = absl::Now() - begin;
  return result;
}

// The RPC ceiling: answers every call at once, with results as big as the
// real ones, doing nothing else.
class EmptyTimelineService : public TimelineService::CallbackService {
  grpc::ServerUnaryReactor* Ingest(grpc::CallbackServerContext* context,
                                   const v1::IngestRequest* request,
                                   v1::IngestResponse* response) override {
    for (const v1::InteractionEvent& event : request->events()) {
      v1::IngestResult* result = response->add_results();
      result->set_event_id(event.event_id());
      result->set_status(v1::IngestResult::STATUS_ACCEPTED);
      result->set_customer_id("c0123456789abcdef01234567");
    }
    return Finish(context);
  }
  grpc::ServerUnaryReactor* GetTimeline(grpc::CallbackServerContext* context,
                                        const v1::GetTimelineRequest*,
                                        v1::GetTimelineResponse*) override {
    return Finish(context);
  }
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const v1::GetCustomerRequest*,
                                        v1::GetCustomerResponse*) override {
    return Finish(context);
  }
  static grpc::ServerUnaryReactor* Finish(
      grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Prints the first failure of a run, so errors in the figures can be read.
void ReportFirstError(const absl::Status& status) {
  static std::atomic<bool> reported{false};
  if (!reported.exchange(true)) {
    std::fprintf(stderr, "first error: %s\n", status.ToString().c_str());
  }
}
void ReportFirstError(const grpc::Status& status) {
  ReportFirstError(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                   status.error_message()));
}

// The tokens of a paginated list's first `pages` pages ("" first), read
// once, so paced requests go through them in turn and pages deep in the
// list are read as well as the first. `next_token` reads the page after a
// token and answers its next page token ("" on the last page); nullopt
// after printing what failed (`what`).
std::optional<std::vector<std::string>> FirstPageTokens(
    int pages, const std::string& what,
    const std::function<grpc::Status(const std::string& token,
                                     std::string* next_token)>& next_token) {
  std::vector<std::string> tokens = {""};
  while (static_cast<int>(tokens.size()) < pages) {
    std::string next;
    grpc::Status status = next_token(tokens.back(), &next);
    if (!status.ok()) {
      std::fprintf(stderr, "%s: %s\n", what.c_str(),
                   status.error_message().c_str());
      return std::nullopt;
    }
    if (next.empty()) break;
    tokens.push_back(std::move(next));
  }
  return tokens;
}

template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

StartCall GrpcCall(TimelineService::Stub* stub,
                   const std::shared_ptr<grpc::Channel>& stub_channel,
                   EventMix* mix, SyntheticPurchases* purchases,
                   const std::string& workload, int batch, int page_size) {
  if (workload == "ingest" || workload == "purchases") {
    return [=](std::function<void(bool)> done) {
      auto* call = new Call<v1::IngestRequest, v1::IngestResponse>;
      for (int i = 0; i < batch; ++i) {
        if (purchases == nullptr) {
          *call->request.add_events() = mix->NextEvent();
        } else if (!purchases->Next(call->request.add_events())) {
          call->request.mutable_events()->RemoveLast();
          break;
        }
      }
      stub->async()->Ingest(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            bool ok = status.ok();
            for (const auto& result : call->response.results()) {
              ok = ok && result.status() != v1::IngestResult::STATUS_REJECTED;
            }
            delete call;
            done(ok);
          });
    };
  }
  if (workload == "insights") {
    auto insights = std::shared_ptr<v1::InsightsService::Stub>(
        v1::InsightsService::NewStub(stub_channel));
    return [=](std::function<void(bool)> done) {
      auto* call =
          new Call<v1::GetCustomerInsightsRequest, v1::CustomerInsights>;
      *call->request.mutable_customer()->mutable_identity() =
          EventMix::CrmIdentity(mix->NextCustomer());
      insights->async()->GetCustomerInsights(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            delete call;
            done(status.ok() ||
                 status.error_code() == grpc::StatusCode::NOT_FOUND);
          });
    };
  }
  if (workload == "cross_sell") {
    auto recommendations = std::shared_ptr<v1::RecommendationService::Stub>(
        v1::RecommendationService::NewStub(stub_channel));
    return [=](std::function<void(bool)> done) {
      auto* call = new Call<v1::GetCrossSellCandidatesRequest,
                            v1::GetCrossSellCandidatesResponse>;
      *call->request.mutable_customer()->mutable_identity() =
          EventMix::CrmIdentity(mix->NextCustomer());
      call->request.set_limit(10);
      recommendations->async()->GetCrossSellCandidates(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            delete call;
            done(status.ok() ||
                 status.error_code() == grpc::StatusCode::NOT_FOUND);
          });
    };
  }
  if (workload == "segment_members") {
    auto segments = std::shared_ptr<v1::SegmentService::Stub>(
        v1::SegmentService::NewStub(stub_channel));
    const std::string name = absl::GetFlag(FLAGS_segment);
    const std::optional<std::vector<std::string>> first_pages = FirstPageTokens(
        absl::GetFlag(FLAGS_pages), absl::StrCat("segment ", name),
        [&](const std::string& token, std::string* next) {
          grpc::ClientContext context;
          v1::ListSegmentMembersRequest request;
          request.set_name(name);
          request.set_page_size(page_size);
          request.set_page_token(token);
          v1::ListSegmentMembersResponse response;
          grpc::Status status =
              segments->ListSegmentMembers(&context, request, &response);
          *next = response.next_page_token();
          return status;
        });
    if (!first_pages) return nullptr;
    const std::vector<std::string> tokens = *first_pages;
    auto next = std::make_shared<std::atomic<size_t>>(0);
    return [=](std::function<void(bool)> done) {
      auto* call = new Call<v1::ListSegmentMembersRequest,
                            v1::ListSegmentMembersResponse>;
      call->request.set_name(name);
      call->request.set_page_size(page_size);
      call->request.set_page_token(tokens[next->fetch_add(1) % tokens.size()]);
      segments->async()->ListSegmentMembers(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            if (!status.ok()) ReportFirstError(status);
            delete call;
            done(status.ok());
          });
    };
  }
  if (workload == "top_customers") {
    auto insights = std::shared_ptr<v1::InsightsService::Stub>(
        v1::InsightsService::NewStub(stub_channel));
    const std::string currency = absl::GetFlag(FLAGS_currency);
    const std::optional<std::vector<std::string>> first_pages = FirstPageTokens(
        absl::GetFlag(FLAGS_pages), absl::StrCat("top customers in ", currency),
        [&](const std::string& token, std::string* next) {
          grpc::ClientContext context;
          v1::ListTopCustomersRequest request;
          request.set_currency(currency);
          request.set_limit(page_size);
          request.set_page_token(token);
          v1::ListTopCustomersResponse response;
          grpc::Status status =
              insights->ListTopCustomers(&context, request, &response);
          *next = response.next_page_token();
          return status;
        });
    if (!first_pages) return nullptr;
    const std::vector<std::string> tokens = *first_pages;
    auto next = std::make_shared<std::atomic<size_t>>(0);
    return [=](std::function<void(bool)> done) {
      auto* call =
          new Call<v1::ListTopCustomersRequest, v1::ListTopCustomersResponse>;
      call->request.set_currency(currency);
      call->request.set_limit(page_size);
      call->request.set_page_token(tokens[next->fetch_add(1) % tokens.size()]);
      insights->async()->ListTopCustomers(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            if (!status.ok()) ReportFirstError(status);
            delete call;
            done(status.ok());
          });
    };
  }
  if (workload == "timeline") {
    return [=](std::function<void(bool)> done) {
      auto* call = new Call<v1::GetTimelineRequest, v1::GetTimelineResponse>;
      *call->request.mutable_customer()->mutable_identity() =
          EventMix::CrmIdentity(mix->NextCustomer());
      call->request.set_page_size(page_size);
      stub->async()->GetTimeline(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            delete call;
            // A customer never written to is NOT_FOUND: still a full answer.
            done(status.ok() ||
                 status.error_code() == grpc::StatusCode::NOT_FOUND);
          });
    };
  }
  return [=](std::function<void(bool)> done) {
    auto* call = new Call<v1::GetCustomerRequest, v1::GetCustomerResponse>;
    *call->request.mutable_customer()->mutable_identity() =
        EventMix::CrmIdentity(mix->NextCustomer());
    stub->async()->GetCustomer(
        &call->context, &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status status) {
          delete call;
          done(status.ok() ||
               status.error_code() == grpc::StatusCode::NOT_FOUND);
        });
  };
}

// The storage ceiling: the service's own store (same scripts, same keys) on a
// pipelined Redis client, without gRPC or validation in between.
StartCall StoreCall(timeline::TimelineStore* store, EventMix* mix, int batch) {
  return [=](std::function<void(bool)> done) {
    struct Batch {
      std::atomic<int> left;
      std::atomic<bool> ok{true};
      std::function<void(bool)> done;
    };
    auto* pending = new Batch{{batch}, {true}, std::move(done)};
    for (int i = 0; i < batch; ++i) {
      store->Ingest(mix->NextEvent(),
                    [pending](absl::StatusOr<timeline::IngestOutcome> outcome) {
                      if (!outcome.ok()) {
                        pending->ok = false;
                        ReportFirstError(outcome.status());
                      }
                      if (pending->left.fetch_sub(1) == 1) {
                        pending->done(pending->ok);
                        delete pending;
                      }
                    });
    }
  };
}

std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(d));
}

int Report(const std::string& path) {
  std::ifstream file(path);
  std::map<std::string, nlohmann::json> by_name;
  std::vector<nlohmann::json> runs;
  for (std::string line; std::getline(file, line);) {
    nlohmann::json run = nlohmann::json::parse(line, nullptr, false);
    if (!run.is_object()) continue;
    by_name[run.value("name", "")] = run;
    runs.push_back(run);
  }
  std::printf("%-26s %10s %9s %9s   %-24s %12s %9s\n", "workload", "events/s",
              "p50 ms", "p99 ms", "ceiling", "ceiling ev/s", "ratio");
  for (const nlohmann::json& run : runs) {
    const std::string ceiling = run.value("ceiling", "");
    std::string ratio = "";
    double ceiling_rate = 0;
    if (auto it = by_name.find(ceiling); it != by_name.end()) {
      ceiling_rate = it->second.value("events_per_second", 0.0);
      const double ceiling_p99 = it->second.value("p99_ms", 0.0);
      if (run.value("rate", 0.0) > 0 && ceiling_p99 > 0) {
        // Paced runs all reach their rate: what differs is the latency.
        ratio = absl::StrFormat("p99 x%.1f",
                                run.value("p99_ms", 0.0) / ceiling_p99);
      } else if (ceiling_rate > 0) {
        ratio = absl::StrFormat(
            "%.2f", run.value("events_per_second", 0.0) / ceiling_rate);
      }
    }
    // wrk's lines carry only a rate.
    const auto ms = [&](const char* field) {
      return run.contains(field)
                 ? absl::StrFormat("%.3f", run.value(field, 0.0))
                 : std::string("-");
    };
    std::printf(
        "%-26s %10.0f %9s %9s   %-24s %12s %9s\n",
        run.value("name", "").c_str(), run.value("events_per_second", 0.0),
        ms("p50_ms").c_str(), ms("p99_ms").c_str(), ceiling.c_str(),
        ceiling_rate > 0 ? absl::StrFormat("%.0f", ceiling_rate).c_str() : "",
        ratio.c_str());
  }
  return 0;
}

int Run() {
  if (!absl::GetFlag(FLAGS_report).empty()) {
    return Report(absl::GetFlag(FLAGS_report));
  }
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const std::string workload = absl::GetFlag(FLAGS_workload);
  const int batch = std::max(1, absl::GetFlag(FLAGS_batch));
  if (workload != "ingest" && workload != "timeline" &&
      workload != "customer" && workload != "insights" &&
      workload != "cross_sell" && workload != "segment_members" &&
      workload != "top_customers" && workload != "purchases") {
    std::fprintf(stderr,
                 "--workload must be ingest, timeline, customer, insights, "
                 "cross_sell, segment_members, top_customers or purchases\n");
    return 2;
  }
  if (workload == "segment_members" && absl::GetFlag(FLAGS_segment).empty()) {
    std::fprintf(stderr, "--workload=segment_members needs --segment\n");
    return 2;
  }
  EventMix mix(
      {.customers = std::max<int64_t>(1, absl::GetFlag(FLAGS_customers)),
       .zipf = absl::GetFlag(FLAGS_zipf),
       .purchase_percent = absl::GetFlag(FLAGS_purchase_percent),
       .line_items = std::max(absl::GetFlag(FLAGS_line_items), 0),
       .catalogue = std::max<int64_t>(absl::GetFlag(FLAGS_catalogue), 1),
       .run_id = absl::StrCat(absl::ToUnixMicros(absl::Now()), "-",
                              absl::Uniform<uint32_t>(absl::BitGen()))});
  std::unique_ptr<SyntheticPurchases> purchases;
  int64_t total_events = absl::GetFlag(FLAGS_total_events);
  if (workload == "purchases") {
    purchases = std::make_unique<SyntheticPurchases>(
        static_cast<int>(absl::GetFlag(FLAGS_customers)),
        absl::GetFlag(FLAGS_cohort_days), absl::Now());
    total_events = purchases->events();
  }

  std::unique_ptr<grpc::Server> empty_server;
  EmptyTimelineService empty_service;
  std::unique_ptr<TimelineService::Stub> stub;
  std::unique_ptr<redis::PipelinedRedisClient> redis;
  std::unique_ptr<timeline::TimelineStore> store;
  std::unique_ptr<insights::InsightsEngine> insights;
  StartCall start;
  std::string target = absl::GetFlag(FLAGS_target);
  if (mode == "empty") {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&empty_service);
    empty_server = builder.BuildAndStart();
    target = absl::StrCat("127.0.0.1:", port);
  }
  if (mode == "grpc" || mode == "empty") {
    // Several channels, as several client processes would open.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // A secured hub: --token_file and --tls_ca_file, as every client.
    absl::StatusOr<auth::ClientSecurity> security =
        mode == "grpc" ? auth::ClientSecurityFromFlags()
                       : auth::ClientSecurity{};
    if (!security.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(security.status().message()).c_str());
      return 2;
    }
    std::shared_ptr<grpc::Channel> channel =
        auth::CreateHubChannel(target, *security, args);
    stub = TimelineService::NewStub(channel);
    start = GrpcCall(stub.get(), channel, &mix, purchases.get(), workload,
                     batch, absl::GetFlag(FLAGS_page_size));
    if (!start) return 1;
  } else if (mode == "redis") {
    if (workload != "ingest") {
      std::fprintf(stderr, "--mode=redis measures ingest only\n");
      return 2;
    }
    std::pair<std::string, std::string> host_port = absl::StrSplit(
        absl::GetFlag(FLAGS_redis_address), absl::MaxSplits(':', 1));
    redis::RedisClientOptions options;
    options.host = host_port.first;
    if (!absl::SimpleAtoi(host_port.second, &options.port)) {
      std::fprintf(stderr, "--redis_address must be host:port\n");
      return 2;
    }
    options.connections = absl::GetFlag(FLAGS_redis_connections);
    absl::StatusOr<redis::RedisCredentials> credentials =
        redis::RedisCredentialsFrom(absl::GetFlag(FLAGS_redis_user),
                                    absl::GetFlag(FLAGS_redis_password_file));
    if (!credentials.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(credentials.status().message()).c_str());
      return 2;
    }
    options.user = credentials->user;
    options.password = credentials->password;
    auto client = redis::PipelinedRedisClient::Create(options, nullptr);
    if (!client.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(client.status().message()).c_str());
      return 1;
    }
    redis = *std::move(client);
    // The client connects in the background; a run must not start (and
    // count its first calls as failed) before it has.
    for (int i = 0; i < 200 && !redis->connected(); ++i) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    if (!redis->connected()) {
      std::fprintf(stderr, "Redis at %s did not accept a connection\n",
                   absl::GetFlag(FLAGS_redis_address).c_str());
      return 1;
    }
    store = std::make_unique<timeline::TimelineStore>(
        redis.get(), timeline::TimelineStoreOptions{});
    // The same Redis work as the service: the lifecycle kept after each
    // purchase (the engine's background thread is not started).
    const insights::InsightsOptions insights_options;
    insights = std::make_unique<insights::InsightsEngine>(
        &store->context(), insights_options, nullptr);
    store->SetObserver(&insights->keeper());
    start = StoreCall(store.get(), &mix, batch);
  } else {
    std::fprintf(stderr, "--mode must be grpc, empty or redis\n");
    return 2;
  }

  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  const bool ingest = workload == "ingest" || workload == "purchases";
  const int64_t per_call = ingest ? batch : 1;
  RunResult result =
      Drive(start, std::max(1, absl::GetFlag(FLAGS_inflight)),
            absl::GetFlag(FLAGS_rate), absl::GetFlag(FLAGS_duration),
            total_events > 0 ? (total_events + per_call - 1) / per_call : 0);
  if (empty_server) empty_server->Shutdown();

  const double seconds = absl::ToDoubleSeconds(result.elapsed);
  const double calls_per_second = result.calls / seconds;
  const LatencyHistogram& h = result.latency;
  std::fprintf(
      stderr,
      "%s %s (%s%d in flight%s): %lld calls, %lld errors in "
      "%.1f s: %.0f calls/s, %.0f events/s; latency ms p50 %s p90 %s "
      "p99 %s p99.9 %s max %s\n",
      mode.c_str(), workload.c_str(),
      ingest ? absl::StrCat("batch ", batch, ", ").c_str() : "",
      absl::GetFlag(FLAGS_inflight),
      absl::GetFlag(FLAGS_rate) > 0
          ? absl::StrFormat(", paced at %.0f/s", absl::GetFlag(FLAGS_rate))
                .c_str()
          : "",
      static_cast<long long>(result.calls),
      static_cast<long long>(result.errors), seconds, calls_per_second,
      calls_per_second * per_call, Ms(h.Percentile(0.5)).c_str(),
      Ms(h.Percentile(0.9)).c_str(), Ms(h.Percentile(0.99)).c_str(),
      Ms(h.Percentile(0.999)).c_str(), Ms(h.max()).c_str());
  nlohmann::json line = {
      {"name", absl::GetFlag(FLAGS_name)},
      {"ceiling", absl::GetFlag(FLAGS_ceiling)},
      {"mode", mode},
      {"workload", workload},
      {"batch", batch},
      {"rate", absl::GetFlag(FLAGS_rate)},
      {"calls", result.calls},
      {"errors", result.errors},
      {"seconds", seconds},
      {"calls_per_second", calls_per_second},
      {"events_per_second", calls_per_second * per_call},
      {"p50_ms", absl::ToDoubleMilliseconds(h.Percentile(0.5))},
      {"p90_ms", absl::ToDoubleMilliseconds(h.Percentile(0.9))},
      {"p99_ms", absl::ToDoubleMilliseconds(h.Percentile(0.99))},
      {"p999_ms", absl::ToDoubleMilliseconds(h.Percentile(0.999))},
      {"max_ms", absl::ToDoubleMilliseconds(h.max())}};
  std::printf("%s\n", line.dump().c_str());
  return result.errors == 0 && result.calls > 0 ? 0 : 1;
}

}  // namespace
}  // namespace omnihub::bench

int main(int argc, char** argv) {
  omnihub::config::ParseFlags(
      argc, argv,
      "omnihub-loadgen: load for the timeline service, and its ceilings.");
  return omnihub::bench::Run();
}

// What the top-customer rankings cost and how fast they answer, in process
// against a private redis-server (started here), on the hub's own store code:
//   - purchase ingest with the lifecycle alone against the lifecycle and the
//     rankings (interleaved pairs, each from an empty store): the upkeep's
//     cost as a ratio;
//   - ListTopCustomers (a page of 100, first pages and pages after a
//     cursor) over a base of --customers customers, paced at --rate
//     requests/s, --repeat runs of each: p50 and p99, beside the seconds
//     in which Redis itself stalled (its latency monitor);
//   - one population pass (RFM boundaries and every ranking rewritten).
//
//   ranking_bench --customers=1000000 --rate=1000 --seconds=10
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/pipelined_redis_client.h"
#include "services/insights/store/insights_engine.h"
#include "services/insights/store/top_customers.h"
#include "services/timeline/customer_observer.h"
#include "services/timeline/stored_event.h"
#include "services/timeline/timeline_store.h"
#include "tests/bench/latency_histogram.h"
#include "tests/support/redis_server.h"

ABSL_FLAG(int64_t, customers, 200000, "Customers in the base for the reads.");
ABSL_FLAG(int, rate, 1000, "ListTopCustomers requests per second.");
ABSL_FLAG(int, seconds, 10, "Seconds of each measured run.");
ABSL_FLAG(int, pairs, 3, "Interleaved ingest pairs (without / with).");
ABSL_FLAG(int, inflight, 32, "Ingest batches of 100 in flight.");
ABSL_FLAG(int, repeat, 1, "Runs of each ListTopCustomers measurement.");

namespace omnihub {
namespace {

using bench::LatencyHistogram;
using insights::InsightsEngine;

v1::InteractionEvent PurchaseOf(int64_t customer, int64_t serial,
                                absl::BitGen& random) {
  v1::InteractionEvent event;
  event.set_event_id(absl::StrCat("p-", serial));
  event.set_channel(v1::CHANNEL_WEB);
  event.set_kind(v1::INTERACTION_KIND_PURCHASE);
  event.mutable_web()->set_url("https://shop.example/checkout");
  *event.mutable_occurred_at() = timeline::FromMicros(
      absl::ToUnixMicros(absl::Now()) -
      absl::Uniform<int64_t>(random, 0, 300) * 86'400'000'000LL);
  v1::Identity* identity = event.add_identities();
  identity->set_kind(v1::IDENTITY_KIND_CRM_ID);
  identity->set_value(absl::StrCat("crm-", customer));
  event.mutable_value()->set_currency(absl::Bernoulli(random, 0.9) ? "EUR"
                                                                   : "USD");
  event.mutable_value()->set_amount_micros(
      absl::Uniform<int64_t>(random, 1, 50000) * 10'000);
  event.set_source("bench");
  return event;
}

struct Hub {
  std::unique_ptr<timeline::TimelineStore> store;
  std::unique_ptr<InsightsEngine> engine;
  timeline::CustomerObserverList observers;
};

std::unique_ptr<Hub> MakeHub(redis::RedisClient* redis, bool rankings) {
  auto hub = std::make_unique<Hub>();
  hub->store = std::make_unique<timeline::TimelineStore>(
      redis, timeline::TimelineStoreOptions{});
  insights::InsightsOptions options;
  options.ranking_refresh_rate = 0;
  hub->engine = std::make_unique<InsightsEngine>(&hub->store->context(),
                                                 options, nullptr);
  hub->observers.Add(&hub->engine->keeper());
  if (rankings) hub->observers.Add(&hub->engine->ranking());
  hub->store->SetObserver(&hub->observers);
  return hub;
}

// Purchases of `customers` customers in batches of 100, `inflight` batches
// at a time, for `duration` (or until `total` are sent when > 0): events/s.
double Ingest(timeline::TimelineStore& store, int64_t customers,
              absl::Duration duration, int64_t total, int inflight) {
  std::atomic<int64_t> serial{0};
  std::atomic<int64_t> done{0};
  const absl::Time start = absl::Now();
  const absl::Time until = start + duration;
  std::vector<std::thread> senders;
  for (int s = 0; s < inflight; ++s) {
    senders.emplace_back([&] {
      absl::BitGen random;
      while (absl::Now() < until) {
        const int64_t first = serial.fetch_add(100);
        if (total > 0 && first >= total) break;
        absl::Mutex mutex;
        absl::CondVar all;
        int left = 100;
        for (int i = 0; i < 100; ++i) {
          const int64_t n = first + i;
          const int64_t customer =
              total > 0 ? n % customers
                        : absl::Uniform<int64_t>(random, 0, customers);
          store.Ingest(PurchaseOf(customer, n, random),
                       [&](absl::StatusOr<timeline::IngestOutcome> outcome) {
                         if (!outcome.ok()) {
                           std::fprintf(stderr, "ingest: %s\n",
                                        outcome.status().ToString().c_str());
                         }
                         absl::MutexLock lock(&mutex);
                         if (--left == 0) all.Signal();
                       });
        }
        absl::MutexLock lock(&mutex);
        while (left > 0) all.Wait(&mutex);
        done += 100;
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  return static_cast<double>(done) / absl::ToDoubleSeconds(absl::Now() - start);
}

void PrintLatencies(const char* name, const LatencyHistogram& latencies,
                    double achieved) {
  std::printf("%-36s %8.0f/s  p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms\n", name,
              achieved, absl::ToDoubleMilliseconds(latencies.Percentile(0.5)),
              absl::ToDoubleMilliseconds(latencies.Percentile(0.99)),
              absl::ToDoubleMilliseconds(latencies.max()));
}

// Redis's own stalls: the seconds in which one of its commands took at
// least the latency monitor's threshold of wall time, by Redis's clock
// (LATENCY HISTORY of "command" and "fast-command"). No client of that
// Redis sees a p99 below what these show.
struct RedisStalls {
  int seconds = 0;
  int64_t worst_ms = 0;
};

constexpr int kStallThresholdMs = 2;

void ResetStalls(testing::RedisServer& server) {
  server
      .Command({"CONFIG", "SET", "latency-monitor-threshold",
                absl::StrCat(kStallThresholdMs)})
      .IgnoreError();
  server.Command({"LATENCY", "RESET"}).IgnoreError();
}

RedisStalls StallsSinceReset(testing::RedisServer& server) {
  absl::flat_hash_map<int64_t, int64_t> worst_by_second;
  for (const char* event : {"command", "fast-command"}) {
    absl::StatusOr<redis::Reply> history =
        server.Command({"LATENCY", "HISTORY", event});
    if (!history.ok()) continue;
    for (const redis::Reply& sample : history->elements) {
      if (sample.elements.size() != 2) continue;
      int64_t& worst = worst_by_second[sample.elements[0].integer];
      worst = std::max(worst, sample.elements[1].integer);
    }
  }
  RedisStalls stalls;
  stalls.seconds = static_cast<int>(worst_by_second.size());
  for (const auto& [second, ms] : worst_by_second) {
    stalls.worst_ms = std::max(stalls.worst_ms, ms);
  }
  return stalls;
}

// ListTopCustomers paced at `rate`/s for `duration`; with `deep`, each
// request asks for the page after a cursor somewhere in the ranking.
void MeasureTop(InsightsEngine& engine, testing::RedisServer& server, int rate,
                absl::Duration duration, bool deep, const char* name) {
  const InsightsEngine& e = engine;
  // Cursors: the last entries of the first 50 pages.
  std::vector<insights::TopCursor> cursors;
  if (deep) {
    std::optional<insights::TopCursor> after;
    for (int page = 0; page < 50; ++page) {
      absl::Notification read;
      insights::TopCustomersQuery query{
          .currency = "EUR", .limit = 100, .after = after};
      insights::ListTopCustomers(
          e.context(), e.keys(), e.scripts(), query,
          [&](absl::StatusOr<v1::ListTopCustomersResponse> response) {
            if (response.ok() && response->customers_size() > 0) {
              const v1::TopCustomer& last =
                  response->customers(response->customers_size() - 1);
              after =
                  insights::TopCursor{.micros = last.value().amount_micros(),
                                      .customer_id = last.customer_id(),
                                      .rank = last.rank()};
              cursors.push_back(*after);
            }
            read.Notify();
          });
      read.WaitForNotification();
    }
  }
  ResetStalls(server);
  LatencyHistogram latencies;
  absl::Mutex mutex;
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> failed{0};
  const absl::Time start = absl::Now();
  const int64_t total =
      static_cast<int64_t>(rate * absl::ToDoubleSeconds(duration));
  for (int64_t i = 0; i < total; ++i) {
    const absl::Time due = start + absl::Seconds(1) * i / rate;
    const absl::Time now = absl::Now();
    if (due > now) absl::SleepFor(due - now);
    insights::TopCustomersQuery query{
        .currency = "EUR", .limit = 100, .after = std::nullopt};
    if (deep && !cursors.empty()) query.after = cursors[i % cursors.size()];
    ++in_flight;
    // Latency from when the request was due, so a stall is not hidden.
    insights::ListTopCustomers(
        e.context(), e.keys(), e.scripts(), query,
        [&, due](absl::StatusOr<v1::ListTopCustomersResponse> response) {
          // A short page is right near the ranking's end (a small base).
          if (!response.ok()) ++failed;
          absl::MutexLock lock(&mutex);
          latencies.Record(absl::Now() - due);
          --in_flight;
        });
  }
  while (in_flight > 0) absl::SleepFor(absl::Milliseconds(1));
  PrintLatencies(name, latencies,
                 total / absl::ToDoubleSeconds(absl::Now() - start));
  const RedisStalls stalls = StallsSinceReset(server);
  std::printf(
      "  Redis's own stalls (a command taking >= %d ms by Redis's clock): in "
      "%d different seconds, the worst %lld ms\n",
      kStallThresholdMs, stalls.seconds, (long long)stalls.worst_ms);
  if (failed > 0)
    std::printf("  %lld requests failed\n", (long long)failed.load());
}

int Run() {
  absl::StatusOr<std::unique_ptr<testing::RedisServer>> server =
      testing::RedisServer::Start();
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  redis::RedisClientOptions options;
  options.host = (*server)->host();
  options.port = (*server)->port();
  auto client = redis::PipelinedRedisClient::Create(options, nullptr);
  if (!client.ok()) return 1;
  std::unique_ptr<redis::PipelinedRedisClient> redis = *std::move(client);
  for (int i = 0; i < 200 && !redis->connected(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  const absl::Duration seconds = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int inflight = absl::GetFlag(FLAGS_inflight);

  std::printf("purchase ingest, batches of 100, %d in flight, %d s each:\n",
              inflight, absl::GetFlag(FLAGS_seconds));
  double ratio_sum = 0;
  for (int pair = 0; pair < absl::GetFlag(FLAGS_pairs); ++pair) {
    double rates[2];
    for (int with = 0; with < 2; ++with) {
      (*server)->Command({"FLUSHALL"}).IgnoreError();
      std::unique_ptr<Hub> hub = MakeHub(redis.get(), with == 1);
      rates[with] = Ingest(*hub->store, 100000, seconds, 0, inflight);
    }
    std::printf(
        "  pair %d: lifecycle only %8.0f ev/s, with rankings %8.0f "
        "ev/s, ratio %.2f\n",
        pair + 1, rates[0], rates[1], rates[1] / rates[0]);
    ratio_sum += rates[1] / rates[0];
  }
  if (absl::GetFlag(FLAGS_pairs) > 0) {
    std::printf("  mean ratio %.2f\n", ratio_sum / absl::GetFlag(FLAGS_pairs));
  }

  (*server)->Command({"FLUSHALL"}).IgnoreError();
  std::unique_ptr<Hub> hub = MakeHub(redis.get(), true);
  const int64_t customers = absl::GetFlag(FLAGS_customers);
  const absl::Time filled = absl::Now();
  const double fill_rate =
      Ingest(*hub->store, customers, absl::Hours(10), customers, inflight);
  std::printf("base: %lld customers with a purchase in %.1f s (%.0f ev/s)\n",
              (long long)customers, absl::ToDoubleSeconds(absl::Now() - filled),
              fill_rate);
  const int rate = absl::GetFlag(FLAGS_rate);
  for (int run = 0; run < absl::GetFlag(FLAGS_repeat); ++run) {
    MeasureTop(*hub->engine, **server, rate, seconds, false,
               absl::StrCat("top100_first_page_", rate).c_str());
  }
  for (int run = 0; run < absl::GetFlag(FLAGS_repeat); ++run) {
    MeasureTop(*hub->engine, **server, rate, seconds, true,
               absl::StrCat("top100_after_cursor_", rate).c_str());
  }
  const absl::Time passed = absl::Now();
  absl::StatusOr<v1::RfmSummary> summary = hub->engine->RunPopulationPass();
  std::printf("population pass (RFM + rankings, unthrottled): %s in %.1f s\n",
              summary.ok() ? "ok" : summary.status().ToString().c_str(),
              absl::ToDoubleSeconds(absl::Now() - passed));
  hub.reset();
  redis->Shutdown();
  return 0;
}

}  // namespace
}  // namespace omnihub

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return omnihub::Run();
}

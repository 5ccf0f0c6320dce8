// End-to-end fixture for a channel adapter: a real redis-server, the real
// timeline service and the real adapter executable as child processes, real
// HTTP in, gRPC reads out.
//
//   class WebAdapterTest : public AdapterEndToEndTest {
//    protected:
//     WebAdapterTest() : AdapterEndToEndTest(OMNIHUB_WEB_ADAPTER_BINARY,
//                                            {"--write_keys=site-1"}) {}
//   };
//
// Waiting is always for a condition with a deadline (WaitUntil), never a
// sleep followed by a check.
#ifndef OMNIHUB_TESTS_INTEGRATION_ADAPTER_FIXTURE_H_
#define OMNIHUB_TESTS_INTEGRATION_ADAPTER_FIXTURE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {

// A call record in the phone adapter's JSON form: inbound to extension 200,
// answered, one minute long, on 2026-11-20.
nlohmann::json PhoneCallRecord(const std::string& call_id,
                               const std::string& caller);

// The event ids of `events`, to compare what arrived with what was sent.
std::set<std::string> EventIdsOf(
    const std::vector<v1::InteractionEvent>& events);

class AdapterEndToEndTest : public ::testing::Test {
 protected:
  AdapterEndToEndTest(std::string adapter_binary,
                      std::vector<std::string> adapter_flags,
                      std::vector<std::string> hub_flags = {});

  void SetUp() override;

  // (Re)starts the hub on the same port and Redis.
  void StartHub();
  // (Re)starts the adapter on the same port and spool, waits for /healthz.
  void StartAdapter();

  httplib::Result Post(const std::string& path, const std::string& body,
                       const std::string& content_type,
                       const httplib::Headers& headers = {});

  // Every page of the timeline of the customer with this identity; empty if
  // it cannot be read.
  std::vector<v1::InteractionEvent> ReadTimeline(v1::IdentityKind kind,
                                                 const std::string& value);
  // The timeline once it holds at least `count` events (or after 30 s).
  std::vector<v1::InteractionEvent> WaitForTimeline(v1::IdentityKind kind,
                                                    const std::string& value,
                                                    size_t count);
  // The single view of the customer with this identity, if there is one.
  std::optional<v1::CustomerView> Customer(v1::IdentityKind kind,
                                           const std::string& value);
  // Keys in Redis that are not the customer's own nor one of its identities
  // (after a marker event was delivered: what anything else left behind).
  std::vector<std::string> KeysNotOfCustomer(const std::string& customer_id);

  // Whether `condition` held within `timeout` (checked every 20 ms).
  static bool WaitUntil(const std::function<bool()>& condition,
                        absl::Duration timeout = absl::Seconds(30));
  // The status of GET /readyz; 0 when the adapter does not answer.
  int ReadyzStatus();
  // The adapter's /metrics text; "" when it does not answer 200.
  std::string FetchMetrics();
  // What `promtool check metrics` says about `text`; "" when it is clean.
  static std::string PromtoolComplaints(const std::string& text);
  // The value of the sample of `name` whose labels include `labels`, if the
  // exposition `text` has one.
  static std::optional<double> MetricValue(
      const std::string& text, const std::string& name,
      const std::map<std::string, std::string>& labels = {});
  // The adapter's dead-letter file ("" when there is none).
  std::string DeadLetters();

  std::string directory_;
  std::unique_ptr<RedisServer> redis_;
  int hub_port_ = 0;
  int adapter_port_ = 0;
  int admin_port_ = 0;  // /healthz, /readyz and /metrics
  std::unique_ptr<ChildProcess> hub_;
  std::unique_ptr<ChildProcess> adapter_;
  std::unique_ptr<v1::TimelineService::Stub> stub_;
  // Extra flags of the hub and of the adapter; a test may add to them in its
  // constructor.
  std::vector<std::string> hub_flags_;
  std::vector<std::string> adapter_flags_;

 private:
  std::string adapter_binary_;
};

// Starts the adapter once per case with its flag (the hub unreachable) and
// expects it to stop at once with exit code 2 and a log that says the
// case's text (which names the flag).
void ExpectEachFlagStopsTheAdapter(
    const std::string& adapter_binary,
    const std::vector<std::pair<std::string, std::string>>& cases);

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_INTEGRATION_ADAPTER_FIXTURE_H_

// End-to-end fixture for a channel adapter: a real redis-server, the real
// timeline service and the real adapter executable as child processes, real
// HTTP in, gRPC reads out.
//
//   class WebAdapterTest : public AdapterEndToEndTest {
//    protected:
//     WebAdapterTest() : AdapterEndToEndTest(OMNIHUB_WEB_ADAPTER_BINARY,
//                                            {"--write_keys=site-1"}) {}
//   };
#ifndef OMNIHUB_TESTS_INTEGRATION_ADAPTER_FIXTURE_H_
#define OMNIHUB_TESTS_INTEGRATION_ADAPTER_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "omnihub/v1/timeline.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/redis_server.h"

namespace omnihub::testing {

class AdapterEndToEndTest : public ::testing::Test {
 protected:
  AdapterEndToEndTest(std::string adapter_binary,
                      std::vector<std::string> adapter_flags);

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
  // Number of keys in Redis (0 proves nothing was stored).
  int64_t RedisKeyCount();

  std::string directory_;
  std::unique_ptr<RedisServer> redis_;
  int hub_port_ = 0;
  int adapter_port_ = 0;
  std::unique_ptr<ChildProcess> hub_;
  std::unique_ptr<ChildProcess> adapter_;
  std::unique_ptr<v1::TimelineService::Stub> stub_;

 private:
  std::string adapter_binary_;
  std::vector<std::string> adapter_flags_;
};

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_INTEGRATION_ADAPTER_FIXTURE_H_

// The adapters' HTTP intake under more connections than it serves: end to
// end through the phone adapter with one thread and room for one waiting
// connection. A connection beyond that is answered at once, 503 with
// Retry-After and a JSON body, instead of waiting without end.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/integration/adapter_fixture.h"

namespace omnihub::testing {
namespace {

// A connection that sends nothing: the thread that takes it waits for a
// request line until the read timeout.
class SilentConnection {
 public:
  explicit SilentConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address),
                         sizeof(address)) == 0;
  }
  ~SilentConnection() { close(fd_); }
  bool connected() const { return connected_; }

  bool Send(const std::string& text) {
    return send(fd_, text.data(), text.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(text.size());
  }
  // Whether the server closes the connection within `timeout` (having
  // written nothing, or an error answer, before).
  bool ClosedWithin(absl::Duration timeout) {
    const timeval wait = absl::ToTimeval(timeout);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
    char buffer[4096];
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      const ssize_t got = recv(fd_, buffer, sizeof(buffer), 0);
      if (got == 0 || (got < 0 && errno == ECONNRESET)) return true;
      if (got < 0) return false;  // timed out
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class HttpOverloadTest : public AdapterEndToEndTest {
 protected:
  HttpOverloadTest()
      : AdapterEndToEndTest(OMNIHUB_PHONE_ADAPTER_BINARY,
                            {"--http_threads=1", "--http_max_queued=1"}) {}
};

TEST_F(HttpOverloadTest, ConnectionsBeyondTheQueueGet503WithRetryAfter) {
  auto served = std::make_unique<SilentConnection>(adapter_port_);
  ASSERT_TRUE(served->connected());  // holds the one thread
  absl::SleepFor(absl::Milliseconds(200));
  auto waiting = std::make_unique<SilentConnection>(adapter_port_);
  ASSERT_TRUE(waiting->connected());  // fills the queue
  absl::SleepFor(absl::Milliseconds(200));

  httplib::Client client("127.0.0.1", adapter_port_);
  client.set_read_timeout(30, 0);
  const absl::Time started = absl::Now();
  auto refused =
      client.Post("/v1/calls", R"([{"call_id": "x"}])", "application/json");
  ASSERT_TRUE(refused) << "no answer";
  EXPECT_LT(absl::Now() - started, absl::Seconds(2)) << "it waited";
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(refused->get_header_value("Retry-After"), "5");
  nlohmann::json body = nlohmann::json::parse(refused->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << refused->body;
  EXPECT_EQ(body["error"]["status"], 503);
  EXPECT_THAT(body["error"]["message"].get<std::string>(),
              ::testing::HasSubstr("overloaded"));
  // Once they go, the adapter serves again, and counted the refusal.
  served.reset();
  waiting.reset();
  EXPECT_TRUE(WaitUntil(
      [&] {
        return MetricValue(FetchMetrics(), "omnihub_http_requests_total",
                           {{"route", "calls"}, {"code", "503"}}) == 1;
      },
      absl::Seconds(15)));
}

class HttpTimeoutTest : public AdapterEndToEndTest {
 protected:
  HttpTimeoutTest()
      : AdapterEndToEndTest(OMNIHUB_PHONE_ADAPTER_BINARY,
                            {"--http_threads=1", "--http_read_timeout=500ms",
                             "--http_keep_alive_timeout=1s"}) {}
};

// A sender that stops half-way through its headers is answered 400 after
// --http_read_timeout and its connection closed after
// --http_keep_alive_timeout, giving its thread back (cpp-httplib's own
// defaults would hold it for 5 + 5 s).
TEST_F(HttpTimeoutTest, StalledSenderIsCutOffAfterTheReadTimeout) {
  SilentConnection stalled(adapter_port_);
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(stalled.Send("POST /v1/calls HTTP/1.1\r\nHost: x\r\nContent-"));
  const absl::Time started = absl::Now();
  EXPECT_TRUE(stalled.ClosedWithin(absl::Seconds(3)));
  EXPECT_LT(absl::Now() - started, absl::Milliseconds(2500));
  // The one thread is free again.
  httplib::Client client("127.0.0.1", adapter_port_);
  client.set_read_timeout(5, 0);
  auto answered = client.Post("/v1/calls", "[]", "application/json");
  ASSERT_TRUE(answered);
  EXPECT_NE(answered->status, 503) << answered->body;
}

}  // namespace
}  // namespace omnihub::testing

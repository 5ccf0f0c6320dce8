// A real redis-server for one test, on a free loopback port, with its own
// data directory; stopped and removed when the object goes.
//
//   auto redis = RedisServer::Start();
//   ASSERT_TRUE(redis.ok()) << redis.status();
//   client_options.port = (*redis)->port();
//   (*redis)->Kill();      // as if it crashed
//   (*redis)->Restart();   // back on the same port
//   // A replica of it:
//   auto replica = RedisServer::Start({"--replicaof", "127.0.0.1",
//                                      std::to_string((*redis)->port())});
#ifndef OMNIHUB_TESTS_SUPPORT_REDIS_SERVER_H_
#define OMNIHUB_TESTS_SUPPORT_REDIS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/redis_client.h"
#include "tests/support/child_process.h"

namespace omnihub::testing {

class RedisServer {
 public:
  // `extra_args` are passed to redis-server, e.g. {"--requirepass", "pw"}.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      std::vector<std::string> extra_args = {});
  ~RedisServer();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  std::string address() const;

  absl::Status Kill();     // SIGKILL, and wait for it to go
  absl::Status Stop();     // SIGTERM, and wait for it to go
  absl::Status Restart();  // start again on the same port, wait for PING
  // Any signal, e.g. SIGSTOP to freeze it (a replica that stops answering
  // its master) and SIGCONT to let it go on.
  absl::Status Signal(int signal);

  // Runs one command over a short-lived connection of its own (with the
  // server's password, if one was given as --requirepass).
  absl::StatusOr<redis::Reply> Command(const std::vector<std::string>& argv);

 private:
  RedisServer(std::string binary, std::string directory, int port,
              std::vector<std::string> extra_args);
  absl::Status Launch();

  std::string binary_;
  std::string directory_;
  std::string host_ = "127.0.0.1";
  int port_;
  std::vector<std::string> extra_args_;
  std::string password_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_SUPPORT_REDIS_SERVER_H_

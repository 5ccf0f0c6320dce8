#include "tests/support/redis_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/redis/hiredis_reply.h"
#include "tests/support/file_text.h"
#include "tests/support/free_port.h"

namespace omnihub::testing {
namespace {

std::string FindRedisServer() {
  const char* path = std::getenv("PATH");
  std::vector<std::string> places;
  if (path != nullptr) places = absl::StrSplit(path, ':');
  places.push_back("/usr/bin");
  places.push_back("/usr/sbin");
  for (const std::string& place : places) {
    const std::string candidate = place + "/redis-server";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string Tail(const std::string& path) {
  const std::string all = FileText(path);
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    std::vector<std::string> extra_args) {
  const std::string binary = FindRedisServer();
  if (binary.empty()) {
    return absl::NotFoundError(
        "redis-server is not installed (scripts/install-deps.sh installs it)");
  }
  char pattern[] = "/tmp/omnihub-redis-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return absl::InternalError("cannot make a temporary directory");
  }
  absl::StatusOr<int> port = PickFreeLoopbackPort();
  if (!port.ok()) return port.status();
  std::unique_ptr<RedisServer> server(
      new RedisServer(binary, pattern, *port, std::move(extra_args)));
  if (absl::Status status = server->Launch(); !status.ok()) return status;
  return server;
}

RedisServer::RedisServer(std::string binary, std::string directory, int port,
                         std::vector<std::string> extra_args)
    : binary_(std::move(binary)),
      directory_(std::move(directory)),
      port_(port),
      extra_args_(std::move(extra_args)) {
  for (size_t i = 0; i + 1 < extra_args_.size(); ++i) {
    if (extra_args_[i] == "--requirepass") password_ = extra_args_[i + 1];
  }
}

RedisServer::~RedisServer() {
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string RedisServer::address() const {
  return absl::StrCat(host_, ":", port_);
}

absl::Status RedisServer::Launch() {
  std::vector<std::string> args = {
      "--bind",       host_,      "--port",      absl::StrCat(port_),
      "--dir",        directory_, "--save",      "",
      "--appendonly", "no",       "--daemonize", "no"};
  for (const std::string& arg : extra_args_) args.push_back(arg);
  const std::string log = directory_ + "/redis.log";
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(binary_, args, {}, log);
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  for (int attempt = 0; attempt < 200; ++attempt) {
    absl::StatusOr<redis::Reply> pong = Command({"PING"});
    if (pong.ok() && pong->str == "PONG") return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(25));
  }
  process_.reset();  // so that Restart() may try again
  return absl::UnavailableError(absl::StrCat("redis-server on ", address(),
                                             " never answered PING; its log:\n",
                                             Tail(log)));
}

absl::Status RedisServer::Kill() {
  if (!process_) return absl::FailedPreconditionError("not running");
  if (absl::Status status = process_->Signal(SIGKILL); !status.ok()) {
    return status;
  }
  absl::StatusOr<int> exit = process_->Wait(absl::Seconds(10));
  process_.reset();
  return exit.status();
}

absl::Status RedisServer::Stop() {
  if (!process_) return absl::FailedPreconditionError("not running");
  if (absl::Status status = process_->Signal(SIGTERM); !status.ok()) {
    return status;
  }
  absl::StatusOr<int> exit = process_->Wait(absl::Seconds(10));
  process_.reset();
  return exit.status();
}

absl::Status RedisServer::Signal(int signal) {
  if (!process_) return absl::FailedPreconditionError("not running");
  return process_->Signal(signal);
}

absl::Status RedisServer::Restart() {
  if (process_) return absl::FailedPreconditionError("still running");
  return Launch();
}

absl::StatusOr<redis::Reply> RedisServer::Command(
    const std::vector<std::string>& argv) {
  struct timeval timeout = {2, 0};
  redisContext* context =
      redisConnectWithTimeout(host_.c_str(), port_, timeout);
  if (context == nullptr || context->err) {
    std::string error = context ? context->errstr : "out of memory";
    if (context) redisFree(context);
    return absl::UnavailableError(error);
  }
  redisSetTimeout(context, timeout);
  redis::BuildRepliesAsValues(context->reader);
  auto run = [&](const std::vector<std::string>& command) {
    return redis::CommandAndWait(context, command);
  };
  absl::StatusOr<redis::Reply> result =
      password_.empty() ? run(argv) : run({"AUTH", password_});
  if (result.ok() && !password_.empty()) result = run(argv);
  redisFree(context);
  return result;
}

}  // namespace omnihub::testing

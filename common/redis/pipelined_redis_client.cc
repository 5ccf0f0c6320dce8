#include "common/redis/pipelined_redis_client.h"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <limits>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/redis/call_scope.h"
#include "common/redis/hiredis_reply.h"

namespace omnihub::redis {
namespace {

struct Command {
  std::vector<std::string> argv;
  ReplyCallback done;
  absl::Time queued_at;
  absl::Time deadline = absl::InfiniteFuture();
  size_t bytes = 0;  // of the arguments, as the queue's bound counts them
};

size_t BytesOf(const std::vector<std::string>& argv) {
  size_t bytes = 0;
  for (const std::string& arg : argv) bytes += arg.size();
  return bytes;
}

enum class SubmitResult { kQueued, kDown, kFull, kStopping };

// AUTH and SELECT (and a PING when `ping`, which a Redis that wants a
// password refuses with NOAUTH), on a context that builds Reply values; an
// empty string when all went well. The password never appears in what is
// returned.
std::string Handshake(redisContext* context, const RedisClientOptions& options,
                      bool ping = false) {
  std::vector<std::vector<std::string>> commands;
  if (!options.password.empty()) {
    if (options.user.empty()) {
      commands.push_back({"AUTH", options.password});
    } else {
      commands.push_back({"AUTH", options.user, options.password});
    }
  }
  if (options.db != 0) {
    commands.push_back({"SELECT", absl::StrCat(options.db)});
  }
  if (ping) commands.push_back({"PING"});
  for (const auto& argv : commands) {
    absl::StatusOr<Reply> reply = CommandAndWait(context, argv);
    if (!reply.ok()) return std::string(reply.status().message());
    if (reply->is_error()) {
      return absl::StrCat(argv[0],
                          options.user.empty() || argv[0] != "AUTH"
                              ? ""
                              : absl::StrCat(" as user ", options.user),
                          " refused: ", reply->str);
    }
  }
  return "";
}

}  // namespace

// One connection and the thread that owns it. The hiredis context is touched
// only by that thread.
class PipelinedRedisClient::Connection {
 public:
  Connection(const RedisClientOptions* options, std::string address,
             RedisMetrics* metrics)
      : options_(options), address_(std::move(address)), metrics_(metrics) {
    thread_ = std::thread([this] { Run(); });
  }

  ~Connection() { Stop(); }

  bool up() const { return up_.load(std::memory_order_acquire); }
  // Commands queued or in the round trip under way, not yet answered.
  size_t outstanding() const {
    return outstanding_.load(std::memory_order_relaxed);
  }

  // Queues all of `commands` unless the connection is down, full or
  // stopping; only kQueued takes them. The state is read under the lock that
  // Disconnect() holds, so nothing is queued on a connection already known to
  // be lost (it would wait for the next failed connect attempt to be failed).
  SubmitResult SubmitAll(std::vector<Command>& commands) {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return SubmitResult::kStopping;
    if (!up_.load(std::memory_order_relaxed)) return SubmitResult::kDown;
    size_t bytes = 0;
    for (const Command& command : commands) bytes += command.bytes;
    if (queue_.size() + commands.size() > options_->max_queued) {
      return SubmitResult::kFull;
    }
    if (!queue_.empty() && queued_bytes_ + bytes > options_->max_queued_bytes) {
      return SubmitResult::kFull;
    }
    queued_bytes_ += bytes;
    outstanding_.fetch_add(commands.size(), std::memory_order_relaxed);
    for (Command& command : commands) queue_.push_back(std::move(command));
    return SubmitResult::kQueued;
  }

  std::string last_error() {
    absl::MutexLock lock(&mutex_);
    return last_error_;
  }

  // Lets the thread send what is queued, then joins it. Idempotent.
  void Stop() {
    {
      absl::MutexLock lock(&mutex_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    absl::Duration backoff = options_->reconnect_backoff_min;
    absl::BitGen jitter;
    bool ever_connected = false;
    while (true) {
      if (context_ == nullptr) {
        if (Connect()) {
          if (ever_connected && metrics_) metrics_->CountReconnect();
          ever_connected = true;
          backoff = options_->reconnect_backoff_min;
        } else {
          FailQueued();
          absl::MutexLock lock(&mutex_);
          if (stopping_) return;
          // Full jitter keeps many replicas from reconnecting in lockstep.
          const absl::Duration wait =
              backoff * absl::Uniform(jitter, 0.0, 1.0) + absl::Milliseconds(1);
          mutex_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
          backoff = std::min(backoff * 2, options_->reconnect_backoff_max);
          continue;
        }
      }
      std::vector<Command> batch;
      std::vector<Command> expired;
      {
        absl::MutexLock lock(&mutex_);
        auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
          return !queue_.empty() || stopping_;
        };
        mutex_.AwaitWithTimeout(absl::Condition(&has_work),
                                options_->idle_ping_interval);
        if (queue_.empty() && stopping_) break;
        const size_t take = std::min(queue_.size(), options_->max_pipeline);
        batch.reserve(take);
        const absl::Time now = absl::Now();
        for (size_t i = 0; i < take; ++i) {
          queued_bytes_ -= queue_.front().bytes;
          // Whoever waited for it has given up: not worth Redis's time.
          (queue_.front().deadline <= now ? expired : batch)
              .push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      for (Command& command : expired) {
        if (metrics_) metrics_->CountError(RedisMetrics::Error::kTimeout);
        Answered();
        std::move(command.done)(DeadlinePassedBeforeSending());
      }
      if (batch.empty() && !expired.empty()) continue;
      if (batch.empty()) {
        Ping();
      } else {
        SendBatch(batch);
      }
    }
    Disconnect();
  }

  bool Connect() {
    const struct timeval timeout = absl::ToTimeval(options_->connect_timeout);
    redisContext* context = redisConnectWithTimeout(options_->host.c_str(),
                                                    options_->port, timeout);
    std::string error;
    if (context == nullptr) {
      error = "cannot allocate a connection";
    } else if (context->err) {
      error = context->errstr;
    } else {
      const struct timeval read_timeout =
          absl::ToTimeval(options_->command_timeout);
      redisSetTimeout(context, read_timeout);
      BuildRepliesAsValues(context->reader);
      error = Handshake(context, *options_);
    }
    if (!error.empty()) {
      if (context != nullptr) redisFree(context);
      if (!attempt_failed_logged_) {
        log::Warning(
            "Redis at %s is unreachable: %s; retrying in the "
            "background",
            address_, error);
        attempt_failed_logged_ = true;
      }
      absl::MutexLock lock(&mutex_);
      last_error_ = std::move(error);
      return false;
    }
    context_ = context;
    {
      absl::MutexLock lock(&mutex_);
      up_.store(true, std::memory_order_release);
    }
    if (metrics_) metrics_->ConnectionOpened();
    if (attempt_failed_logged_)
      log::Info("Redis at %s is reachable again", address_);
    attempt_failed_logged_ = false;
    return true;
  }

  void Disconnect() {
    if (context_ == nullptr) return;
    redisFree(context_);
    context_ = nullptr;
    {
      absl::MutexLock lock(&mutex_);
      up_.store(false, std::memory_order_release);
    }
    if (metrics_) metrics_->ConnectionClosed();
  }

  void Ping() {
    std::vector<Command> batch(1);
    batch[0].argv = {"PING"};
    batch[0].done = [](absl::StatusOr<Reply>) {};
    batch[0].queued_at = absl::Now();
    SendBatch(batch, /*count=*/false);
  }

  // Writes the whole batch as RESP, then reads the replies in order. The
  // batch is formatted here into one buffer and written with a moving
  // offset: hiredis 0.14 keeps its output buffer as one sds and shifts what
  // is left after every partial write, which made large pipelines cost time
  // quadratic in their size. `count`: the batch is of queued commands
  // (counted in the metrics and in outstanding()), not the idle PING.
  void SendBatch(std::vector<Command>& batch, bool count = true) {
    out_.clear();
    for (const Command& command : batch) AppendResp(command.argv, &out_);
    if (!WriteAll(out_)) return FailBatch(batch, 0, count);
    for (size_t i = 0; i < batch.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK) {
        return FailBatch(batch, i, count);
      }
      Reply converted = TakeBuiltReply(raw);
      if (count && metrics_) {
        metrics_->ObserveCommand(
            batch[i].argv[0],
            absl::ToDoubleSeconds(absl::Now() - batch[i].queued_at));
        if (converted.is_error()) {
          metrics_->CountError(RedisMetrics::Error::kErrorReply);
        }
      }
      if (count) Answered();
      std::move(batch[i].done)(std::move(converted));
    }
  }

  static void AppendResp(const std::vector<std::string>& argv,
                         std::string* out) {
    absl::StrAppend(out, "*", argv.size(), "\r\n");
    for (const std::string& arg : argv) {
      absl::StrAppend(out, "$", arg.size(), "\r\n", arg, "\r\n");
    }
  }

  // False with context_->err set, as hiredis would, when the write fails or
  // times out (SO_SNDTIMEO).
  bool WriteAll(const std::string& buffer) {
    size_t written = 0;
    while (written < buffer.size()) {
      const ssize_t n =
          write(context_->fd, buffer.data() + written, buffer.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        context_->err = REDIS_ERR_IO;
        snprintf(context_->errstr, sizeof(context_->errstr), "%s",
                 std::strerror(errno));
        return false;
      }
      written += static_cast<size_t>(n);
    }
    return true;
  }

  // The connection failed at command `first` of the batch: it and all after
  // it fail, and the connection is re-made.
  void FailBatch(std::vector<Command>& batch, size_t first, bool count) {
    // SO_RCVTIMEO/SO_SNDTIMEO expiring is an I/O error with EAGAIN; errno
    // alone could be stale (futex waits leave EAGAIN behind).
    const bool timed_out = context_->err == REDIS_ERR_IO &&
                           (errno == EAGAIN || errno == EWOULDBLOCK);
    const std::string error = context_->errstr;
    Disconnect();
    absl::Status status =
        timed_out ? absl::DeadlineExceededError(absl::StrCat(
                        "Redis at ", address_, " did not answer within ",
                        absl::FormatDuration(options_->command_timeout)))
                  : absl::UnavailableError(absl::StrCat(
                        "lost the connection to Redis at ", address_, ": ",
                        error, " (the command may or may not have run)"));
    {
      absl::MutexLock lock(&mutex_);
      last_error_ = error;
    }
    for (size_t j = first; j < batch.size(); ++j) Fail(batch[j], status, count);
  }
  void Fail(Command& command, const absl::Status& status, bool count = true) {
    if (count) Answered();
    if (count && metrics_) {
      metrics_->CountError(status.code() == absl::StatusCode::kDeadlineExceeded
                               ? RedisMetrics::Error::kTimeout
                               : RedisMetrics::Error::kUnavailable);
    }
    std::move(command.done)(status);
  }

  // A queued command leaves the count before its callback runs, so a call
  // made from that callback already sees it gone.
  void Answered() { outstanding_.fetch_sub(1, std::memory_order_relaxed); }

  void FailQueued() {
    std::deque<Command> failed;
    std::string error;
    {
      absl::MutexLock lock(&mutex_);
      failed.swap(queue_);
      queued_bytes_ = 0;
      error = last_error_;
    }
    const absl::Status status = absl::UnavailableError(
        absl::StrCat("Redis at ", address_, " is unreachable: ", error,
                     "; reconnecting in the background"));
    for (Command& command : failed) Fail(command, status);
  }

  const RedisClientOptions* options_;
  const std::string address_;
  RedisMetrics* metrics_;
  redisContext* context_ = nullptr;  // only the thread touches it
  std::string out_;                  // the batch being written, reused
  bool attempt_failed_logged_ = false;
  std::atomic<bool> up_{false};
  std::atomic<size_t> outstanding_{0};
  absl::Mutex mutex_;
  std::deque<Command> queue_ ABSL_GUARDED_BY(mutex_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::string last_error_ ABSL_GUARDED_BY(mutex_) = "not connected yet";
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<PipelinedRedisClient>>
PipelinedRedisClient::Create(RedisClientOptions options,
                             RedisMetrics* metrics) {
  if (options.host.empty()) {
    return absl::InvalidArgumentError("Redis host must be set");
  }
  if (options.port <= 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("Redis port ", options.port, " is out of range"));
  }
  if (options.connections < 1 || options.max_pipeline < 1) {
    return absl::InvalidArgumentError(
        "Redis connections and max_pipeline must be at least 1");
  }
  return std::unique_ptr<PipelinedRedisClient>(
      new PipelinedRedisClient(std::move(options), metrics));
}

absl::Status PipelinedRedisClient::CheckHandshake(
    const RedisClientOptions& options) {
  const std::string address = absl::StrCat(options.host, ":", options.port);
  redisContext* context =
      redisConnectWithTimeout(options.host.c_str(), options.port,
                              absl::ToTimeval(options.connect_timeout));
  if (context == nullptr || context->err) {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "Redis at ", address, " is unreachable: ",
        context == nullptr ? "cannot allocate a connection" : context->errstr));
    if (context != nullptr) redisFree(context);
    return status;
  }
  redisSetTimeout(context, absl::ToTimeval(options.command_timeout));
  BuildRepliesAsValues(context->reader);
  const std::string error = Handshake(context, options, /*ping=*/true);
  // A reply that never came (a timeout) is the network's fault, not a
  // refusal.
  const bool refused = !error.empty() && context->err == 0;
  redisFree(context);
  if (error.empty()) return absl::OkStatus();
  if (!refused) {
    return absl::UnavailableError(
        absl::StrCat("Redis at ", address, " did not answer: ", error));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("Redis at ", address, ": ", error));
}

PipelinedRedisClient::PipelinedRedisClient(RedisClientOptions options,
                                           RedisMetrics* metrics)
    : options_(std::move(options)),
      address_(absl::StrCat(options_.host, ":", options_.port)),
      metrics_(metrics) {
  for (int i = 0; i < options_.connections; ++i) {
    connections_.push_back(
        std::make_unique<Connection>(&options_, address_, metrics));
  }
}

PipelinedRedisClient::~PipelinedRedisClient() { Shutdown(); }

void PipelinedRedisClient::Shutdown() {
  for (auto& connection : connections_) connection->Stop();
}

bool PipelinedRedisClient::connected() const {
  for (const auto& connection : connections_) {
    if (connection->up()) return true;
  }
  return false;
}

void PipelinedRedisClient::Execute(std::vector<std::string> argv,
                                   ReplyCallback done) {
  if (argv.empty()) {
    std::move(done)(absl::InvalidArgumentError("empty Redis command"));
    return;
  }
  std::vector<std::vector<std::string>> commands;
  commands.push_back(std::move(argv));
  std::vector<ReplyCallback> callbacks;
  callbacks.push_back(std::move(done));
  ExecuteInOrder(LeastBusy(), std::move(commands), std::move(callbacks));
}

size_t PipelinedRedisClient::LeastBusy() {
  const size_t count = connections_.size();
  const size_t turn = next_connection_.fetch_add(1, std::memory_order_relaxed);
  size_t chosen = turn % count;
  size_t least = std::numeric_limits<size_t>::max();
  for (size_t i = 0; i < count; ++i) {
    const size_t index = (turn + i) % count;
    const Connection& connection = *connections_[index];
    if (!connection.up()) continue;
    if (const size_t load = connection.outstanding(); load < least) {
      least = load;
      chosen = index;
    }
  }
  return chosen;
}

void PipelinedRedisClient::ExecuteAll(
    std::vector<std::vector<std::string>> commands,
    std::vector<ReplyCallback> done) {
  if (commands.size() != done.size()) {
    return RedisClient::ExecuteAll(std::move(commands), std::move(done));
  }
  // An empty command fails alone, as with Execute (ExecuteInOrder would
  // fail the whole batch).
  std::vector<std::vector<std::string>> sent;
  std::vector<ReplyCallback> answers;
  sent.reserve(commands.size());
  answers.reserve(done.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].empty()) {
      std::move(done[i])(absl::InvalidArgumentError("empty Redis command"));
    } else {
      sent.push_back(std::move(commands[i]));
      answers.push_back(std::move(done[i]));
    }
  }
  if (sent.empty()) return;
  const size_t affinity = LeastBusy();
  if (sent.size() <= options_.max_pipeline) {
    return ExecuteInOrder(affinity, std::move(sent), std::move(answers));
  }
  // In pieces of a pipeline's length, so that a long call is not refused
  // whole by a queue bound that its commands one by one would have passed.
  for (size_t first = 0; first < sent.size(); first += options_.max_pipeline) {
    const size_t end = std::min(sent.size(), first + options_.max_pipeline);
    ExecuteInOrder(affinity,
                   {std::make_move_iterator(sent.begin() + first),
                    std::make_move_iterator(sent.begin() + end)},
                   {std::make_move_iterator(answers.begin() + first),
                    std::make_move_iterator(answers.begin() + end)});
  }
}

void PipelinedRedisClient::ExecuteInOrder(
    size_t affinity, std::vector<std::vector<std::string>> commands,
    std::vector<ReplyCallback> done) {
  for (const auto& argv : commands) {
    if (argv.empty() || commands.size() != done.size()) {
      for (ReplyCallback& callback : done) {
        std::move(callback)(absl::InvalidArgumentError("empty Redis command"));
      }
      return;
    }
  }
  // A call already given up on sends nothing.
  if (absl::Status wanted = CurrentCallStatus(); !wanted.ok()) {
    for (ReplyCallback& callback : done) std::move(callback)(wanted);
    return;
  }
  const absl::Time now = absl::Now();
  const absl::Time deadline = CurrentCallScope().deadline;
  std::vector<Command> queued;
  queued.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    const size_t bytes = BytesOf(commands[i]);
    queued.push_back(Command{std::move(commands[i]), std::move(done[i]), now,
                             deadline, bytes});
  }
  bool any_full = false;
  bool stopping = false;
  for (size_t i = 0; i < connections_.size(); ++i) {
    Connection& connection =
        *connections_[(affinity + i) % connections_.size()];
    switch (connection.SubmitAll(queued)) {
      case SubmitResult::kQueued:
        return;
      case SubmitResult::kFull:
        any_full = true;
        break;
      case SubmitResult::kStopping:
        stopping = true;
        break;
      case SubmitResult::kDown:
        break;
    }
  }
  absl::Status status;
  if (stopping) {
    status = absl::UnavailableError(absl::StrCat(
        "the client of Redis at ", address_, " has been shut down"));
  } else if (any_full) {
    if (metrics_) metrics_->CountError(RedisMetrics::Error::kOverloaded);
    status = absl::ResourceExhaustedError(
        absl::StrCat("more than ", options_.max_queued, " commands or ",
                     options_.max_queued_bytes,
                     " bytes are waiting for Redis at ", address_));
  } else {
    if (metrics_) metrics_->CountError(RedisMetrics::Error::kUnavailable);
    status = absl::UnavailableError(absl::StrCat(
        "Redis at ", address_, " is unreachable: ",
        connections_[0]->last_error(), "; reconnecting in the background"));
  }
  for (Command& command : queued) std::move(command.done)(status);
}

}  // namespace omnihub::redis

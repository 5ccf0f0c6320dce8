#include "common/http_intake/bounded_task_queue.h"

#include <algorithm>

namespace omnihub::http_intake {
namespace {

thread_local bool answering_overload = false;

// Runs `connection` with AnsweringOverload() true.
void RunRefusing(std::function<void()>& connection) {
  answering_overload = true;
  connection();
  answering_overload = false;
}

}  // namespace

bool AnsweringOverload() { return answering_overload; }

BoundedTaskQueue::BoundedTaskQueue(size_t threads, size_t max_queued,
                                   size_t max_refusals_queued)
    : max_queued_(max_queued),
      max_refusals_queued_(std::max<size_t>(max_refusals_queued, 1)) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    threads_.emplace_back([this] { Serve(); });
  }
  refusal_thread_ = std::thread([this] { Refuse(); });
}

BoundedTaskQueue::~BoundedTaskQueue() { shutdown(); }

void BoundedTaskQueue::enqueue(std::function<void()> connection) {
  {
    absl::MutexLock lock(&mutex_);
    if (queue_.size() < max_queued_) {
      queue_.push_back(std::move(connection));
      return;
    }
    if (refusals_.size() < max_refusals_queued_) {
      refusals_.push_back(std::move(connection));
      return;
    }
  }
  // Every queue full: the accepting thread answers this one itself, which
  // also slows accepting down to what can be answered.
  RunRefusing(connection);
}

void BoundedTaskQueue::shutdown() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
  refusal_thread_.join();
}

void BoundedTaskQueue::Serve() {
  while (true) {
    std::function<void()> connection;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return !queue_.empty() || stopping_;
      };
      mutex_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;
      connection = std::move(queue_.front());
      queue_.pop_front();
    }
    connection();
  }
}

void BoundedTaskQueue::Refuse() {
  while (true) {
    std::function<void()> connection;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return !refusals_.empty() || stopping_;
      };
      mutex_.Await(absl::Condition(&ready));
      if (refusals_.empty()) return;
      connection = std::move(refusals_.front());
      refusals_.pop_front();
    }
    RunRefusing(connection);
  }
}

}  // namespace omnihub::http_intake

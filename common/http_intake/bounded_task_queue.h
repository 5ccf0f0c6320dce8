// cpp-httplib's connection queue, bounded: `threads` threads serve
// connections, at most `max_queued` wait for one, and a connection beyond
// that is handed to one small "refusal" thread that answers its request at
// once (HttpIntake answers 503 with Retry-After while
// AnsweringOverload() is true) instead of letting it wait without end.
// Should even the refusal thread be behind, the accepting thread answers.
//
//   server.new_task_queue = [] { return new BoundedTaskQueue(8, 256); };
#ifndef OMNIHUB_COMMON_HTTP_INTAKE_BOUNDED_TASK_QUEUE_H_
#define OMNIHUB_COMMON_HTTP_INTAKE_BOUNDED_TASK_QUEUE_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "httplib.h"

namespace omnihub::http_intake {

// True on a thread answering a connection the queue had no room for.
bool AnsweringOverload();

class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t threads, size_t max_queued,
                   size_t max_refusals_queued = 64);
  ~BoundedTaskQueue() override;

  void enqueue(std::function<void()> connection) override;
  void shutdown() override;

 private:
  void Serve();
  void Refuse();

  const size_t max_queued_;
  const size_t max_refusals_queued_;
  absl::Mutex mutex_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mutex_);
  std::deque<std::function<void()>> refusals_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
  std::thread refusal_thread_;
};

}  // namespace omnihub::http_intake

#endif  // OMNIHUB_COMMON_HTTP_INTAKE_BOUNDED_TASK_QUEUE_H_

// A few threads for the rare operations that take many Redis round trips in
// sequence (merges, erasure, export). They block while they wait for Redis,
// so they run here, never on a Redis client thread or in a gRPC reactor.
//
//   WorkerPool pool(2);
//   pool.Schedule([] { ... });  // runs on one of the pool's threads
#ifndef OMNIHUB_SERVICES_TIMELINE_WORKER_POOL_H_
#define OMNIHUB_SERVICES_TIMELINE_WORKER_POOL_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace omnihub::timeline {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  // Runs what is queued, then joins the threads.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Schedule(absl::AnyInvocable<void() &&> work);

 private:
  void Run();

  absl::Mutex mutex_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_WORKER_POOL_H_

// A few threads for the rare operations that take many Redis round trips in
// sequence (merges, erasures, exports). They block while they wait for Redis,
// so they run here, never on a Redis client thread or in a gRPC reactor.
//
// Bounded and shared fairly: each kind of work has its own queue of at most
// `max_queued_per_kind` jobs (a full one refuses at once, UNAVAILABLE: send
// again later), free threads take the kinds in turn, and (keep_one_free) no
// kind holds more than all threads but one, so merges and erasures never wait
// behind a run of huge exports. A job whose call was cancelled or whose
// deadline passed while it queued is dropped, not started.
//
//   WorkerPool pool(4, 1000, /*keep_one_free=*/true);
//   absl::Status queued = pool.Schedule(WorkKind::kExport, {
//       .run = [] { ... },                       // on one of the threads
//       .drop = [](absl::Status why) { ... },    // instead, if not wanted
//       .call = redis::CallScope{.deadline = ...}});
#ifndef OMNIHUB_SERVICES_TIMELINE_WORKER_POOL_H_
#define OMNIHUB_SERVICES_TIMELINE_WORKER_POOL_H_

#include <array>
#include <cstddef>
#include <deque>
#include <limits>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/call_scope.h"

namespace omnihub::timeline {

enum class WorkKind {
  kMerge,    // merges and links, for ingest
  kErasure,  // ForgetCustomer
  kExport,   // ExportCustomer
  kRead,     // ResolveCustomer, GetMergeLog
  kOther,    // anything else (e.g. the insights' fits and queries)
};
inline constexpr size_t kWorkKinds = 5;

struct WorkerJob {
  absl::AnyInvocable<void() &&> run = nullptr;
  // Runs instead of `run` (with CANCELLED or DEADLINE_EXCEEDED) when the
  // call is no longer wanted once a thread is free. May be empty.
  absl::AnyInvocable<void(absl::Status) &&> drop = nullptr;
  // Checked before the job starts.
  redis::CallScope call = {};
  // Run inside the call's scope, so its blocking Redis calls stop between
  // steps once the call is cancelled or past its deadline. Off for work
  // that is better finished once begun (a merge, an erasure).
  bool stop_between_steps = false;
};

class WorkerPool {
 public:
  // With `keep_one_free`, no kind holds more than all threads but one.
  explicit WorkerPool(
      int threads,
      size_t max_queued_per_kind = std::numeric_limits<size_t>::max(),
      bool keep_one_free = false);
  // Runs what is queued, then joins the threads.
  ~WorkerPool();

  WorkerPool(const WorkerPool &) = delete;
  WorkerPool &operator=(const WorkerPool &) = delete;

  // UNAVAILABLE, without running or dropping the job, when the kind's queue
  // is full.
  absl::Status Schedule(WorkKind kind, WorkerJob job);
  // Work of kind kOther that cannot be refused.
  void Schedule(absl::AnyInvocable<void() &&> work);

  // Most threads one kind may hold at once.
  int max_running_per_kind() const { return max_running_per_kind_; }

 private:
  void Run();
  // The kind a free thread takes next, or -1.
  int NextKind() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const size_t max_queued_per_kind_;
  int max_running_per_kind_ = 1;
  absl::Mutex mutex_;
  std::array<std::deque<WorkerJob>, kWorkKinds> queues_ ABSL_GUARDED_BY(mutex_);
  std::array<int, kWorkKinds> running_ ABSL_GUARDED_BY(mutex_) = {};
  size_t next_kind_ ABSL_GUARDED_BY(mutex_) = 0;  // where the turn starts
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_WORKER_POOL_H_

#include "services/timeline/worker_pool.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"

namespace omnihub::timeline {
namespace {

const char* NameOf(WorkKind kind) {
  switch (kind) {
    case WorkKind::kMerge:
      return "merges";
    case WorkKind::kErasure:
      return "erasures";
    case WorkKind::kExport:
      return "exports";
    case WorkKind::kRead:
      return "merge-log and resolve reads";
    case WorkKind::kOther:
      return "background work";
  }
  return "work";
}

}  // namespace

WorkerPool::WorkerPool(int threads, size_t max_queued_per_kind,
                       bool keep_one_free)
    : max_queued_per_kind_(std::max<size_t>(max_queued_per_kind, 1)) {
  threads = std::max(threads, 1);
  // One thread always left for the other kinds (none to leave with one).
  max_running_per_kind_ = keep_one_free ? std::max(threads - 1, 1) : threads;
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Run(); });
  }
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

absl::Status WorkerPool::Schedule(WorkKind kind, WorkerJob job) {
  absl::MutexLock lock(&mutex_);
  std::deque<WorkerJob>& queue = queues_[static_cast<size_t>(kind)];
  if (queue.size() >= max_queued_per_kind_) {
    return absl::UnavailableError(absl::StrCat(
        "the hub is overloaded: ", max_queued_per_kind_, " ", NameOf(kind),
        " are already waiting (--worker_max_queued); send again later"));
  }
  queue.push_back(std::move(job));
  return absl::OkStatus();
}

void WorkerPool::Schedule(absl::AnyInvocable<void() &&> work) {
  WorkerJob job;
  job.run = std::move(work);
  absl::MutexLock lock(&mutex_);
  queues_[static_cast<size_t>(WorkKind::kOther)].push_back(std::move(job));
}

int WorkerPool::NextKind() const {
  for (size_t i = 0; i < kWorkKinds; ++i) {
    const size_t kind = (next_kind_ + i) % kWorkKinds;
    if (!queues_[kind].empty() && running_[kind] < max_running_per_kind_) {
      return static_cast<int>(kind);
    }
  }
  return -1;
}

void WorkerPool::Run() {
  while (true) {
    WorkerJob job;
    size_t kind;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        if (NextKind() >= 0) return true;
        if (!stopping_) return false;
        for (const auto& queue : queues_) {
          if (!queue.empty()) return false;  // a running job frees a share
        }
        return true;
      };
      mutex_.Await(absl::Condition(&ready));
      const int next = NextKind();
      if (next < 0) return;  // stopping, nothing queued
      kind = static_cast<size_t>(next);
      job = std::move(queues_[kind].front());
      queues_[kind].pop_front();
      ++running_[kind];
      next_kind_ = (kind + 1) % kWorkKinds;
    }
    std::optional<redis::ScopedCall> scope;
    absl::Status wanted;
    {
      redis::ScopedCall check(job.call);
      wanted = redis::CurrentCallStatus();
    }
    if (!wanted.ok()) {
      if (job.drop) std::move(job.drop)(std::move(wanted));
    } else {
      if (job.stop_between_steps) scope.emplace(std::move(job.call));
      std::move(job.run)();
    }
    scope.reset();
    job = WorkerJob();  // what it holds goes before the share is freed
    absl::MutexLock lock(&mutex_);
    --running_[kind];
  }
}

}  // namespace omnihub::timeline

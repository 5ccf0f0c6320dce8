#include "services/timeline/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

// Jobs that hold their thread until released, and the order jobs ran in.
class Jobs {
 public:
  WorkerJob Blocking(absl::Notification* started) {
    return {.run = [this, started] {
      started->Notify();
      release_.WaitForNotification();
    }};
  }
  WorkerJob Recording(std::string name) {
    return {.run = [this, name] {
      absl::MutexLock lock(&mutex_);
      ran_.push_back(name);
    }};
  }
  void Release() { release_.Notify(); }
  std::vector<std::string> ran() {
    absl::MutexLock lock(&mutex_);
    return ran_;
  }

 private:
  absl::Notification release_;
  absl::Mutex mutex_;
  std::vector<std::string> ran_ ABSL_GUARDED_BY(mutex_);
};

TEST(WorkerPoolTest, FullQueueOfAKindRefusesAtOnceOthersStillQueue) {
  Jobs jobs;
  WorkerPool pool(1, 2);
  absl::Notification started;
  ASSERT_TRUE(pool.Schedule(WorkKind::kExport, jobs.Blocking(&started)).ok());
  started.WaitForNotification();
  ASSERT_TRUE(pool.Schedule(WorkKind::kExport, jobs.Recording("e1")).ok());
  ASSERT_TRUE(pool.Schedule(WorkKind::kExport, jobs.Recording("e2")).ok());
  absl::Status refused = pool.Schedule(WorkKind::kExport, jobs.Recording("e3"));
  EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  EXPECT_NE(refused.message().find("exports"), std::string::npos) << refused;
  EXPECT_TRUE(pool.Schedule(WorkKind::kMerge, jobs.Recording("m1")).ok());
  jobs.Release();
}

// Two threads, both wanted by long exports: the second export waits, so a
// merge arriving after them runs at once.
TEST(WorkerPoolTest, OneKindNeverHoldsEveryThread) {
  Jobs jobs;
  WorkerPool pool(2, 100, /*keep_one_free=*/true);
  absl::Notification export_started;
  absl::Notification second_export_started;
  ASSERT_TRUE(
      pool.Schedule(WorkKind::kExport, jobs.Blocking(&export_started)).ok());
  ASSERT_TRUE(
      pool.Schedule(WorkKind::kExport, jobs.Blocking(&second_export_started))
          .ok());
  export_started.WaitForNotification();
  absl::Notification merged;
  ASSERT_TRUE(
      pool.Schedule(WorkKind::kMerge, {.run = [&merged] { merged.Notify(); }})
          .ok());
  EXPECT_TRUE(merged.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(second_export_started.HasBeenNotified());
  jobs.Release();
  EXPECT_TRUE(
      second_export_started.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

// Kinds take turns: a merge queued behind many exports runs next.
TEST(WorkerPoolTest, KindsTakeTurns) {
  Jobs jobs;
  {
    WorkerPool pool(1);
    absl::Notification started;
    ASSERT_TRUE(pool.Schedule(WorkKind::kRead, jobs.Blocking(&started)).ok());
    started.WaitForNotification();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          pool.Schedule(WorkKind::kExport, jobs.Recording("export")).ok());
    }
    ASSERT_TRUE(pool.Schedule(WorkKind::kMerge, jobs.Recording("merge")).ok());
    jobs.Release();
  }  // runs what is queued
  std::vector<std::string> ran = jobs.ran();
  ASSERT_EQ(ran.size(), 6u);
  // The read's turn passed on: the merge is next (or after one export).
  const auto merge = std::find(ran.begin(), ran.end(), "merge");
  EXPECT_LE(merge - ran.begin(), 1) << "the merge waited behind the exports";
}

TEST(WorkerPoolTest, CallGivenUpWhileQueuedIsDroppedNotRun) {
  std::atomic<int> runs{0};
  std::vector<absl::Status> dropped(2);
  {
    WorkerPool pool(1);
    WorkerJob cancelled{.run = [&] { ++runs; },
                        .drop = [&](absl::Status why) { dropped[0] = why; },
                        .call = {.cancelled = [] { return true; }}};
    WorkerJob late{.run = [&] { ++runs; },
                   .drop = [&](absl::Status why) { dropped[1] = why; },
                   .call = {.deadline = absl::Now() - absl::Seconds(1)}};
    ASSERT_TRUE(pool.Schedule(WorkKind::kExport, std::move(cancelled)).ok());
    ASSERT_TRUE(pool.Schedule(WorkKind::kExport, std::move(late)).ok());
  }
  EXPECT_EQ(runs.load(), 0);
  EXPECT_TRUE(absl::IsCancelled(dropped[0])) << dropped[0];
  EXPECT_TRUE(absl::IsDeadlineExceeded(dropped[1])) << dropped[1];
}

// A job that stops between steps sees its call's scope while it runs;
// one that does not (an erasure) runs free of it.
TEST(WorkerPoolTest, StopBetweenStepsRunsInTheCallsScope) {
  std::atomic<bool> cancel{false};
  absl::Status inside_stopping;
  absl::Status inside_finishing;
  {
    WorkerPool pool(1);
    auto cancelled = [&cancel] { return cancel.load(); };
    ASSERT_TRUE(
        pool.Schedule(WorkKind::kExport, {.run =
                                              [&] {
                                                cancel = true;
                                                inside_stopping =
                                                    redis::CurrentCallStatus();
                                                cancel = false;
                                              },
                                          .call = {.cancelled = cancelled},
                                          .stop_between_steps = true})
            .ok());
    ASSERT_TRUE(
        pool.Schedule(WorkKind::kErasure, {.run =
                                               [&] {
                                                 cancel = true;
                                                 inside_finishing =
                                                     redis::CurrentCallStatus();
                                                 cancel = false;
                                               },
                                           .call = {.cancelled = cancelled}})
            .ok());
  }
  EXPECT_TRUE(absl::IsCancelled(inside_stopping)) << inside_stopping;
  EXPECT_TRUE(inside_finishing.ok()) << inside_finishing;
}

}  // namespace
}  // namespace omnihub::timeline

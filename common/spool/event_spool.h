// A durable, append-only spool on local disk: what an adapter has accepted
// stays here until the hub has acknowledged it.
//
// Append returns only once the records are written and fsync'ed; concurrent
// appends share one fsync (group commit). Records carry a CRC, so after a
// crash a torn last record is found and cut off on open. An acknowledged
// position is kept in a small cursor file; everything after it is delivered
// again after a restart (at least once — the hub deduplicates by event_id).
//
//   auto spool = EventSpool::Open({.directory = "/var/lib/omnihub/phone"});
//   absl::StatusOr<uint64_t> last = (*spool)->Append({record_a, record_b});
//   auto batch = (*spool)->ReadBatch(100, 1 << 20, absl::Seconds(1));
//   (*spool)->Acknowledge(batch->back().sequence);
#ifndef OMNIHUB_COMMON_SPOOL_EVENT_SPOOL_H_
#define OMNIHUB_COMMON_SPOOL_EVENT_SPOOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace omnihub::spool {

struct EventSpoolOptions {
  std::string directory;
  // Undelivered bytes beyond which Append is RESOURCE_EXHAUSTED.
  uint64_t max_bytes = 1ull << 30;
  uint64_t segment_bytes = 64ull << 20;
  size_t max_record_bytes = 1 << 20;
  bool fsync = true;  // off only to measure what durability costs
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

struct SpooledRecord {
  uint64_t sequence = 0;
  absl::Time appended_at;
  std::string payload;
};

struct SpoolStats {
  uint64_t records = 0;  // not yet acknowledged
  uint64_t bytes = 0;    // of those records, on disk
  std::optional<absl::Time> oldest_appended_at;
};

class EventSpool {
 public:
  static absl::StatusOr<std::unique_ptr<EventSpool>> Open(
      EventSpoolOptions options);
  ~EventSpool();

  // Durable when it returns: the sequence number of the last record.
  // RESOURCE_EXHAUSTED when over the cap (nothing written), UNAVAILABLE when
  // the disk refused (nothing left half-written).
  absl::StatusOr<uint64_t> Append(std::vector<std::string> records);

  // The oldest records not yet handed out, waiting up to `wait` for some.
  absl::StatusOr<std::vector<SpooledRecord>> ReadBatch(size_t max_records,
                                                       size_t max_bytes,
                                                       absl::Duration wait);
  // Hands out again everything not acknowledged (after a failed delivery).
  void Rewind();
  // Everything up to `sequence` was delivered: forget it for good.
  absl::Status Acknowledge(uint64_t sequence);

  SpoolStats Stats();
  // Wakes a ReadBatch that is waiting (for shutdown).
  void Interrupt();

 private:
  struct Entry {
    uint64_t sequence;
    uint64_t segment;  // first sequence of its segment file
    uint64_t offset;
    uint32_t length;  // whole record on disk
    absl::Time appended_at;
  };
  struct Segment {
    uint64_t first_sequence;
    int fd;
    uint64_t size;
  };
  struct PendingAppend;

  explicit EventSpool(EventSpoolOptions options);
  absl::Status Recover();
  absl::Status ScanSegment(Segment& segment);
  absl::Status OpenSegment(uint64_t first_sequence);
  absl::Status WriteCursor(uint64_t acknowledged);
  void WriterLoop();
  absl::Status WriteBatch(std::vector<PendingAppend*>& batch);
  std::string SegmentPath(uint64_t first_sequence) const;

  EventSpoolOptions options_;
  absl::Mutex mutex_;
  absl::CondVar work_ready_;
  absl::CondVar work_done_;
  absl::CondVar records_ready_;
  std::deque<PendingAppend*> pending_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool interrupted_ ABSL_GUARDED_BY(mutex_) = false;
  std::deque<Segment> segments_ ABSL_GUARDED_BY(mutex_);
  std::deque<Entry> unacknowledged_ ABSL_GUARDED_BY(mutex_);
  size_t handed_out_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mutex_) = 1;
  uint64_t acknowledged_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t bytes_on_disk_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t undelivered_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t reserved_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread writer_;
};

}  // namespace omnihub::spool

#endif  // OMNIHUB_COMMON_SPOOL_EVENT_SPOOL_H_

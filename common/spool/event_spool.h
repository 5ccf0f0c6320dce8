// A durable, append-only spool on local disk: what an adapter has accepted
// stays here until the hub has acknowledged it.
//
// Append returns only once the records are written and fsync'ed; concurrent
// appends share one fsync (group commit). Records carry a CRC, so after a
// crash a torn last record of the newest segment is found and cut off on
// open; any other damaged bytes are moved to a quarantine file
// (<directory>/quarantine/), counted in Stats() and logged as errors, and the
// good records after them are kept. An acknowledged position is kept in a
// small cursor file; everything after it is delivered again after a restart
// (at least once — the hub deduplicates by event_id). One process at a time:
// Open takes an exclusive lock on the directory.
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
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace omnihub::spool {

class OpenFile;

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
  // Since Open: damaged records moved to the quarantine (at least one per
  // damaged region), and their bytes.
  uint64_t quarantined_records = 0;
  uint64_t quarantined_bytes = 0;
};

class EventSpool {
 public:
  // FAILED_PRECONDITION when another process (or another EventSpool) has the
  // directory open.
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
  // Everything up to `sequence` was delivered: forget it for good. The
  // cursor file is written outside the lock that Append takes, so appends
  // never wait for it. Not OK when the cursor could not be written; the
  // records are forgotten all the same (they were delivered; a crash before
  // the next cursor write only delivers some of them again).
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
    std::shared_ptr<const OpenFile> file;
    uint64_t size;
    // Whether the directory was synced since the file was created: until
    // then a crash may lose the file, so nothing is written to it.
    bool directory_synced;
  };
  struct PendingAppend;

  explicit EventSpool(EventSpoolOptions options);
  absl::Status Lock();
  absl::Status Recover();
  // Finds the records of a segment; damage is quarantined (or, at the end of
  // the newest segment, cut off as torn).
  absl::Status ScanSegment(Segment& segment, bool newest);
  absl::Status Quarantine(const Segment& segment, absl::string_view bytes,
                          uint64_t offset, uint64_t length);
  absl::Status RewriteSegment(Segment& segment, const std::string& bytes);
  absl::StatusOr<Segment> CreateSegment(uint64_t first_sequence, bool existing);
  absl::Status WriteCursor(uint64_t acknowledged);
  // Takes out of segments_ the segments none of whose records wait; their
  // files are removed by the caller, outside the lock.
  std::vector<Segment> TakeFinishedSegments()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void RemoveSegmentFiles(const std::vector<Segment>& segments);
  void WriterLoop();
  absl::Status WriteBatch(std::vector<PendingAppend*>& batch);
  // The segment the next batch goes to, rolled over when needed.
  absl::StatusOr<Segment*> SegmentForBatch(uint64_t total);
  std::string SegmentPath(uint64_t first_sequence) const;

  EventSpoolOptions options_;
  int lock_fd_ = -1;
  // Serialises cursor writes; never held with mutex_ waited on by Append.
  absl::Mutex cursor_mutex_ ABSL_ACQUIRED_BEFORE(mutex_);
  uint64_t cursor_on_disk_ ABSL_GUARDED_BY(cursor_mutex_) = 0;
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
  uint64_t quarantined_records_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t quarantined_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  // The last write found the disk full: a fully delivered newest segment is
  // rolled over and removed before the next write, to give the space back.
  bool disk_full_ = false;  // the writer thread's
  std::thread writer_;
};

}  // namespace omnihub::spool

#endif  // OMNIHUB_COMMON_SPOOL_EVENT_SPOOL_H_

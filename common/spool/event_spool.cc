#include "common/spool/event_spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging/log.h"
#include "common/spool/segment_format.h"

namespace omnihub::spool {
namespace {

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int error = errno;
  const std::string message =
      absl::StrCat(what, " ", path, ": ", std::strerror(error));
  return error == ENOSPC || error == EDQUOT
             ? absl::ResourceExhaustedError(message)
             : absl::UnavailableError(message);
}

absl::Status SyncDirectory(const std::string& directory) {
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", directory);
  const int result = fsync(fd);
  close(fd);
  return result == 0 ? absl::OkStatus() : ErrnoStatus("cannot sync", directory);
}

absl::Status WriteAt(int fd, absl::string_view data, uint64_t offset,
                     const std::string& path) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = pwrite(fd, data.data() + written, data.size() - written,
                             static_cast<off_t>(offset + written));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path);
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAt(int fd, uint64_t offset, size_t size,
                                   const std::string& path) {
  std::string data(size, '\0');
  size_t done = 0;
  while (done < size) {
    const ssize_t n = pread(fd, data.data() + done, size - done,
                            static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return n < 0 ? ErrnoStatus("cannot read", path)
                   : absl::DataLossError(absl::StrCat(path,
                                                      " is shorter than "
                                                      "expected"));
    }
    done += static_cast<size_t>(n);
  }
  return data;
}

// A new file and its directory entry, synced (when `sync`).
absl::Status WriteNewFile(const std::string& path, absl::string_view data,
                          bool sync) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", path);
  absl::Status status = WriteAt(fd, data, 0, path);
  if (status.ok() && sync && fsync(fd) != 0) {
    status = ErrnoStatus("cannot sync", path);
  }
  close(fd);
  if (!status.ok()) return status;
  return sync ? SyncDirectory(std::filesystem::path(path).parent_path())
              : absl::OkStatus();
}

}  // namespace

class EventSpool::SegmentFile {
 public:
  explicit SegmentFile(int fd) : fd_(fd) {}
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;
  ~SegmentFile() { close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct EventSpool::PendingAppend {
  std::vector<std::string> records;
  uint64_t bytes = 0;
  bool done = false;
  absl::StatusOr<uint64_t> result = absl::UnknownError("not written");
};

EventSpool::EventSpool(EventSpoolOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<EventSpool>> EventSpool::Open(
    EventSpoolOptions options) {
  if (options.directory.empty()) {
    return absl::InvalidArgumentError("the spool needs a directory");
  }
  std::error_code error;
  std::filesystem::create_directories(options.directory, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot create spool directory ",
                                               options.directory, ": ",
                                               error.message()));
  }
  std::unique_ptr<EventSpool> spool(new EventSpool(std::move(options)));
  if (absl::Status status = spool->Lock(); !status.ok()) return status;
  if (absl::Status status = spool->Recover(); !status.ok()) return status;
  spool->writer_ = std::thread([raw = spool.get()] { raw->WriterLoop(); });
  return spool;
}

EventSpool::~EventSpool() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    interrupted_ = true;
  }
  work_ready_.SignalAll();
  records_ready_.SignalAll();
  if (writer_.joinable()) writer_.join();
  {
    absl::MutexLock lock(&mutex_);
    segments_.clear();
  }
  if (lock_fd_ >= 0) close(lock_fd_);  // lets the next process in
}

// Two processes appending to one directory would interleave records and
// overwrite each other's cursor. flock is released by the kernel however the
// process ends, so a crash never leaves a stale lock behind.
absl::Status EventSpool::Lock() {
  const std::string path = options_.directory + "/lock";
  lock_fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return ErrnoStatus("cannot open", path);
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoStatus("cannot lock", path);
    char holder[32] = {};
    const ssize_t n = pread(lock_fd_, holder, sizeof(holder) - 1, 0);
    const std::string pid(absl::StripAsciiWhitespace(
        absl::string_view(holder, n > 0 ? static_cast<size_t>(n) : 0)));
    return absl::FailedPreconditionError(absl::StrCat(
        "the spool directory ", options_.directory,
        " is in use by another process",
        pid.empty() ? "" : absl::StrCat(" (pid ", pid, ")"),
        "; two processes on one spool would corrupt it, so each needs its "
        "own spool directory"));
  }
  // Only for the message above: who holds it.
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(lock_fd_, 0) != 0 ||
      pwrite(lock_fd_, pid.data(), pid.size(), 0) !=
          static_cast<ssize_t>(pid.size())) {
    log::Warning("spool %s: cannot write the pid into %s", options_.directory,
                 path);
  }
  return absl::OkStatus();
}

std::string EventSpool::SegmentPath(uint64_t first_sequence) const {
  return absl::StrFormat("%s/segment-%020u.log", options_.directory,
                         first_sequence);
}

absl::Status EventSpool::Recover() {
  uint64_t acknowledged = 0;
  std::ifstream cursor(options_.directory + "/cursor");
  std::string text;
  if (cursor >> text && !absl::SimpleAtoi(text, &acknowledged)) {
    return absl::DataLossError(absl::StrCat(
        "spool cursor file in ", options_.directory, " is unreadable"));
  }
  {
    absl::MutexLock lock(&cursor_mutex_);
    cursor_on_disk_ = acknowledged;
  }
  absl::MutexLock lock(&mutex_);
  acknowledged_ = acknowledged;
  std::vector<uint64_t> firsts;
  for (const auto& file :
       std::filesystem::directory_iterator(options_.directory)) {
    const std::string name = file.path().filename().string();
    uint64_t first = 0;
    if (absl::EndsWith(name, ".tmp")) {
      // A cursor or segment rewrite a crash interrupted; the original stands.
      std::error_code ignored;
      std::filesystem::remove(file.path(), ignored);
    } else if (name.size() == 32 && name.rfind("segment-", 0) == 0 &&
               absl::SimpleAtoi(name.substr(8, 20), &first)) {
      firsts.push_back(first);
    }
  }
  std::sort(firsts.begin(), firsts.end());
  next_sequence_ = acknowledged_ + 1;
  for (size_t i = 0; i < firsts.size(); ++i) {
    absl::StatusOr<Segment> segment =
        CreateSegment(firsts[i], /*existing=*/true);
    if (!segment.ok()) return segment.status();
    bytes_on_disk_ += segment->size;
    segments_.push_back(*std::move(segment));
    next_sequence_ = std::max(next_sequence_, firsts[i]);
    if (absl::Status status =
            ScanSegment(segments_.back(), /*newest=*/i + 1 == firsts.size());
        !status.ok()) {
      return status;
    }
  }
  // Segments whose every record was acknowledged are of no more use.
  RemoveSegmentFiles(TakeFinishedSegments());
  if (!unacknowledged_.empty()) {
    log::Info("spool %s: %u records to deliver from before the restart",
              options_.directory, unacknowledged_.size());
  }
  return absl::OkStatus();
}

absl::Status EventSpool::ScanSegment(Segment& segment, bool newest) {
  const std::string path = SegmentPath(segment.first_sequence);
  absl::StatusOr<std::string> bytes =
      ReadAt(segment.file->fd(), 0, segment.size, path);
  if (!bytes.ok()) return bytes.status();
  SegmentScan scan = ScanSegmentBytes(*bytes, segment.first_sequence);
  bool quarantined = false;
  uint64_t torn = 0;
  for (const DamagedRegion& region : scan.damaged) {
    if (newest && region.torn_tail) {
      // A crash mid-write: the records in it were never reported durable.
      log::Warning("spool %s: discarded %u bytes of a torn record at the end",
                   path, region.length);
      torn = region.length;
      continue;
    }
    if (absl::Status status =
            Quarantine(segment, *bytes, region.offset, region.length);
        !status.ok()) {
      return status;
    }
    quarantined = true;
    // The gap in sequence numbers tells how many records it held, when a
    // good record follows it; one at least.
    quarantined_records_ += std::max<uint64_t>(1, region.records_lost);
    quarantined_bytes_ += region.length;
  }
  if (quarantined) {
    // Moved, not copied: the segment is written again without the damage,
    // so the next start does not find it again.
    std::string kept;
    for (ScannedRecord& record : scan.records) {
      const uint64_t offset = kept.size();
      kept.append(*bytes, record.offset, record.length);
      record.offset = offset;
    }
    if (absl::Status status = RewriteSegment(segment, kept); !status.ok()) {
      return status;
    }
  } else if (torn > 0) {
    if (ftruncate(segment.file->fd(),
                  static_cast<off_t>(segment.size - torn)) != 0 ||
        fsync(segment.file->fd()) != 0) {
      return ErrnoStatus("cannot truncate", path);
    }
    bytes_on_disk_ -= torn;
    segment.size -= torn;
  }
  for (const ScannedRecord& record : scan.records) {
    if (record.sequence > acknowledged_) {
      undelivered_bytes_ += record.length;
      unacknowledged_.push_back(Entry{record.sequence, segment.first_sequence,
                                      record.offset, record.length,
                                      record.appended_at});
    }
    next_sequence_ = std::max(next_sequence_, record.sequence + 1);
  }
  return absl::OkStatus();
}

absl::Status EventSpool::Quarantine(const Segment& segment,
                                    absl::string_view bytes, uint64_t offset,
                                    uint64_t length) {
  const std::string directory = options_.directory + "/quarantine";
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", directory, ": ", error.message()));
  }
  const std::string path = absl::StrFormat(
      "%s/segment-%020u-at-%u.bin", directory, segment.first_sequence, offset);
  if (absl::Status status =
          WriteNewFile(path, bytes.substr(offset, length), options_.fsync);
      !status.ok()) {
    return status;
  }
  if (options_.fsync) {
    if (absl::Status status = SyncDirectory(options_.directory); !status.ok()) {
      return status;
    }
  }
  log::Error(
      "spool %s: %u damaged bytes at offset %u are not a record: moved to %s "
      "and left out of delivery; the good records around them are kept",
      SegmentPath(segment.first_sequence), length, offset, path);
  return absl::OkStatus();
}

absl::Status EventSpool::RewriteSegment(Segment& segment,
                                        const std::string& bytes) {
  const std::string path = SegmentPath(segment.first_sequence);
  const std::string temporary = path + ".tmp";
  if (absl::Status status = WriteNewFile(temporary, bytes, options_.fsync);
      !status.ok()) {
    return status;
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    return ErrnoStatus("cannot rename", temporary);
  }
  if (options_.fsync) {
    if (absl::Status status = SyncDirectory(options_.directory); !status.ok()) {
      return status;
    }
  }
  absl::StatusOr<Segment> reopened =
      CreateSegment(segment.first_sequence, /*existing=*/true);
  if (!reopened.ok()) return reopened.status();
  bytes_on_disk_ = bytes_on_disk_ - segment.size + reopened->size;
  segment = *std::move(reopened);
  return absl::OkStatus();
}

absl::StatusOr<EventSpool::Segment> EventSpool::CreateSegment(
    uint64_t first_sequence, bool existing) {
  const std::string path = SegmentPath(first_sequence);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot open", path);
  auto file = std::make_shared<const SegmentFile>(fd);
  struct stat info;
  if (fstat(fd, &info) != 0) return ErrnoStatus("cannot stat", path);
  return Segment{first_sequence, std::move(file),
                 static_cast<uint64_t>(info.st_size),
                 /*directory_synced=*/existing || !options_.fsync};
}

absl::StatusOr<uint64_t> EventSpool::Append(std::vector<std::string> records) {
  PendingAppend append;
  for (const std::string& record : records) {
    if (record.size() > options_.max_record_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a record of ", record.size(), " bytes is over the spool's limit of ",
          options_.max_record_bytes));
    }
    append.bytes += kRecordHeaderBytes + record.size();
  }
  if (records.empty()) return absl::InvalidArgumentError("nothing to append");
  append.records = std::move(records);
  absl::MutexLock lock(&mutex_);
  if (stopping_) return absl::UnavailableError("the spool is closing");
  if (undelivered_bytes_ + reserved_bytes_ + append.bytes >
      options_.max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the spool is full (", undelivered_bytes_, " of ",
                     options_.max_bytes, " bytes waiting for delivery)"));
  }
  reserved_bytes_ += append.bytes;
  pending_.push_back(&append);
  work_ready_.Signal();
  while (!append.done) work_done_.Wait(&mutex_);
  return append.result;
}

void EventSpool::WriterLoop() {
  while (true) {
    std::vector<PendingAppend*> batch;
    {
      absl::MutexLock lock(&mutex_);
      while (pending_.empty() && !stopping_) work_ready_.Wait(&mutex_);
      if (pending_.empty()) return;
      batch.assign(pending_.begin(), pending_.end());
      pending_.clear();
    }
    absl::Status status = WriteBatch(batch);
    absl::MutexLock lock(&mutex_);
    for (PendingAppend* append : batch) {
      reserved_bytes_ -= append->bytes;
      if (!status.ok()) append->result = status;
      append->done = true;
    }
    work_done_.SignalAll();
    if (status.ok()) records_ready_.SignalAll();
  }
}

absl::StatusOr<EventSpool::Segment*> EventSpool::SegmentForBatch(
    uint64_t total) {
  bool roll;
  uint64_t first_sequence;
  {
    absl::MutexLock lock(&mutex_);
    first_sequence = next_sequence_;
    roll = segments_.empty();
    if (!roll && segments_.back().size > 0) {
      // A full disk gets back the space of a newest segment whose every
      // record was delivered only once another segment takes over.
      roll = segments_.back().size + total > options_.segment_bytes ||
             (disk_full_ && unacknowledged_.empty());
    }
  }
  if (roll) {
    absl::StatusOr<Segment> created =
        CreateSegment(first_sequence, /*existing=*/false);
    if (!created.ok()) return created.status();
    absl::MutexLock lock(&mutex_);
    segments_.push_back(*std::move(created));
  }
  Segment* segment;
  bool directory_synced;
  {
    absl::MutexLock lock(&mutex_);
    segment = &segments_.back();
    directory_synced = segment->directory_synced;
  }
  if (!directory_synced) {
    // A new segment file must survive a crash before anything in it is
    // reported durable; until the directory is synced, nothing is written
    // to it (the next batch tries again).
    if (absl::Status status = SyncDirectory(options_.directory); !status.ok()) {
      log::Error("spool %s: a new segment is not durable yet: %s",
                 options_.directory, status.message());
      return status;
    }
  }
  if (roll || !directory_synced) {
    // Only now may the segment it took over from go, if all of it was
    // delivered: the name of the newest segment carries the sequence on.
    std::vector<Segment> finished;
    {
      absl::MutexLock lock(&mutex_);
      segment->directory_synced = true;
      finished = TakeFinishedSegments();
    }
    RemoveSegmentFiles(finished);
  }
  return segment;
}

// Writes every pending append with one write and one fsync.
absl::Status EventSpool::WriteBatch(std::vector<PendingAppend*>& batch) {
  uint64_t total = 0;
  for (PendingAppend* append : batch) total += append->bytes;
  absl::StatusOr<Segment*> target = SegmentForBatch(total);
  if (!target.ok()) {
    disk_full_ = absl::IsResourceExhausted(target.status());
    return target.status();
  }
  Segment* segment = *target;
  uint64_t first_sequence;
  {
    absl::MutexLock lock(&mutex_);
    first_sequence = next_sequence_;
  }
  const absl::Time now = options_.clock();
  std::string buffer;
  buffer.reserve(total);
  std::vector<Entry> entries;
  uint64_t sequence = first_sequence;
  for (PendingAppend* append : batch) {
    for (const std::string& record : append->records) {
      entries.push_back(Entry{
          sequence, segment->first_sequence, segment->size + buffer.size(),
          static_cast<uint32_t>(kRecordHeaderBytes + record.size()), now});
      EncodeRecord(sequence, now, record, buffer);
      ++sequence;
    }
    append->result = sequence - 1;
  }
  const std::string path = SegmentPath(segment->first_sequence);
  const int fd = segment->file->fd();
  absl::Status status = WriteAt(fd, buffer, segment->size, path);
  if (status.ok() && options_.fsync && fdatasync(fd) != 0) {
    status = ErrnoStatus("cannot sync", path);
  }
  disk_full_ = absl::IsResourceExhausted(status);
  if (!status.ok()) {
    // Nothing half-written may stay: cut back to where this batch began.
    if (ftruncate(fd, static_cast<off_t>(segment->size)) != 0) {
      log::Error("spool: could not cut back %s after a failed write", path);
    }
    return status;
  }
  absl::MutexLock lock(&mutex_);
  segment->size += buffer.size();
  bytes_on_disk_ += buffer.size();
  next_sequence_ = sequence;
  undelivered_bytes_ += buffer.size();
  for (Entry& entry : entries) unacknowledged_.push_back(entry);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SpooledRecord>> EventSpool::ReadBatch(
    size_t max_records, size_t max_bytes, absl::Duration wait) {
  std::vector<std::pair<Entry, std::shared_ptr<const SegmentFile>>> planned;
  {
    absl::MutexLock lock(&mutex_);
    const absl::Time deadline = absl::Now() + wait;
    while (handed_out_ >= unacknowledged_.size() && !interrupted_) {
      if (records_ready_.WaitWithDeadline(&mutex_, deadline)) break;
    }
    interrupted_ = stopping_;
    size_t bytes = 0;
    while (handed_out_ < unacknowledged_.size() &&
           planned.size() < max_records) {
      const Entry& entry = unacknowledged_[handed_out_];
      if (!planned.empty() && bytes + entry.length > max_bytes) break;
      std::shared_ptr<const SegmentFile> file;
      for (const Segment& candidate : segments_) {
        if (candidate.first_sequence == entry.segment) file = candidate.file;
      }
      planned.emplace_back(entry, std::move(file));
      bytes += entry.length;
      ++handed_out_;
    }
  }
  // Read outside the lock: appends never wait for a read from disk.
  std::vector<SpooledRecord> batch;
  batch.reserve(planned.size());
  for (const auto& [entry, file] : planned) {
    absl::StatusOr<std::string> payload =
        file == nullptr ? absl::DataLossError("its segment is gone")
                        : ReadAt(file->fd(), entry.offset + kRecordHeaderBytes,
                                 entry.length - kRecordHeaderBytes,
                                 SegmentPath(entry.segment));
    if (!payload.ok()) {
      return absl::DataLossError(
          absl::StrCat("cannot read spooled record ", entry.sequence,
                       " back: ", payload.status().message()));
    }
    batch.push_back(
        SpooledRecord{entry.sequence, entry.appended_at, *std::move(payload)});
  }
  return batch;
}

void EventSpool::Rewind() {
  absl::MutexLock lock(&mutex_);
  handed_out_ = 0;
}

void EventSpool::Interrupt() {
  absl::MutexLock lock(&mutex_);
  interrupted_ = true;
  records_ready_.SignalAll();
}

absl::Status EventSpool::Acknowledge(uint64_t sequence) {
  std::vector<Segment> finished;
  {
    absl::MutexLock lock(&mutex_);
    if (sequence > acknowledged_) {
      acknowledged_ = sequence;
      while (!unacknowledged_.empty() &&
             unacknowledged_.front().sequence <= sequence) {
        undelivered_bytes_ -= unacknowledged_.front().length;
        unacknowledged_.pop_front();
        if (handed_out_ > 0) --handed_out_;
      }
      finished = TakeFinishedSegments();
    }
  }
  // The cursor's write, fsync, rename and directory fsync happen outside
  // mutex_, so appends (and every HTTP request behind them) never wait for
  // them. A segment removed before its cursor is durable is safe: its records
  // were delivered, and a crash only delivers some later ones again.
  absl::Status status;
  {
    absl::MutexLock cursor_lock(&cursor_mutex_);
    uint64_t acknowledged;
    {
      absl::MutexLock lock(&mutex_);
      acknowledged = acknowledged_;
    }
    if (acknowledged > cursor_on_disk_) {
      status = WriteCursor(acknowledged);
      if (status.ok()) cursor_on_disk_ = acknowledged;
    }
  }
  RemoveSegmentFiles(finished);
  return status;
}

std::vector<EventSpool::Segment> EventSpool::TakeFinishedSegments() {
  // The newest segment stays: the next batch may go to it.
  std::vector<Segment> finished;
  while (segments_.size() > 1 &&
         (unacknowledged_.empty() ||
          unacknowledged_.front().segment > segments_.front().first_sequence)) {
    bytes_on_disk_ -= segments_.front().size;
    finished.push_back(std::move(segments_.front()));
    segments_.pop_front();
  }
  return finished;
}

void EventSpool::RemoveSegmentFiles(const std::vector<Segment>& segments) {
  for (const Segment& segment : segments) {
    std::error_code error;
    std::filesystem::remove(SegmentPath(segment.first_sequence), error);
    if (error) {
      log::Error("spool: cannot remove %s: %s",
                 SegmentPath(segment.first_sequence), error.message());
    }
  }
}

absl::Status EventSpool::WriteCursor(uint64_t acknowledged) {
  const std::string path = options_.directory + "/cursor";
  const std::string temporary = path + ".tmp";
  const int fd =
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot open", temporary);
  const std::string text = absl::StrCat(acknowledged, "\n");
  const bool written = write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()) &&
                       (!options_.fsync || fsync(fd) == 0);
  absl::Status status =
      written ? absl::OkStatus() : ErrnoStatus("cannot write", temporary);
  close(fd);
  if (!status.ok()) return status;
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    return ErrnoStatus("cannot rename", temporary);
  }
  return options_.fsync ? SyncDirectory(options_.directory) : absl::OkStatus();
}

SpoolStats EventSpool::Stats() {
  absl::MutexLock lock(&mutex_);
  SpoolStats stats;
  stats.records = unacknowledged_.size();
  stats.bytes = undelivered_bytes_;
  if (!unacknowledged_.empty()) {
    stats.oldest_appended_at = unacknowledged_.front().appended_at;
  }
  stats.quarantined_records = quarantined_records_;
  stats.quarantined_bytes = quarantined_bytes_;
  return stats;
}

}  // namespace omnihub::spool

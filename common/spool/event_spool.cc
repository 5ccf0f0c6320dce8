#include "common/spool/event_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging/log.h"
#include "common/spool/file_io.h"
#include "common/spool/segment_format.h"

namespace omnihub::spool {

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

std::string EventSpool::SegmentPath(uint64_t first_sequence) const {
  return absl::StrFormat("%s/segment-%020u.log", options_.directory,
                         first_sequence);
}

absl::StatusOr<EventSpool::Segment> EventSpool::CreateSegment(
    uint64_t first_sequence, bool existing) {
  const std::string path = SegmentPath(first_sequence);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot open", path);
  auto file = std::make_shared<const OpenFile>(fd);
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
  std::vector<std::pair<Entry, std::shared_ptr<const OpenFile>>> planned;
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
      std::shared_ptr<const OpenFile> file;
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

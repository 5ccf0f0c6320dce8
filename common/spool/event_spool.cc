#include "common/spool/event_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging/log.h"

namespace omnihub::spool {
namespace {

// On disk, each record: payload length (4), CRC-32 of what follows the CRC
// (4), sequence (8), append time in microseconds (8), payload.
constexpr size_t kHeaderBytes = 24;

void PutUint(char* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

uint64_t GetUint(const char* in, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(in[i]);
  }
  return value;
}

uint32_t Checksum(const char* data, size_t size) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int error = errno;
  const std::string message =
      absl::StrCat(what, " ", path, ": ", std::strerror(error));
  return error == ENOSPC || error == EDQUOT
             ? absl::ResourceExhaustedError(message)
             : absl::UnavailableError(message);
}

absl::Status SyncDirectory(const std::string& directory) {
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return ErrnoStatus("cannot open", directory);
  const int result = fsync(fd);
  close(fd);
  return result == 0 ? absl::OkStatus() : ErrnoStatus("cannot sync", directory);
}

}  // namespace

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
  absl::MutexLock lock(&mutex_);
  for (Segment& segment : segments_) close(segment.fd);
}

std::string EventSpool::SegmentPath(uint64_t first_sequence) const {
  return absl::StrFormat("%s/segment-%020u.log", options_.directory,
                         first_sequence);
}

absl::Status EventSpool::Recover() {
  absl::MutexLock lock(&mutex_);
  std::ifstream cursor(options_.directory + "/cursor");
  std::string text;
  if (cursor >> text && !absl::SimpleAtoi(text, &acknowledged_)) {
    return absl::DataLossError(absl::StrCat(
        "spool cursor file in ", options_.directory, " is unreadable"));
  }
  std::vector<uint64_t> firsts;
  for (const auto& file :
       std::filesystem::directory_iterator(options_.directory)) {
    const std::string name = file.path().filename().string();
    uint64_t first = 0;
    if (name.size() == 32 && name.rfind("segment-", 0) == 0 &&
        absl::SimpleAtoi(name.substr(8, 20), &first)) {
      firsts.push_back(first);
    }
  }
  std::sort(firsts.begin(), firsts.end());
  next_sequence_ = acknowledged_ + 1;
  for (uint64_t first : firsts) {
    if (absl::Status status = OpenSegment(first); !status.ok()) return status;
    if (absl::Status status = ScanSegment(segments_.back()); !status.ok()) {
      return status;
    }
  }
  // Segments whose every record was acknowledged are of no more use.
  while (segments_.size() > 1 &&
         (unacknowledged_.empty() ||
          unacknowledged_.front().segment > segments_.front().first_sequence)) {
    close(segments_.front().fd);
    bytes_on_disk_ -= segments_.front().size;
    std::filesystem::remove(SegmentPath(segments_.front().first_sequence));
    segments_.pop_front();
  }
  if (!unacknowledged_.empty()) {
    log::Info("spool %s: %u records to deliver from before the restart",
              options_.directory, unacknowledged_.size());
  }
  return absl::OkStatus();
}

absl::Status EventSpool::ScanSegment(Segment& segment) {
  uint64_t offset = 0;
  std::string header(kHeaderBytes, '\0');
  std::string body;
  while (offset + kHeaderBytes <= segment.size) {
    if (pread(segment.fd, header.data(), kHeaderBytes, offset) !=
        static_cast<ssize_t>(kHeaderBytes)) {
      break;
    }
    const uint64_t length = GetUint(header.data(), 4);
    // A bound independent of today's options, so a lowered limit never cuts
    // off records written under a higher one.
    if (length > (64u << 20) || offset + kHeaderBytes + length > segment.size) {
      break;
    }
    body.resize(16 + length);
    std::memcpy(body.data(), header.data() + 8, 16);
    if (pread(segment.fd, body.data() + 16, length, offset + kHeaderBytes) !=
            static_cast<ssize_t>(length) ||
        Checksum(body.data(), body.size()) != GetUint(header.data() + 4, 4)) {
      break;
    }
    const uint64_t sequence = GetUint(header.data() + 8, 8);
    const absl::Time appended_at = absl::FromUnixMicros(
        static_cast<int64_t>(GetUint(header.data() + 16, 8)));
    if (sequence > acknowledged_) {
      undelivered_bytes_ += kHeaderBytes + length;
      unacknowledged_.push_back(
          Entry{sequence, segment.first_sequence, offset,
                static_cast<uint32_t>(kHeaderBytes + length), appended_at});
    }
    next_sequence_ = std::max(next_sequence_, sequence + 1);
    offset += kHeaderBytes + length;
  }
  if (offset < segment.size) {
    // A crash mid-write leaves a torn record: cut it off, keep the rest.
    log::Warning("spool %s: discarded %u bytes of a torn record at the end",
                 SegmentPath(segment.first_sequence), segment.size - offset);
    if (ftruncate(segment.fd, static_cast<off_t>(offset)) != 0 ||
        fsync(segment.fd) != 0) {
      return ErrnoStatus("cannot truncate",
                         SegmentPath(segment.first_sequence));
    }
    bytes_on_disk_ -= segment.size - offset;
    segment.size = offset;
  }
  return absl::OkStatus();
}

absl::Status EventSpool::OpenSegment(uint64_t first_sequence) {
  const std::string path = SegmentPath(first_sequence);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot open", path);
  struct stat info;
  fstat(fd, &info);
  segments_.push_back(
      Segment{first_sequence, fd, static_cast<uint64_t>(info.st_size)});
  bytes_on_disk_ += static_cast<uint64_t>(info.st_size);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> EventSpool::Append(std::vector<std::string> records) {
  PendingAppend append;
  for (const std::string& record : records) {
    if (record.size() > options_.max_record_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a record of ", record.size(), " bytes is over the spool's limit of ",
          options_.max_record_bytes));
    }
    append.bytes += kHeaderBytes + record.size();
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

// Writes every pending append with one write and one fsync.
absl::Status EventSpool::WriteBatch(std::vector<PendingAppend*>& batch) {
  uint64_t total = 0;
  for (PendingAppend* append : batch) total += append->bytes;
  Segment* segment;
  uint64_t first_sequence;
  {
    absl::MutexLock lock(&mutex_);
    first_sequence = next_sequence_;
    if (segments_.empty() ||
        (segments_.back().size > 0 &&
         segments_.back().size + total > options_.segment_bytes)) {
      if (absl::Status status = OpenSegment(first_sequence); !status.ok()) {
        return status;
      }
    }
    segment = &segments_.back();
  }
  const absl::Time now = options_.clock();
  std::string buffer;
  buffer.reserve(total);
  std::vector<Entry> entries;
  uint64_t sequence = first_sequence;
  for (PendingAppend* append : batch) {
    for (const std::string& record : append->records) {
      char header[kHeaderBytes];
      PutUint(header, record.size(), 4);
      PutUint(header + 8, sequence, 8);
      PutUint(header + 16, static_cast<uint64_t>(absl::ToUnixMicros(now)), 8);
      std::string covered(header + 8, 16);
      covered += record;
      PutUint(header + 4, Checksum(covered.data(), covered.size()), 4);
      entries.push_back(Entry{
          sequence, segment->first_sequence, segment->size + buffer.size(),
          static_cast<uint32_t>(kHeaderBytes + record.size()), now});
      buffer.append(header, kHeaderBytes);
      buffer.append(record);
      ++sequence;
    }
    append->result = sequence - 1;
  }
  const std::string path = SegmentPath(segment->first_sequence);
  size_t written = 0;
  while (written < buffer.size()) {
    const ssize_t n =
        pwrite(segment->fd, buffer.data() + written, buffer.size() - written,
               static_cast<off_t>(segment->size + written));
    if (n < 0) {
      absl::Status status = ErrnoStatus("cannot write", path);
      // Nothing half-written may stay: cut back to where this batch began.
      if (ftruncate(segment->fd, static_cast<off_t>(segment->size)) != 0) {
        log::Error("spool: could not cut back %s after a failed write", path);
      }
      return status;
    }
    written += static_cast<size_t>(n);
  }
  if (options_.fsync && fdatasync(segment->fd) != 0) {
    absl::Status status = ErrnoStatus("cannot sync", path);
    if (ftruncate(segment->fd, static_cast<off_t>(segment->size)) != 0) {
      log::Error("spool: could not cut back %s after a failed sync", path);
    }
    return status;
  }
  absl::MutexLock lock(&mutex_);
  if (options_.fsync && segment->size == 0 && segments_.size() > 0) {
    // A new segment file must survive a crash too.
    SyncDirectory(options_.directory).IgnoreError();
  }
  segment->size += buffer.size();
  bytes_on_disk_ += buffer.size();
  next_sequence_ = sequence;
  undelivered_bytes_ += buffer.size();
  for (Entry& entry : entries) unacknowledged_.push_back(entry);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SpooledRecord>> EventSpool::ReadBatch(
    size_t max_records, size_t max_bytes, absl::Duration wait) {
  absl::MutexLock lock(&mutex_);
  const absl::Time deadline = absl::Now() + wait;
  while (handed_out_ >= unacknowledged_.size() && !interrupted_) {
    if (records_ready_.WaitWithDeadline(&mutex_, deadline)) break;
  }
  interrupted_ = stopping_;
  std::vector<SpooledRecord> batch;
  size_t bytes = 0;
  while (handed_out_ < unacknowledged_.size() && batch.size() < max_records) {
    const Entry& entry = unacknowledged_[handed_out_];
    if (!batch.empty() && bytes + entry.length > max_bytes) break;
    const Segment* segment = nullptr;
    for (const Segment& candidate : segments_) {
      if (candidate.first_sequence == entry.segment) segment = &candidate;
    }
    std::string payload(entry.length - kHeaderBytes, '\0');
    if (segment == nullptr ||
        pread(segment->fd, payload.data(), payload.size(),
              static_cast<off_t>(entry.offset + kHeaderBytes)) !=
            static_cast<ssize_t>(payload.size())) {
      return absl::DataLossError(
          absl::StrCat("cannot read spooled record ", entry.sequence, " back"));
    }
    batch.push_back(
        SpooledRecord{entry.sequence, entry.appended_at, std::move(payload)});
    bytes += entry.length;
    ++handed_out_;
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
  absl::MutexLock lock(&mutex_);
  if (sequence <= acknowledged_) return absl::OkStatus();
  if (absl::Status status = WriteCursor(sequence); !status.ok()) return status;
  acknowledged_ = sequence;
  while (!unacknowledged_.empty() &&
         unacknowledged_.front().sequence <= sequence) {
    undelivered_bytes_ -= unacknowledged_.front().length;
    unacknowledged_.pop_front();
    if (handed_out_ > 0) --handed_out_;
  }
  // Whole segments behind the acknowledged position go; the one being
  // written to stays.
  while (segments_.size() > 1 &&
         (unacknowledged_.empty() ? segments_[1].first_sequence <= sequence + 1
                                  : segments_[1].first_sequence <=
                                        unacknowledged_.front().sequence)) {
    close(segments_.front().fd);
    bytes_on_disk_ -= segments_.front().size;
    std::filesystem::remove(SegmentPath(segments_.front().first_sequence));
    segments_.pop_front();
  }
  return absl::OkStatus();
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
  close(fd);
  if (!written) return ErrnoStatus("cannot write", temporary);
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
  return stats;
}

}  // namespace omnihub::spool

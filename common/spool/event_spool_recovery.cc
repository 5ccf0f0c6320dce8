// EventSpool's start: the directory's lock, and recovery of what the
// segments hold after a crash or a disk fault.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging/log.h"
#include "common/spool/event_spool.h"
#include "common/spool/file_io.h"
#include "common/spool/segment_format.h"

namespace omnihub::spool {

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
    if (name == "cursor.tmp" ||
        (absl::StartsWith(name, "segment-") && absl::EndsWith(name, ".tmp"))) {
      // A cursor or segment rewrite a crash interrupted; the original stands.
      // (Other files here, such as the dead letters', are not the spool's.)
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

}  // namespace omnihub::spool

#include "common/publisher/dead_letters.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace omnihub::publisher {
namespace {

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Holds the family's flock while it lives.
class FamilyLock {
 public:
  static absl::StatusOr<FamilyLock> Acquire(absl::string_view file) {
    const std::string path = DeadLetterLockPath(file);
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus("cannot open", path);
    while (flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      absl::Status status = ErrnoStatus("cannot lock", path);
      close(fd);
      return status;
    }
    return FamilyLock(fd);
  }
  FamilyLock(FamilyLock&& other) : fd_(std::exchange(other.fd_, -1)) {}
  FamilyLock& operator=(FamilyLock&&) = delete;
  ~FamilyLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  explicit FamilyLock(int fd) : fd_(fd) {}
  int fd_;
};

absl::StatusOr<std::string> ReadWhole(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return ErrnoStatus("cannot open", path);
  }
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status status = ErrnoStatus("cannot read", path);
      close(fd);
      return status;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

absl::Status WriteAllAndSync(int fd, absl::string_view data,
                             const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return fdatasync(fd) == 0 ? absl::OkStatus()
                            : ErrnoStatus("cannot sync", path);
}

void SyncDirectoryOf(const std::string& path) {
  const std::string directory =
      std::filesystem::path(path).parent_path().string();
  const int fd = open(directory.empty() ? "." : directory.c_str(),
                      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// <path> to <path>.1, each rotated file one further; the lines of the one
// that falls off the end are returned.
absl::StatusOr<int64_t> Rotate(const std::string& path) {
  const std::string last = absl::StrCat(path, ".", kRotatedDeadLetterFiles);
  absl::StatusOr<std::string> dropped = ReadWhole(last);
  if (!dropped.ok()) return dropped.status();
  if (unlink(last.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("cannot remove", last);
  }
  for (int i = kRotatedDeadLetterFiles - 1; i >= 0; --i) {
    const std::string from = i == 0 ? path : absl::StrCat(path, ".", i);
    const std::string to = absl::StrCat(path, ".", i + 1);
    if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus("cannot rename", from);
    }
  }
  SyncDirectoryOf(path);
  return static_cast<int64_t>(
      std::count(dropped->begin(), dropped->end(), '\n'));
}

}  // namespace

std::string DeadLetterLockPath(absl::string_view file) {
  const size_t dot = file.rfind('.');
  if (dot != absl::string_view::npos && dot + 1 < file.size() &&
      std::all_of(file.begin() + dot + 1, file.end(),
                  [](char c) { return absl::ascii_isdigit(c); })) {
    file = file.substr(0, dot);
  }
  return absl::StrCat(file, ".lock");
}

absl::StatusOr<int64_t> AppendDeadLetters(const std::string& path,
                                          absl::string_view lines,
                                          uint64_t max_total_bytes) {
  absl::StatusOr<FamilyLock> lock = FamilyLock::Acquire(path);
  if (!lock.ok()) return lock.status();
  const uint64_t per_file =
      std::max<uint64_t>(1, max_total_bytes / (kRotatedDeadLetterFiles + 1));
  int64_t discarded = 0;
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && info.st_size > 0 &&
      static_cast<uint64_t>(info.st_size) + lines.size() > per_file) {
    absl::StatusOr<int64_t> rotated = Rotate(path);
    if (!rotated.ok()) return rotated.status();
    discarded = *rotated;
  }
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot open dead-letter file", path);
  absl::Status status = WriteAllAndSync(fd, lines, path);
  close(fd);
  if (!status.ok()) return status;
  return discarded;
}

absl::StatusOr<std::string> ReadDeadLetters(const std::string& file) {
  absl::StatusOr<FamilyLock> lock = FamilyLock::Acquire(file);
  if (!lock.ok()) return lock.status();
  return ReadWhole(file);
}

absl::StatusOr<size_t> RemoveDeadLetterLines(
    const std::string& file,
    const std::function<bool(absl::string_view line)>& remove) {
  absl::StatusOr<FamilyLock> lock = FamilyLock::Acquire(file);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<std::string> text = ReadWhole(file);
  if (!text.ok()) return text.status();
  std::string kept;
  size_t removed = 0;
  size_t begin = 0;
  while (begin < text->size()) {
    size_t end = text->find('\n', begin);
    // A line without its newline (a writer that crashed) is kept as it is.
    end = end == std::string::npos ? text->size() : end + 1;
    const absl::string_view line(text->data() + begin, end - begin);
    if (line.back() == '\n' && remove(line.substr(0, line.size() - 1))) {
      ++removed;
    } else {
      kept.append(line.data(), line.size());
    }
    begin = end;
  }
  if (removed == 0) return removed;
  if (kept.empty()) {
    if (unlink(file.c_str()) != 0) return ErrnoStatus("cannot remove", file);
    SyncDirectoryOf(file);
    return removed;
  }
  const std::string temporary = file + ".tmp";
  const int fd =
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", temporary);
  absl::Status status = WriteAllAndSync(fd, kept, temporary);
  close(fd);
  if (status.ok() && rename(temporary.c_str(), file.c_str()) != 0) {
    status = ErrnoStatus("cannot rename", temporary);
  }
  if (!status.ok()) {
    unlink(temporary.c_str());
    return status;
  }
  SyncDirectoryOf(file);
  return removed;
}

}  // namespace omnihub::publisher

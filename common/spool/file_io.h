// The spool's own file operations: errno as an absl::Status (ENOSPC and
// EDQUOT as RESOURCE_EXHAUSTED, the rest UNAVAILABLE), whole reads and writes
// that survive EINTR and short counts, and directory syncs. Internal to
// common/spool.
#ifndef OMNIHUB_COMMON_SPOOL_FILE_IO_H_
#define OMNIHUB_COMMON_SPOOL_FILE_IO_H_

#include <unistd.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::spool {

// An open file, closed when the last user lets go (a segment being read
// while it is removed stays readable).
class OpenFile {
 public:
  explicit OpenFile(int fd) : fd_(fd) {}
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile() { close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// `what path: strerror(errno)`.
absl::Status ErrnoStatus(absl::string_view what, const std::string& path);
absl::Status SyncDirectory(const std::string& directory);
absl::Status WriteAt(int fd, absl::string_view data, uint64_t offset,
                     const std::string& path);
absl::StatusOr<std::string> ReadAt(int fd, uint64_t offset, size_t size,
                                   const std::string& path);
// A new file and its directory entry, synced (when `sync`).
absl::Status WriteNewFile(const std::string& path, absl::string_view data,
                          bool sync);

}  // namespace omnihub::spool

#endif  // OMNIHUB_COMMON_SPOOL_FILE_IO_H_

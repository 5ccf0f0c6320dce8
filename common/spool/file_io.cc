#include "common/spool/file_io.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace omnihub::spool {

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

}  // namespace omnihub::spool

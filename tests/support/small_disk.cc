#include "tests/support/small_disk.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace omnihub::testing {
namespace {

absl::Status ErrnoError(const std::string& what) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status MountTmpfs(const std::string& directory, uint64_t bytes) {
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(
        "mounting a small disk needs root (CI runs the tests as root)");
  }
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  umount2(directory.c_str(), MNT_DETACH);  // a crashed run's
  const std::string options = absl::StrCat("size=", bytes);
  if (mount("tmpfs", directory.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    return ErrnoError("cannot mount a tmpfs on " + directory);
  }
  return absl::OkStatus();
}

// Runs mkfs.ext2 quietly on `device`; no shell in between.
absl::Status MakeExt2(const std::string& device) {
  const pid_t child = fork();
  if (child < 0) return ErrnoError("fork");
  if (child == 0) {
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, 1);
      dup2(null, 2);
    }
    execlp("mkfs.ext2", "mkfs.ext2", "-q", "-F", "-m", "0", "-N", "64",
           device.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::FailedPreconditionError(
        WIFEXITED(status) && WEXITSTATUS(status) == 127
            ? "mkfs.ext2 is not installed (Debian: e2fsprogs)"
            : "mkfs.ext2 failed on " + device);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SmallDisk>> SmallDisk::Tmpfs(
    const std::string& directory, uint64_t bytes) {
  if (absl::Status status = MountTmpfs(directory, bytes); !status.ok()) {
    return status;
  }
  std::unique_ptr<SmallDisk> disk(new SmallDisk());
  disk->tmpfs_ = directory;
  disk->path_ = directory;
  return disk;
}

absl::StatusOr<std::unique_ptr<SmallDisk>> SmallDisk::FailingDevice(
    const std::string& directory, uint64_t backing_bytes,
    uint64_t device_bytes) {
  const std::string backing = directory + "/backing";
  const std::string mounted = directory + "/fs";
  std::error_code error;
  std::filesystem::create_directories(mounted, error);
  umount2(mounted.c_str(), MNT_DETACH);  // a crashed run's
  if (absl::Status status = MountTmpfs(backing, backing_bytes); !status.ok()) {
    return status;
  }
  std::unique_ptr<SmallDisk> disk(new SmallDisk());
  disk->tmpfs_ = backing;
  const std::string image = backing + "/disk.img";
  const int image_fd = open(image.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (image_fd < 0) return ErrnoError("cannot create " + image);
  if (ftruncate(image_fd, static_cast<off_t>(device_bytes)) != 0) {
    close(image_fd);
    return ErrnoError("cannot size " + image);
  }
  const int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) {
    close(image_fd);
    return ErrnoError("no loop devices (/dev/loop-control)");
  }
  // Another process may take the free device first: try again.
  for (int attempt = 0; attempt < 10 && disk->loop_fd_ < 0; ++attempt) {
    const int number = ioctl(control, LOOP_CTL_GET_FREE);
    if (number < 0) break;
    const std::string path = absl::StrCat("/dev/loop", number);
    const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    if (ioctl(fd, LOOP_SET_FD, image_fd) != 0) {
      close(fd);
      continue;
    }
    disk->loop_fd_ = fd;
    disk->loop_path_ = path;
  }
  close(control);
  close(image_fd);
  if (disk->loop_fd_ < 0) return ErrnoError("cannot set up a loop device");
  if (absl::Status status = MakeExt2(disk->loop_path_); !status.ok()) {
    return status;
  }
  if (mount(disk->loop_path_.c_str(), mounted.c_str(), "ext2", 0,
            "errors=continue") != 0) {
    return ErrnoError("cannot mount " + disk->loop_path_);
  }
  disk->path_ = mounted;
  return disk;
}

SmallDisk::~SmallDisk() {
  if (!loop_path_.empty() && path_ != tmpfs_) umount2(path_.c_str(), 0);
  if (loop_fd_ >= 0) {
    ioctl(loop_fd_, LOOP_CLR_FD, 0);
    close(loop_fd_);
  }
  if (!tmpfs_.empty()) umount2(tmpfs_.c_str(), MNT_DETACH);
}

absl::Status SmallDisk::Resize(uint64_t bytes) {
  const std::string options = absl::StrCat("size=", bytes);
  if (mount("tmpfs", tmpfs_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) !=
      0) {
    return ErrnoError("cannot resize the tmpfs on " + tmpfs_);
  }
  return absl::OkStatus();
}

}  // namespace omnihub::testing

// Real small and failing disks for tests of what a full or failing disk does
// to a process: a tmpfs of a few KiB, or an ext2 file system on a loop device
// whose own backing store runs out, so write() succeeds and fsync() fails as
// on a disk that fails its writes. Mounting needs root (CI has it); when it
// cannot be done, the error says why, for the test's GTEST_SKIP.
//
//   auto disk = SmallDisk::Tmpfs(dir, 256 << 10);
//   if (!disk.ok()) GTEST_SKIP() << "SKIPPED LOUDLY: " << disk.status();
//   ... write to (*disk)->path() until ENOSPC ...
//   (*disk)->Resize(1 << 20);  // space returns
#ifndef OMNIHUB_TESTS_SUPPORT_SMALL_DISK_H_
#define OMNIHUB_TESTS_SUPPORT_SMALL_DISK_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace omnihub::testing {

class SmallDisk {
 public:
  // A tmpfs of `bytes` mounted on `directory` (created if need be).
  static absl::StatusOr<std::unique_ptr<SmallDisk>> Tmpfs(
      const std::string& directory, uint64_t bytes);
  // An ext2 file system of `device_bytes` on a loop device, mounted on
  // `directory`; the device's backing file lives on a tmpfs of only
  // `backing_bytes`, so once that is full, writing back fails (fsync reports
  // it) until Resize gives the backing store more room.
  static absl::StatusOr<std::unique_ptr<SmallDisk>> FailingDevice(
      const std::string& directory, uint64_t backing_bytes,
      uint64_t device_bytes);

  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  ~SmallDisk();  // unmounts, frees the loop device

  // Where to write.
  const std::string& path() const { return path_; }
  // Resizes the tmpfs (the backing one for a failing device): space returns.
  absl::Status Resize(uint64_t bytes);

 private:
  SmallDisk() = default;

  std::string path_;
  std::string tmpfs_;      // the tmpfs mount point
  std::string loop_path_;  // "/dev/loopN", for a failing device
  int loop_fd_ = -1;
};

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_SUPPORT_SMALL_DISK_H_

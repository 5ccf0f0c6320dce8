// The spool's reader meets whatever a crash or a bad disk left in a segment
// file: opening the spool and reading it back must never crash or hand out a
// record whose checksum does not hold.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/spool/event_spool.h"

namespace {

// Left to the process's end on purpose: the exit handler still needs it.
const std::string& FuzzDirectory() {
  static const std::string* directory = [] {
    // In memory where there is a /dev/shm: the fuzzer rewrites it per input.
    const std::filesystem::path base =
        std::filesystem::exists("/dev/shm")
            ? "/dev/shm"
            : std::filesystem::temp_directory_path();
    auto* path = new std::string(
        absl::StrFormat("%s/omnihub-spool-fuzz-%d", base.string(), getpid()));
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(FuzzDirectory(), ignored);
    });
    return path;
  }();
  return *directory;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& directory = FuzzDirectory();
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  {
    // The name the spool gives its first segment.
    std::ofstream segment(directory + "/segment-00000000000000000001.log",
                          std::ios::binary);
    segment.write(reinterpret_cast<const char*>(data),
                  static_cast<std::streamsize>(size));
  }
  absl::StatusOr<std::unique_ptr<omnihub::spool::EventSpool>> spool =
      omnihub::spool::EventSpool::Open({.directory = directory,
                                        .max_record_bytes = 1 << 16,
                                        .fsync = false});
  if (!spool.ok()) return 0;
  for (int round = 0; round < 64; ++round) {
    absl::StatusOr<std::vector<omnihub::spool::SpooledRecord>> batch =
        (*spool)->ReadBatch(16, 1 << 20, absl::ZeroDuration());
    if (!batch.ok() || batch->empty()) break;
    if (!(*spool)->Acknowledge(batch->back().sequence).ok()) break;
  }
  // What was recovered must still take new records.
  if (!(*spool)->Append({"after recovery"}).ok()) std::abort();
  return 0;
}

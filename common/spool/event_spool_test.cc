#include "common/spool/event_spool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/spool/segment_format.h"
#include "gtest/gtest.h"
#include "tests/support/small_disk.h"

namespace omnihub::spool {
namespace {

class EventSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        ::testing::TempDir() + "/spool-" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(directory_);
  }
  std::unique_ptr<EventSpool> Open(uint64_t max_bytes = 1 << 30,
                                   uint64_t segment_bytes = 64 << 20) {
    auto spool = EventSpool::Open({.directory = directory_,
                                   .max_bytes = max_bytes,
                                   .segment_bytes = segment_bytes});
    EXPECT_TRUE(spool.ok()) << spool.status();
    return spool.ok() ? *std::move(spool) : nullptr;
  }
  std::vector<std::string> ReadAll(EventSpool& spool) {
    std::vector<std::string> out;
    while (true) {
      auto batch = spool.ReadBatch(1000, 1 << 30, absl::ZeroDuration());
      EXPECT_TRUE(batch.ok());
      if (!batch.ok() || batch->empty()) return out;
      for (auto& record : *batch) out.push_back(record.payload);
    }
  }
  std::vector<std::string> SegmentFiles() {
    std::vector<std::string> files;
    for (const auto& file : std::filesystem::directory_iterator(directory_)) {
      if (file.path().filename().string().rfind("segment-", 0) == 0) {
        files.push_back(file.path().string());
      }
    }
    std::sort(files.begin(), files.end());
    return files;
  }
  std::vector<std::string> QuarantineFiles() {
    std::vector<std::string> files;
    std::error_code error;
    for (const auto& file : std::filesystem::directory_iterator(
             directory_ + "/quarantine", error)) {
      files.push_back(file.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }
  // Overwrites bytes of a file in place.
  static void Overwrite(const std::string& path, uint64_t offset,
                        const std::string& bytes) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::string directory_;
};

std::string FileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

TEST_F(EventSpoolTest, AppendReadAcknowledge) {
  auto spool = Open();
  ASSERT_EQ(*spool->Append({"a", "b"}), 2u);
  ASSERT_EQ(*spool->Append({"c"}), 3u);
  auto batch = spool->ReadBatch(2, 1 << 20, absl::ZeroDuration());
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[0].payload, "a");
  EXPECT_EQ((*batch)[1].sequence, 2u);
  ASSERT_TRUE(spool->Acknowledge(2).ok());
  EXPECT_EQ(ReadAll(*spool), std::vector<std::string>{"c"});
  EXPECT_EQ(spool->Stats().records, 1u);
}

TEST_F(EventSpoolTest, RewindHandsOutUnacknowledgedAgain) {
  auto spool = Open();
  spool->Append({"a", "b"}).IgnoreError();
  EXPECT_EQ(ReadAll(*spool).size(), 2u);
  spool->Rewind();
  EXPECT_EQ(ReadAll(*spool), (std::vector<std::string>{"a", "b"}));
}

TEST_F(EventSpoolTest, ReopenDeliversWhatWasNotAcknowledged) {
  {
    auto spool = Open();
    spool->Append({"one", "two", "three"}).IgnoreError();
    ASSERT_TRUE(spool->Acknowledge(1).ok());
  }
  auto spool = Open();
  EXPECT_EQ(ReadAll(*spool), (std::vector<std::string>{"two", "three"}));
  EXPECT_EQ(*spool->Append({"four"}), 4u);  // sequences carry on
}

TEST_F(EventSpoolTest, TornTailIsCutOffAndTheRestSurvives) {
  {
    auto spool = Open();
    spool->Append({"first", "second", "third-record"}).IgnoreError();
  }
  const std::string segment = SegmentFiles().back();
  const auto size = std::filesystem::file_size(segment);
  std::filesystem::resize_file(segment, size - 4);  // a write cut short
  {
    auto spool = Open();
    EXPECT_EQ(ReadAll(*spool), (std::vector<std::string>{"first", "second"}));
    EXPECT_EQ(*spool->Append({"after"}), 3u);
  }
  auto spool = Open();
  EXPECT_EQ(ReadAll(*spool),
            (std::vector<std::string>{"first", "second", "after"}));
}

TEST_F(EventSpoolTest, CorruptLastRecordIsDetectedByChecksum) {
  {
    auto spool = Open();
    spool->Append({"good", "flipped"}).IgnoreError();
  }
  const std::string segment = SegmentFiles().back();
  std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(-2, std::ios::end);
  file.put('X');
  file.close();
  auto spool = Open();
  EXPECT_EQ(ReadAll(*spool), std::vector<std::string>{"good"});
}

TEST_F(EventSpoolTest, OverTheCapNothingIsWritten) {
  auto spool = Open(/*max_bytes=*/200);
  ASSERT_TRUE(spool->Append({std::string(100, 'x')}).ok());
  absl::StatusOr<uint64_t> full = spool->Append({std::string(100, 'y')});
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadAll(*spool).size(), 1u);
  // Delivery makes room again.
  ASSERT_TRUE(spool->Acknowledge(1).ok());
  EXPECT_TRUE(spool->Append({std::string(100, 'z')}).ok());
  EXPECT_EQ(spool->Stats().records, 1u);
}

TEST_F(EventSpoolTest, SegmentsRollAndAreDeletedOnceAcknowledged) {
  auto spool = Open(1 << 30, /*segment_bytes=*/100);
  for (int i = 0; i < 10; ++i)
    spool->Append({std::string(60, 'a' + i)}).IgnoreError();
  EXPECT_GE(SegmentFiles().size(), 5u);
  ASSERT_TRUE(spool->Acknowledge(10).ok());
  EXPECT_EQ(SegmentFiles().size(), 1u);
  EXPECT_EQ(spool->Stats().records, 0u);
}

TEST_F(EventSpoolTest, ConcurrentAppendsAreAllKeptInEachThreadsOrder) {
  auto spool = Open();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(spool->Append({absl::StrCat(t, ":", i)}).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<int> last(kThreads, -1);
  std::set<std::string> seen;
  for (const std::string& record : ReadAll(*spool)) {
    EXPECT_TRUE(seen.insert(record).second) << record;
    const size_t colon = record.find(':');
    int t = 0, i = 0;
    ASSERT_TRUE(absl::SimpleAtoi(record.substr(0, colon), &t));
    ASSERT_TRUE(absl::SimpleAtoi(record.substr(colon + 1), &i));
    EXPECT_EQ(i, last[t] + 1);
    last[t] = i;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(EventSpoolTest, EveryAppendReportedBeforeSigkillSurvives) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(report[0]);
    auto spool = EventSpool::Open({.directory = directory_});
    if (!spool.ok()) _exit(1);
    for (uint64_t i = 0;; ++i) {
      auto sequence = (*spool)->Append({absl::StrCat("record-", i)});
      if (!sequence.ok()) _exit(2);
      const uint64_t value = *sequence;
      if (write(report[1], &value, sizeof(value)) != sizeof(value)) _exit(3);
    }
  }
  close(report[1]);
  uint64_t acknowledged = 0;
  for (int i = 0; i < 300; ++i) {
    if (read(report[0], &acknowledged, sizeof(acknowledged)) !=
        sizeof(acknowledged)) {
      break;
    }
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(report[0]);
  ASSERT_GE(acknowledged, 300u);

  auto spool = Open();
  std::vector<std::string> records = ReadAll(*spool);
  ASSERT_GE(records.size(), acknowledged);
  for (uint64_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i], absl::StrCat("record-", i));
  }
}

TEST_F(EventSpoolTest, SecondOpenOfOneDirectoryIsRefused) {
  auto spool = Open();
  auto second = EventSpool::Open({.directory = directory_});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(second.status().message(), "in use"))
      << second.status();
  EXPECT_TRUE(absl::StrContains(second.status().message(),
                                absl::StrCat("pid ", getpid())))
      << second.status();
  // Another process too.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto other = EventSpool::Open({.directory = directory_});
    _exit(!other.ok() && absl::IsFailedPrecondition(other.status()) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "a second process opened a spool in use";
  // Free again once the first lets go.
  spool.reset();
  EXPECT_NE(Open(), nullptr);
}

// Record layout: 24 header bytes (length 4, CRC 4, sequence 8, time 8), then
// the payload.
TEST_F(EventSpoolTest, DamageInTheMiddleIsQuarantinedAndTheRestKept) {
  {
    auto spool = Open();
    spool->Append({"first", "second", "third"}).IgnoreError();
  }
  const std::string segment = SegmentFiles().back();
  const uint64_t second = kRecordHeaderBytes + 5;
  Overwrite(segment, second + kRecordHeaderBytes + 2, "X");  // a bad sector
  const std::string damaged =
      FileBytes(segment).substr(second, kRecordHeaderBytes + 6);
  {
    auto spool = Open();
    EXPECT_EQ(ReadAll(*spool), (std::vector<std::string>{"first", "third"}));
    EXPECT_EQ(spool->Stats().quarantined_records, 1u);
    EXPECT_EQ(spool->Stats().quarantined_bytes, kRecordHeaderBytes + 6);
    const std::vector<std::string> quarantined = QuarantineFiles();
    ASSERT_EQ(quarantined.size(), 1u);
    EXPECT_EQ(FileBytes(quarantined[0]), damaged);
    EXPECT_EQ(*spool->Append({"fourth"}), 4u);
  }
  // Moved, not copied: the next start finds nothing more to quarantine.
  auto spool = Open();
  EXPECT_EQ(ReadAll(*spool),
            (std::vector<std::string>{"first", "third", "fourth"}));
  EXPECT_EQ(spool->Stats().quarantined_records, 0u);
  EXPECT_EQ(QuarantineFiles().size(), 1u);
}

TEST_F(EventSpoolTest, DamagedLengthInTheMiddleDoesNotTakeTheRestAlong) {
  {
    auto spool = Open();
    spool->Append({"a1", "b22", "c333", "d4444"}).IgnoreError();
  }
  const std::string segment = SegmentFiles().back();
  // The second record's length now points far past the end of the file.
  Overwrite(segment, kRecordHeaderBytes + 2, std::string("\xff\xff\x00", 3));
  auto spool = Open();
  EXPECT_EQ(ReadAll(*spool), (std::vector<std::string>{"a1", "c333", "d4444"}));
  EXPECT_EQ(spool->Stats().quarantined_records, 1u);
  EXPECT_EQ(QuarantineFiles().size(), 1u);
}

TEST_F(EventSpoolTest, DamageAtTheEndOfAnOlderSegmentIsNotATornTail) {
  {
    auto spool = Open(1 << 30, /*segment_bytes=*/100);
    for (char c : std::string("abc")) {
      spool->Append({std::string(60, c)}).IgnoreError();
    }
  }
  ASSERT_EQ(SegmentFiles().size(), 3u);
  // The last record of the first segment: synced before the second segment
  // began, so no crash can have torn it.
  const std::string first = SegmentFiles().front();
  Overwrite(first, std::filesystem::file_size(first) - 1, "X");
  auto spool = Open(1 << 30, 100);
  EXPECT_EQ(ReadAll(*spool), (std::vector<std::string>{std::string(60, 'b'),
                                                       std::string(60, 'c')}));
  EXPECT_EQ(spool->Stats().quarantined_records, 1u);
  EXPECT_EQ(QuarantineFiles().size(), 1u);
}

// A cursor write that never finishes (its temporary file is a FIFO nobody
// reads, so open() blocks as on a hung disk) must not hold up appends.
TEST_F(EventSpoolTest, AcknowledgingDoesNotHoldUpAppends) {
  auto spool = Open();
  ASSERT_EQ(*spool->Append({"a"}), 1u);
  const std::string fifo = directory_ + "/cursor.tmp";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  std::thread acknowledging([&] { spool->Acknowledge(1).IgnoreError(); });
  absl::SleepFor(absl::Milliseconds(100));  // into the blocked open()
  std::future<absl::StatusOr<uint64_t>> append =
      std::async(std::launch::async, [&] { return spool->Append({"b"}); });
  const bool appended =
      append.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  // Unblock the cursor write whatever happened.
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  acknowledging.join();
  if (reader >= 0) close(reader);
  EXPECT_TRUE(appended) << "Append waited for the cursor write";
  EXPECT_EQ(*append.get(), 2u);
  EXPECT_EQ(spool->Stats().records, 1u);
}

// A new segment's directory entry could not be synced (here: the directory
// cannot even be opened, for want of a file descriptor): the records would
// not survive a crash, so the append must fail, and the next one succeed.
TEST_F(EventSpoolTest, NewSegmentWhoseDirectoryCannotBeSyncedTakesNothing) {
  auto spool = Open(1 << 30, /*segment_bytes=*/100);
  ASSERT_EQ(*spool->Append({std::string(60, 'a')}), 1u);
  const int lowest_free = dup(0);
  ASSERT_GE(lowest_free, 0);
  close(lowest_free);
  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  // Room for the new segment's file, none for the directory's.
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free) + 1;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  absl::StatusOr<uint64_t> rolled = spool->Append({std::string(60, 'b')});
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_FALSE(rolled.ok()) << "reported durable in a segment whose "
                               "directory entry was never synced";
  EXPECT_TRUE(spool->Append({std::string(60, 'c')}).ok());
  spool.reset();
  spool = Open(1 << 30, 100);
  EXPECT_EQ(ReadAll(*spool), (std::vector<std::string>{std::string(60, 'a'),
                                                       std::string(60, 'c')}));
}

// Real full and failing disks (mounting needs root, as CI has).
class SmallDiskTest : public EventSpoolTest {
 protected:
  void SetUp() override {
    EventSpoolTest::SetUp();
    mount_point_ = directory_ + "-disk";
  }
  void PutSpoolOn(std::unique_ptr<testing::SmallDisk> disk) {
    disk_ = std::move(disk);
    directory_ = disk_->path() + "/spool";
  }
  std::string mount_point_;
  std::unique_ptr<testing::SmallDisk> disk_;
};

#define OMNIHUB_SKIP_LOUDLY_UNLESS_OK(disk)                                 \
  if (!(disk).ok())                                                         \
  GTEST_SKIP() << "SKIPPED LOUDLY: " << (disk).status()                     \
               << "; what a full or failing disk does to the spool is NOT " \
                  "tested"

TEST_F(SmallDiskTest, FullDiskRefusesKeepsNothingHalfAndRecovers) {
  auto disk = testing::SmallDisk::Tmpfs(mount_point_, 256 << 10);
  OMNIHUB_SKIP_LOUDLY_UNLESS_OK(disk);
  PutSpoolOn(*std::move(disk));
  auto spool = Open();
  uint64_t accepted = 0;
  absl::Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    absl::StatusOr<uint64_t> sequence =
        spool->Append({std::string(10000, 'a' + i % 26)});
    if (sequence.ok()) {
      accepted = *sequence;
    } else {
      refused = sequence.status();
    }
  }
  ASSERT_FALSE(refused.ok()) << "the disk never filled up";
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  ASSERT_GT(accepted, 0u);
  // Exactly what was accepted is there, nothing of the refused record.
  EXPECT_EQ(std::filesystem::file_size(SegmentFiles().back()),
            accepted * (kRecordHeaderBytes + 10000));
  EXPECT_EQ(ReadAll(*spool).size(), accepted);
  EXPECT_FALSE(spool->Append({std::string(10000, 'x')}).ok());

  // Delivered: the space comes back and appends are taken again.
  spool->Acknowledge(accepted).IgnoreError();  // the cursor may not fit yet
  absl::StatusOr<uint64_t> after = spool->Append({"after"});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, accepted + 1);
  EXPECT_TRUE(spool->Acknowledge(accepted).ok());
  spool.reset();
  spool = Open();
  EXPECT_EQ(ReadAll(*spool), std::vector<std::string>{"after"});
  EXPECT_EQ(spool->Stats().quarantined_records, 0u);
}

// A disk that fails its writes: write() lands in the page cache, and the
// device refuses it when it is written back, so fsync reports the error. An
// append whose fsync failed must not be kept, nor reported durable.
TEST_F(SmallDiskTest, FailedSyncKeepsNothingAndRecoversWhenTheDiskDoes) {
  auto disk = testing::SmallDisk::FailingDevice(mount_point_,
                                                /*backing_bytes=*/1 << 20,
                                                /*device_bytes=*/32 << 20);
  OMNIHUB_SKIP_LOUDLY_UNLESS_OK(disk);
  PutSpoolOn(*std::move(disk));
  auto spool = Open();
  uint64_t accepted = 0;
  absl::Status refused;
  for (int i = 0; i < 200 && refused.ok(); ++i) {
    absl::StatusOr<uint64_t> sequence =
        spool->Append({std::string(64 << 10, 'a' + i % 26)});
    if (sequence.ok()) {
      accepted = *sequence;
    } else {
      refused = sequence.status();
    }
  }
  ASSERT_FALSE(refused.ok()) << "the device never failed a write";
  EXPECT_TRUE(absl::StrContains(refused.message(), "cannot sync")) << refused;
  EXPECT_EQ(std::filesystem::file_size(SegmentFiles().back()),
            accepted * (kRecordHeaderBytes + (64 << 10)));

  ASSERT_TRUE(disk_->Resize(64 << 20).ok());  // the device works again
  absl::StatusOr<uint64_t> after = spool->Append({"after"});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, accepted + 1);
  spool.reset();
  spool = Open();
  std::vector<std::string> records = ReadAll(*spool);
  ASSERT_EQ(records.size(), accepted + 1);
  EXPECT_EQ(records.back(), "after");
}

}  // namespace
}  // namespace omnihub::spool

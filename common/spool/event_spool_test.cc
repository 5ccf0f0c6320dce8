#include "common/spool/event_spool.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

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
  std::string directory_;
};

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

}  // namespace
}  // namespace omnihub::spool

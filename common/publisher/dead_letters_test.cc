#include "common/publisher/dead_letters.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace omnihub::publisher {
namespace {

class DeadLettersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        ::testing::TempDir() + "/dead-letters-" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    path_ = directory_ + "/dead-letters.jsonl";
  }
  std::string Text(const std::string& file) {
    absl::StatusOr<std::string> text = ReadDeadLetters(file);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : "";
  }
  std::string directory_;
  std::string path_;
};

TEST_F(DeadLettersTest, LockPathIsTheFamilysWhicheverFileIsNamed) {
  EXPECT_EQ(DeadLetterLockPath("/s/dead-letters.jsonl"),
            "/s/dead-letters.jsonl.lock");
  EXPECT_EQ(DeadLetterLockPath("/s/dead-letters.jsonl.2"),
            "/s/dead-letters.jsonl.lock");
}

TEST_F(DeadLettersTest, CappedAndRotatedOldestCounted) {
  // 400 bytes together: files of 100, each line 50 with its newline.
  const std::string line = std::string(49, 'x') + "\n";
  int64_t discarded = 0;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<int64_t> appended = AppendDeadLetters(path_, line, 400);
    ASSERT_TRUE(appended.ok()) << appended.status();
    discarded += *appended;
  }
  uint64_t total = 0;
  int64_t kept_lines = 0;
  for (const std::string& file :
       {path_, path_ + ".1", path_ + ".2", path_ + ".3"}) {
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_LE(std::filesystem::file_size(file), 100u) << file;
    total += std::filesystem::file_size(file);
    const std::string text = Text(file);
    kept_lines += std::count(text.begin(), text.end(), '\n');
    // Personal data: only the owner reads it.
    struct stat info;
    ASSERT_EQ(stat(file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u) << file;
  }
  EXPECT_FALSE(std::filesystem::exists(path_ + ".4"));
  EXPECT_LE(total, 400u);
  EXPECT_EQ(kept_lines + discarded, 20);
  EXPECT_EQ(discarded, 12);
}

TEST_F(DeadLettersTest, RemovingLinesKeepsTheRestAndDeletesAnEmptyFile) {
  ASSERT_TRUE(AppendDeadLetters(path_, "a\nb\nc\n", 1 << 20).ok());
  absl::StatusOr<size_t> removed = RemoveDeadLetterLines(
      path_, [](absl::string_view line) { return line == "b"; });
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(Text(path_), "a\nc\n");
  removed =
      RemoveDeadLetterLines(path_, [](absl::string_view) { return true; });
  EXPECT_EQ(*removed, 2u);
  EXPECT_FALSE(std::filesystem::exists(path_));
  removed =
      RemoveDeadLetterLines(path_, [](absl::string_view) { return true; });
  EXPECT_EQ(*removed, 0u);
}

// The CLI rewrites the file while the publisher appends: no line may be lost
// between its read and its rename.
TEST_F(DeadLettersTest, LinesAppendedDuringARewriteAreKept) {
  constexpr int kLines = 300;
  std::atomic<bool> done{false};
  std::thread appender([&] {
    for (int i = 0; i < kLines; ++i) {
      ASSERT_TRUE(
          AppendDeadLetters(path_, absl::StrCat("line-", i, "\n"), 1 << 30)
              .ok());
    }
    done = true;
  });
  size_t removed = 0;
  while (!done) {
    // Removes the even lines it finds.
    absl::StatusOr<size_t> n =
        RemoveDeadLetterLines(path_, [](absl::string_view line) {
          int i = 0;
          return absl::SimpleAtoi(line.substr(5), &i) && i % 2 == 0;
        });
    ASSERT_TRUE(n.ok()) << n.status();
    removed += *n;
  }
  appender.join();
  std::set<int> left;
  for (absl::string_view line :
       absl::StrSplit(Text(path_), '\n', absl::SkipEmpty())) {
    int i = 0;
    ASSERT_TRUE(absl::SimpleAtoi(line.substr(5), &i)) << line;
    EXPECT_TRUE(left.insert(i).second) << line;
  }
  for (int i = 1; i < kLines; i += 2) EXPECT_TRUE(left.contains(i)) << i;
  EXPECT_EQ(removed + left.size(), static_cast<size_t>(kLines));
}

}  // namespace
}  // namespace omnihub::publisher

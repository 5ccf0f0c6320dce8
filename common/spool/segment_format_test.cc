#include "common/spool/segment_format.h"

#include "gtest/gtest.h"

namespace omnihub::spool {
namespace {

const absl::Time kAt = absl::FromUnixSeconds(1795168800);

std::string Segment(uint64_t first, const std::vector<std::string>& payloads) {
  std::string bytes;
  for (const std::string& payload : payloads) {
    EncodeRecord(first++, kAt, payload, bytes);
  }
  return bytes;
}

std::vector<uint64_t> Sequences(const SegmentScan& scan) {
  std::vector<uint64_t> sequences;
  for (const ScannedRecord& record : scan.records) {
    sequences.push_back(record.sequence);
  }
  return sequences;
}

TEST(SegmentFormatTest, GoodRecordsScanWhole) {
  const std::string bytes = Segment(7, {"a", "", "ccc"});
  const SegmentScan scan = ScanSegmentBytes(bytes, 7);
  EXPECT_EQ(Sequences(scan), (std::vector<uint64_t>{7, 8, 9}));
  EXPECT_TRUE(scan.damaged.empty());
  EXPECT_EQ(scan.records[2].offset, 2 * kRecordHeaderBytes + 1);
  EXPECT_EQ(scan.records[2].length, kRecordHeaderBytes + 3);
  EXPECT_EQ(scan.records[0].appended_at, kAt);
}

TEST(SegmentFormatTest, AWriteCutShortIsATornTail) {
  std::string bytes = Segment(1, {"first", "second"});
  for (size_t cut : {size_t{1}, size_t{10}, kRecordHeaderBytes + 3}) {
    const SegmentScan scan =
        ScanSegmentBytes(bytes.substr(0, bytes.size() - cut), 1);
    EXPECT_EQ(Sequences(scan), std::vector<uint64_t>{1}) << cut;
    ASSERT_EQ(scan.damaged.size(), 1u) << cut;
    EXPECT_TRUE(scan.damaged[0].torn_tail) << cut;
  }
}

TEST(SegmentFormatTest, ZerosWhereTheFileGrewAreATornTail) {
  std::string bytes = Segment(1, {"first"}) + std::string(300, '\0');
  const SegmentScan scan = ScanSegmentBytes(bytes, 1);
  EXPECT_EQ(Sequences(scan), std::vector<uint64_t>{1});
  ASSERT_EQ(scan.damaged.size(), 1u);
  EXPECT_TRUE(scan.damaged[0].torn_tail);
}

TEST(SegmentFormatTest, DamageFollowedByMoreBytesIsNotATornTail) {
  // A whole record with a bad CRC, then bytes that are no record.
  std::string bytes = Segment(1, {"first", "second"});
  bytes[bytes.size() - 1] ^= 1;
  bytes += "garbage that follows";
  const SegmentScan scan = ScanSegmentBytes(bytes, 1);
  ASSERT_EQ(scan.damaged.size(), 1u);
  EXPECT_FALSE(scan.damaged[0].torn_tail);
}

TEST(SegmentFormatTest, ScanResumesAfterDamageAndCountsTheGap) {
  std::string bytes = Segment(10, {"a", "bb", "ccc", "dddd", "eeeee"});
  // Records 11 and 12 damaged: one in its payload, one in its length.
  const size_t second = kRecordHeaderBytes + 1;
  const size_t third = second + kRecordHeaderBytes + 2;
  bytes[second + kRecordHeaderBytes] ^= 1;
  bytes[third + 1] = '\x7f';
  const SegmentScan scan = ScanSegmentBytes(bytes, 10);
  EXPECT_EQ(Sequences(scan), (std::vector<uint64_t>{10, 13, 14}));
  ASSERT_EQ(scan.damaged.size(), 1u);
  EXPECT_EQ(scan.damaged[0].offset, second);
  EXPECT_EQ(scan.damaged[0].length, 2 * kRecordHeaderBytes + 2 + 3);
  EXPECT_EQ(scan.damaged[0].records_lost, 2u);
  EXPECT_FALSE(scan.damaged[0].torn_tail);
}

TEST(SegmentFormatTest, ARecordFromAnotherPlaceDoesNotFitTheGap) {
  // A valid record with an old sequence inside damage is not taken for the
  // next good one.
  std::string bytes = Segment(5, {"a"});
  std::string stale = Segment(2, {"stale"});
  bytes += std::string(3, 'x') + stale + Segment(6, {"b"});
  const SegmentScan scan = ScanSegmentBytes(bytes, 5);
  EXPECT_EQ(Sequences(scan), (std::vector<uint64_t>{5, 6}));
  ASSERT_EQ(scan.damaged.size(), 1u);
  EXPECT_EQ(scan.damaged[0].length, 3 + stale.size());
}

}  // namespace
}  // namespace omnihub::spool

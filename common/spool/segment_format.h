// The on-disk form of one spool segment, and what a scan of its bytes finds
// after a crash or a disk fault: the good records, and the damaged regions
// between them. Pure functions of bytes, so recovery's decisions are tested
// without a disk.
//
//   std::string bytes = EncodeRecord(7, now, payload);
//   SegmentScan scan = ScanSegmentBytes(bytes, /*first_sequence=*/7);
//   // scan.records[0].sequence == 7, scan.damaged.empty()
#ifndef OMNIHUB_COMMON_SPOOL_SEGMENT_FORMAT_H_
#define OMNIHUB_COMMON_SPOOL_SEGMENT_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace omnihub::spool {

// Each record: payload length (4), CRC-32 of what follows the CRC (4),
// sequence (8), append time in microseconds (8), payload; little-endian.
inline constexpr size_t kRecordHeaderBytes = 24;
// A bound independent of today's options, so a lowered limit never cuts off
// records written under a higher one.
inline constexpr uint64_t kLargestRecordPayload = 64u << 20;

// Appends one record in its on-disk form to `out`.
void EncodeRecord(uint64_t sequence, absl::Time appended_at,
                  absl::string_view payload, std::string& out);

struct ScannedRecord {
  uint64_t offset;
  uint32_t length;  // header and payload
  uint64_t sequence;
  absl::Time appended_at;
};

// Bytes between two good records (or after the last) that are no record.
struct DamagedRegion {
  uint64_t offset;
  uint64_t length;
  // Records it held, from the gap in sequence numbers around it; 0 when the
  // gap cannot tell (nothing good follows it in this segment).
  uint64_t records_lost;
  // It runs to the end of the segment, and is what a write cut short by a
  // crash leaves: less than a header, a record claiming to run to the end or
  // beyond, or zeros. Only the newest segment may have one.
  bool torn_tail;
};

struct SegmentScan {
  std::vector<ScannedRecord> records;
  std::vector<DamagedRegion> damaged;
};

// Finds every good record of a segment whose records begin at
// `first_sequence`; after damage it searches on for the next good record (a
// valid CRC and a sequence that fits the gap), so one bad record never takes
// the rest of the segment with it.
SegmentScan ScanSegmentBytes(absl::string_view bytes, uint64_t first_sequence);

}  // namespace omnihub::spool

#endif  // OMNIHUB_COMMON_SPOOL_SEGMENT_FORMAT_H_

#include "common/spool/segment_format.h"

#include <zlib.h>

#include <algorithm>

namespace omnihub::spool {
namespace {

void PutUint(char* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

uint64_t GetUint(const char* in, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(in[i]);
  }
  return value;
}

uint32_t Checksum(const char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes at most uInt bytes at a time.
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// The record at `offset`, if one whole record with a valid CRC is there.
bool RecordAt(absl::string_view bytes, uint64_t offset, ScannedRecord* out) {
  if (offset + kRecordHeaderBytes > bytes.size()) return false;
  const char* header = bytes.data() + offset;
  const uint64_t length = GetUint(header, 4);
  if (length > kLargestRecordPayload ||
      offset + kRecordHeaderBytes + length > bytes.size()) {
    return false;
  }
  if (Checksum(header + 8, 16 + length) != GetUint(header + 4, 4)) {
    return false;
  }
  *out = ScannedRecord{
      offset, static_cast<uint32_t>(kRecordHeaderBytes + length),
      GetUint(header + 8, 8),
      absl::FromUnixMicros(static_cast<int64_t>(GetUint(header + 16, 8)))};
  return true;
}

// What a write cut short leaves at the end of a file: part of a header, a
// record whose length runs to the end or past it, or zeros where the file
// grew but its pages never reached the disk.
bool LooksTorn(absl::string_view tail) {
  if (tail.size() < kRecordHeaderBytes) return true;
  const uint64_t claimed = kRecordHeaderBytes + GetUint(tail.data(), 4);
  if (claimed >= tail.size()) return true;
  const absl::string_view after = tail.substr(static_cast<size_t>(claimed));
  const auto is_zero = [](char c) { return c == 0; };
  return std::all_of(tail.begin(), tail.end(), is_zero) ||
         std::all_of(after.begin(), after.end(), is_zero);
}

}  // namespace

void EncodeRecord(uint64_t sequence, absl::Time appended_at,
                  absl::string_view payload, std::string& out) {
  const size_t start = out.size();
  out.resize(start + kRecordHeaderBytes);
  char* header = out.data() + start;
  PutUint(header, payload.size(), 4);
  PutUint(header + 8, sequence, 8);
  PutUint(header + 16, static_cast<uint64_t>(absl::ToUnixMicros(appended_at)),
          8);
  out.append(payload.data(), payload.size());
  header = out.data() + start;  // append may have moved it
  PutUint(header + 4, Checksum(header + 8, 16 + payload.size()), 4);
}

SegmentScan ScanSegmentBytes(absl::string_view bytes, uint64_t first_sequence) {
  SegmentScan scan;
  uint64_t last_sequence = first_sequence == 0 ? 0 : first_sequence - 1;
  uint64_t offset = 0;
  while (offset < bytes.size()) {
    ScannedRecord record;
    if (RecordAt(bytes, offset, &record)) {
      scan.records.push_back(record);
      last_sequence = std::max(last_sequence, record.sequence);
      offset += record.length;
      continue;
    }
    // Damage: the next good record is the first whose sequence fits the gap
    // (each record lost in between took at least a header's bytes) and whose
    // CRC holds. The sequence test first, as it is cheap.
    const uint64_t start = offset;
    bool found = false;
    for (uint64_t candidate = start + 1;
         candidate + kRecordHeaderBytes <= bytes.size(); ++candidate) {
      const uint64_t sequence = GetUint(bytes.data() + candidate + 8, 8);
      if (sequence <= last_sequence ||
          sequence >
              last_sequence + 1 + (candidate - start) / kRecordHeaderBytes ||
          !RecordAt(bytes, candidate, &record)) {
        continue;
      }
      found = true;
      offset = candidate;
      break;
    }
    if (!found) offset = bytes.size();
    DamagedRegion region{start, offset - start, 0, false};
    if (found) {
      region.records_lost = record.sequence - last_sequence - 1;
    } else {
      region.torn_tail = LooksTorn(bytes.substr(static_cast<size_t>(start)));
    }
    scan.damaged.push_back(region);
  }
  return scan;
}

}  // namespace omnihub::spool

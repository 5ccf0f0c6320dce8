#include "common/redis_cluster/key_slot.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace omnihub::redis_cluster {
namespace {

constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (int byte = 0; byte < 256; ++byte) {
    uint16_t crc = static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}

constexpr std::array<uint16_t, 256> kCrc16Table = MakeCrc16Table();

}  // namespace

uint16_t Crc16(absl::string_view bytes) {
  uint16_t crc = 0;
  for (const char c : bytes) {
    const auto index =
        static_cast<uint8_t>((crc >> 8) ^ static_cast<uint8_t>(c));
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16Table[index]);
  }
  return crc;
}

absl::string_view HashedPart(absl::string_view key) {
  const size_t open = key.find('{');
  if (open == absl::string_view::npos) return key;
  const size_t close = key.find('}', open + 1);
  // "{}" or no closing brace: the whole key is hashed.
  if (close == absl::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

int KeySlot(absl::string_view key) {
  return Crc16(HashedPart(key)) & (kSlotCount - 1);
}

std::string HashTagInSlot(absl::string_view stem, int slot) {
  // CRC16 spreads consecutive numbers evenly: about kSlotCount tries.
  for (uint64_t n = 0;; ++n) {
    std::string tag = absl::StrCat(stem, "-", n);
    if ((Crc16(tag) & (kSlotCount - 1)) == (slot & (kSlotCount - 1))) {
      return tag;
    }
  }
}

}  // namespace omnihub::redis_cluster

// Which of Redis Cluster's 16384 hash slots a key lives in: CRC16 (XMODEM)
// of the key, or of its hash tag (the part between the first `{` and the
// next `}`, when not empty), modulo 16384, as the cluster specification
// defines it.
//
//   KeySlot("omnihub:{c:42}:view") == KeySlot("omnihub:{c:42}:events")
#ifndef OMNIHUB_COMMON_REDIS_CLUSTER_KEY_SLOT_H_
#define OMNIHUB_COMMON_REDIS_CLUSTER_KEY_SLOT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace omnihub::redis_cluster {

inline constexpr int kSlotCount = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0).
uint16_t Crc16(absl::string_view bytes);

// The part of `key` that is hashed: its hash tag when it has a non-empty
// one, the whole key otherwise.
absl::string_view HashedPart(absl::string_view key);

int KeySlot(absl::string_view key);

// A hash tag (without its braces) that puts keys in `slot`: `stem`, "-" and
// the smallest number that does, e.g. for a key on a node chosen by the slot
// it serves (the durability marker written to each master).
std::string HashTagInSlot(absl::string_view stem, int slot);

}  // namespace omnihub::redis_cluster

#endif  // OMNIHUB_COMMON_REDIS_CLUSTER_KEY_SLOT_H_

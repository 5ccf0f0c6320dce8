#include "common/redis_cluster/slot_map.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/redis_cluster/key_slot.h"

namespace omnihub::redis_cluster {
namespace {

const std::string& NoMaster() {
  static const auto* empty = new std::string();
  return *empty;
}

}  // namespace

SlotMap::SlotMap() : owner_(kSlotCount, -1) {}

absl::StatusOr<SlotMap> SlotMap::FromClusterSlots(
    const redis::Reply& reply, const std::string& answering_host) {
  using Type = redis::Reply::Type;
  if (reply.type != Type::kArray) {
    return absl::InvalidArgumentError(
        absl::StrCat("CLUSTER SLOTS answered ",
                     reply.is_error() ? reply.str : "something not an array"));
  }
  SlotMap map;
  for (const redis::Reply& range : reply.elements) {
    // [first slot, last slot, [master host, port, id, ...], replicas...]
    if (range.type != Type::kArray || range.elements.size() < 3 ||
        range.elements[0].type != Type::kInteger ||
        range.elements[1].type != Type::kInteger ||
        range.elements[2].type != Type::kArray ||
        range.elements[2].elements.size() < 2 ||
        range.elements[2].elements[1].type != Type::kInteger) {
      return absl::InvalidArgumentError(
          "CLUSTER SLOTS answered a slot range of an unknown shape");
    }
    const int64_t first = range.elements[0].integer;
    const int64_t last = range.elements[1].integer;
    if (first < 0 || last >= kSlotCount || first > last) {
      return absl::InvalidArgumentError(
          absl::StrCat("CLUSTER SLOTS answered slots ", first, "-", last));
    }
    const redis::Reply& master = range.elements[2];
    const std::string host =
        master.elements[0].str.empty() || master.elements[0].str == "?"
            ? answering_host
            : master.elements[0].str;
    const int index =
        map.IndexOf(absl::StrCat(host, ":", master.elements[1].integer));
    for (int64_t slot = first; slot <= last; ++slot) map.owner_[slot] = index;
  }
  return map;
}

const std::string& SlotMap::master_of(int slot) const {
  if (slot < 0 || slot >= kSlotCount || owner_[slot] < 0) return NoMaster();
  return masters_[owner_[slot]];
}

void SlotMap::Assign(int slot, const std::string& master) {
  if (slot < 0 || slot >= kSlotCount) return;
  owner_[slot] = IndexOf(master);
  // A master left without slots stays listed until the next full map; it
  // is still a master, and SCRIPT LOAD on it does no harm.
}

bool SlotMap::complete() const {
  return std::none_of(owner_.begin(), owner_.end(),
                      [](int index) { return index < 0; });
}

std::vector<int> SlotMap::FirstSlots() const {
  std::vector<int> first(masters_.size(), -1);
  for (int slot = kSlotCount - 1; slot >= 0; --slot) {
    if (owner_[slot] >= 0) first[owner_[slot]] = slot;
  }
  return first;
}

int SlotMap::IndexOf(const std::string& master) {
  for (size_t i = 0; i < masters_.size(); ++i) {
    if (masters_[i] == master) return static_cast<int>(i);
  }
  masters_.push_back(master);
  return static_cast<int>(masters_.size() - 1);
}

}  // namespace omnihub::redis_cluster

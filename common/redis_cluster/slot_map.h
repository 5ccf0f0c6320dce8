// Which master serves each hash slot, as `CLUSTER SLOTS` tells it.
//
//   absl::StatusOr<SlotMap> map = SlotMap::FromClusterSlots(reply);
//   const std::string& master = map->master_of(KeySlot(key));  // "host:port"
#ifndef OMNIHUB_COMMON_REDIS_CLUSTER_SLOT_MAP_H_
#define OMNIHUB_COMMON_REDIS_CLUSTER_SLOT_MAP_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/redis_client.h"

namespace omnihub::redis_cluster {

class SlotMap {
 public:
  // Every slot unassigned.
  SlotMap();

  // INVALID_ARGUMENT when the reply is not CLUSTER SLOTS' shape. Slots no
  // master serves stay unassigned. A master announced with an empty host
  // (Redis does so for the node answering) is given `answering_host`.
  static absl::StatusOr<SlotMap> FromClusterSlots(
      const redis::Reply& reply, const std::string& answering_host);

  // "host:port" of the slot's master; empty when no master serves it.
  const std::string& master_of(int slot) const;
  void Assign(int slot, const std::string& master);

  // Every master serving at least one slot, each once.
  const std::vector<std::string>& masters() const { return masters_; }
  // Per master (as indexed in masters()), the first slot it serves; -1 for
  // one that serves none any more.
  std::vector<int> FirstSlots() const;
  // True when every slot has a master.
  bool complete() const;

 private:
  int IndexOf(const std::string& master);

  std::vector<std::string> masters_;
  std::vector<int> owner_;  // per slot, an index into masters_ or -1
};

}  // namespace omnihub::redis_cluster

#endif  // OMNIHUB_COMMON_REDIS_CLUSTER_SLOT_MAP_H_

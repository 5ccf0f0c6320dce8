#include "common/redis_cluster/slot_map.h"

#include "common/redis_cluster/key_slot.h"
#include "gtest/gtest.h"

namespace omnihub::redis_cluster {
namespace {

using redis::Reply;
using Type = redis::Reply::Type;

Reply Of(Type type) {
  Reply reply;
  reply.type = type;
  return reply;
}
Reply Int(int64_t value) {
  Reply reply = Of(Type::kInteger);
  reply.integer = value;
  return reply;
}
Reply Str(std::string value, Type type = Type::kString) {
  Reply reply = Of(type);
  reply.str = std::move(value);
  return reply;
}
Reply Array(std::vector<Reply> elements) {
  Reply reply = Of(Type::kArray);
  reply.elements = std::move(elements);
  return reply;
}
Reply Range(int first, int last, std::string host, int port) {
  return Array({Int(first), Int(last), Array({Str(host), Int(port), Str("id")}),
                Array({Str(host), Int(port + 1), Str("replica")})});
}

TEST(SlotMapTest, ReadsClusterSlots) {
  absl::StatusOr<SlotMap> map =
      SlotMap::FromClusterSlots(Array({Range(0, 5460, "10.0.0.1", 7000),
                                       Range(5461, 10922, "10.0.0.2", 7000),
                                       Range(10923, 16383, "", 7002)}),
                                "10.0.0.9");
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_TRUE(map->complete());
  EXPECT_EQ(map->master_of(0), "10.0.0.1:7000");
  EXPECT_EQ(map->master_of(5461), "10.0.0.2:7000");
  // The answering node announces itself with an empty host.
  EXPECT_EQ(map->master_of(16383), "10.0.0.9:7002");
  EXPECT_EQ(map->masters().size(), 3u);
}

TEST(SlotMapTest, SeveralRangesOfOneMasterAndGaps) {
  absl::StatusOr<SlotMap> map = SlotMap::FromClusterSlots(
      Array({Range(0, 99, "a", 1), Range(200, 16383, "a", 1)}), "x");
  ASSERT_TRUE(map.ok());
  EXPECT_FALSE(map->complete());
  EXPECT_EQ(map->master_of(150), "");
  EXPECT_EQ(map->masters().size(), 1u);
  map->Assign(150, "b:2");
  EXPECT_EQ(map->master_of(150), "b:2");
}

TEST(SlotMapTest, RefusesOtherShapes) {
  EXPECT_FALSE(SlotMap::FromClusterSlots(
                   Str("ERR cluster support disabled", Type::kError), "x")
                   .ok());
  EXPECT_FALSE(
      SlotMap::FromClusterSlots(
          Array({Array({Int(0), Int(20000), Array({Str("a"), Int(1)})})}), "x")
          .ok());
  EXPECT_FALSE(SlotMap::FromClusterSlots(Array({Int(3)}), "x").ok());
}

}  // namespace
}  // namespace omnihub::redis_cluster

#include "common/redis_cluster/key_slot.h"

#include "gtest/gtest.h"

namespace omnihub::redis_cluster {
namespace {

// The cluster specification's reference value for its CRC16.
TEST(Crc16Test, MatchesTheSpecificationsCheckValue) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
}

TEST(KeySlotTest, HashesTheWholeKeyWithoutATag) {
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 % kSlotCount);
  // Known answers of CLUSTER KEYSLOT.
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot("somekey"), 11058);
}

TEST(KeySlotTest, HashesOnlyTheHashTag) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(HashedPart("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashedPart("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashedPart("foo{bar}zap"), "bar");
}

TEST(KeySlotTest, EmptyOrUnclosedTagHashesTheWholeKey) {
  EXPECT_EQ(HashedPart("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(HashedPart("foo{bar"), "foo{bar");
  EXPECT_EQ(HashedPart("}foo{"), "}foo{");
}

TEST(KeySlotTest, EverySlotIsInRange) {
  for (int i = 0; i < 10000; ++i) {
    const int slot = KeySlot("key:" + std::to_string(i));
    EXPECT_GE(slot, 0);
    EXPECT_LT(slot, kSlotCount);
  }
}

TEST(KeySlotTest, HashTagInSlotPutsKeysInThatSlot) {
  for (int slot : {0, 1, 5061, 12182, kSlotCount - 1}) {
    const std::string tag = HashTagInSlot("durability", slot);
    EXPECT_EQ(KeySlot("omnihub:{" + tag + "}:wait"), slot) << tag;
  }
}

}  // namespace
}  // namespace omnihub::redis_cluster

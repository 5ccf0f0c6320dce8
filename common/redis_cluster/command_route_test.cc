#include "common/redis_cluster/command_route.h"

#include "common/redis_cluster/key_slot.h"
#include "gtest/gtest.h"

namespace omnihub::redis_cluster {
namespace {

using Kind = CommandRoute::Kind;

TEST(CommandRouteTest, RoutesByTheFirstKey) {
  absl::StatusOr<CommandRoute> route =
      RouteOf({"HSET", "{c:1}:view", "f", "v"});
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->kind, Kind::kSlot);
  EXPECT_EQ(route->slot, KeySlot("c:1"));
  EXPECT_EQ(RouteOf({"get", "foo"})->slot, 12182);
}

TEST(CommandRouteTest, ScriptsRouteByTheirFirstKeyAfterNumkeys) {
  absl::StatusOr<CommandRoute> route =
      RouteOf({"EVALSHA", "abc", "2", "{c:9}:a", "{c:9}:b", "arg"});
  ASSERT_TRUE(route.ok());
  EXPECT_EQ(route->kind, Kind::kSlot);
  EXPECT_EQ(route->slot, KeySlot("c:9"));
  EXPECT_EQ(RouteOf({"EVAL", "return 1", "0"})->kind, Kind::kAnyMaster);
  EXPECT_FALSE(RouteOf({"EVAL", "return 1", "2", "k"}).ok());
  EXPECT_FALSE(RouteOf({"EVALSHA", "abc", "x"}).ok());
}

TEST(CommandRouteTest, KeylessCommandsGoToOneOrEveryMaster) {
  EXPECT_EQ(RouteOf({"PING"})->kind, Kind::kAnyMaster);
  EXPECT_EQ(RouteOf({"INFO", "replication"})->kind, Kind::kAnyMaster);
  EXPECT_EQ(RouteOf({"SCRIPT", "LOAD", "return 1"})->kind, Kind::kAllMasters);
  EXPECT_EQ(RouteOf({"SCRIPT", "EXISTS", "abc"})->kind, Kind::kAnyMaster);
  EXPECT_EQ(RouteOf({"FLUSHALL"})->kind, Kind::kAllMasters);
  EXPECT_EQ(RouteOf({"CONFIG", "SET", "x", "y"})->kind, Kind::kAllMasters);
  EXPECT_EQ(RouteOf({"CONFIG", "GET", "x"})->kind, Kind::kAnyMaster);
}

TEST(CommandRouteTest, RefusesWhatOneRoutedCommandCannotAnswer) {
  for (const char* name : {"SCAN", "KEYS", "MULTI", "SELECT", "WAIT"}) {
    absl::StatusOr<CommandRoute> route = RouteOf({name, "0"});
    ASSERT_FALSE(route.ok()) << name;
    EXPECT_EQ(route.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(RouteOf({}).ok());
  EXPECT_FALSE(RouteOf({"GET"}).ok());
}

TEST(CommandRouteTest, StreamsRouteByTheFirstStream) {
  EXPECT_EQ(RouteOf({"XREAD", "COUNT", "1", "STREAMS", "{s}x", "0"})->slot,
            KeySlot("s"));
}

}  // namespace
}  // namespace omnihub::redis_cluster

// The customer index (timeline/key_schema.h) against a real redis-server:
// every customer is listed from its first event and unlisted by its
// erasure; a store from before the index is listed by the first whole walk
// of the keyspace, which then marks it complete, and later walks read the
// index; a walk begun by older code never marks it.
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/redis/keyspace_scan.h"
#include "services/insights/store/customer_scan.h"
#include "services/timeline/key_schema.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14, in us

struct Walk {
  std::set<std::string> ids;
  std::vector<std::string> cursors;
};

class CustomerIndexTest : public TimelineFixture {
 protected:
  // Creates a customer of its own; its id.
  std::string NewCustomer(const std::string& name) {
    const v1::IngestResponse response = IngestOk({Event(
        absl::StrCat("e-", name), v1::IDENTITY_KIND_CRM_ID, name, kBase)});
    EXPECT_EQ(response.results_size(), 1);
    return response.results_size() == 1 ? response.results(0).customer_id()
                                        : std::string();
  }

  std::set<std::string> Listed() {
    std::set<std::string> listed;
    for (int shard = 0; shard < timeline::kCustomerIndexShards; ++shard) {
      absl::StatusOr<redis::Reply> members = RedisCommand(
          {"ZRANGE", store_->context().keys.ForCustomerIndex(shard), "0",
           "-1"});
      EXPECT_TRUE(members.ok()) << members.status();
      if (!members.ok()) continue;
      for (const redis::Reply& id : members->elements) listed.insert(id.str);
    }
    return listed;
  }

  bool MarkedComplete() {
    absl::StatusOr<redis::Reply> marked = RedisCommand(
        {"EXISTS", store_->context().keys.ForCustomerIndexComplete()});
    EXPECT_TRUE(marked.ok()) << marked.status();
    return marked.ok() && marked->integer == 1;
  }

  // What the store looked like before the index was kept.
  void DropTheIndex() {
    for (int shard = 0; shard < timeline::kCustomerIndexShards; ++shard) {
      ASSERT_TRUE(
          RedisCommand({"DEL", store_->context().keys.ForCustomerIndex(shard)})
              .ok());
    }
    ASSERT_TRUE(
        RedisCommand({"DEL", store_->context().keys.ForCustomerIndexComplete()})
            .ok());
  }

  // A whole walk from `cursor`, `count` at a time; `between` runs after
  // each step.
  Walk WalkFrom(
      std::string cursor, int count,
      const std::function<void()>& between = [] {}) {
    Walk walk;
    for (int steps = 0; steps < 10'000; ++steps) {
      absl::StatusOr<insights::CustomerIdsStep> step =
          insights::ScanCustomerIds(store_->context(), engine_->keys(), cursor,
                                    count);
      EXPECT_TRUE(step.ok()) << step.status();
      if (!step.ok()) break;
      EXPECT_FALSE(step->restarted);
      walk.ids.insert(step->ids.begin(), step->ids.end());
      cursor = step->cursor;
      walk.cursors.push_back(cursor);
      if (cursor == "0") break;
      between();
    }
    return walk;
  }
};

TEST_F(CustomerIndexTest, EveryCustomerIsListedFromItsFirstEventUntilErased) {
  std::set<std::string> customers;
  for (int i = 0; i < 30; ++i) {
    customers.insert(NewCustomer(absl::StrCat("crm-", i)));
  }
  // A second event lists nothing new.
  IngestOk({Event("again", v1::IDENTITY_KIND_CRM_ID, "crm-0", kBase + 1)});
  EXPECT_EQ(Listed(), customers);

  const v1::ForgetCustomerResponse forgotten =
      ForgetOk(ByIdentity(v1::IDENTITY_KIND_CRM_ID, "crm-7"));
  ASSERT_FALSE(forgotten.customer_id().empty());
  customers.erase(forgotten.customer_id());
  EXPECT_EQ(Listed(), customers);
}

TEST_F(CustomerIndexTest, ConcurrentFirstEventsOfOnePersonListOneCustomer) {
  // Of the candidates racing for the first identity, the losers leave the
  // index again before their event goes on.
  std::set<std::string> customers;
  for (int person = 0; person < 5; ++person) {
    std::vector<std::thread> senders;
    std::vector<std::string> ids(6);
    for (size_t s = 0; s < ids.size(); ++s) {
      senders.emplace_back([&, s] {
        ids[s] = NewCustomer(absl::StrCat("person-", person, "-", s));
      });
    }
    for (std::thread& sender : senders) sender.join();
    // The events above are each their own person; these race for one.
    senders.clear();
    for (size_t s = 0; s < ids.size(); ++s) {
      senders.emplace_back([&, s] {
        v1::InteractionEvent event = Event(
            absl::StrCat("race-", person, "-", s), v1::IDENTITY_KIND_EMAIL,
            absl::StrCat("racer", person, "@example.com"), kBase);
        const v1::IngestResponse response = IngestOk({event});
        if (response.results_size() == 1) {
          ids[s] = response.results(0).customer_id();
        }
      });
    }
    for (std::thread& sender : senders) sender.join();
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  }
  // Every customer that exists, and only those.
  std::set<std::string> stored;
  for (const std::string& key : AllKeys()) {
    const std::string suffix = "}:v";
    if (!absl::EndsWith(key, suffix)) continue;
    const size_t open = key.find(":c:{");
    if (open == std::string::npos) continue;
    stored.insert(key.substr(open + 4, key.size() - open - 4 - suffix.size()));
  }
  EXPECT_EQ(stored.size(), 35u);
  EXPECT_EQ(Listed(), stored);
}

TEST_F(CustomerIndexTest, AStoreFromBeforeTheIndexIsListedByTheFirstWalk) {
  std::set<std::string> customers;
  for (int i = 0; i < 40; ++i) {
    customers.insert(NewCustomer(absl::StrCat("old-", i)));
  }
  DropTheIndex();
  const std::set<std::string> before = customers;

  // The first walk scans the keyspace, lists what it finds, and marks the
  // index complete when it ends; a customer created during it is listed
  // by its own first event.
  int created = 0;
  const Walk first = WalkFrom("0", 8, [&] {
    if (created < 3) {
      customers.insert(NewCustomer(absl::StrCat("during-", created++)));
    }
  });
  EXPECT_EQ(created, 3);
  for (const std::string& old : before) {
    EXPECT_TRUE(first.ids.contains(old)) << old;
  }
  EXPECT_TRUE(MarkedComplete());
  EXPECT_EQ(Listed(), customers);
  for (const std::string& cursor : first.cursors) {
    EXPECT_FALSE(absl::StartsWith(cursor, "x")) << cursor;
  }

  // The next walk reads the index, a shard at a time.
  const Walk second = WalkFrom("0", 8);
  EXPECT_EQ(second.ids, customers);
  EXPECT_GE(second.cursors.size(),
            static_cast<size_t>(timeline::kCustomerIndexShards));
  for (size_t i = 0; i + 1 < second.cursors.size(); ++i) {
    EXPECT_TRUE(absl::StartsWith(second.cursors[i], "x")) << second.cursors[i];
  }
}

TEST_F(CustomerIndexTest, AWalkBegunByOlderCodeDoesNotMarkTheIndex) {
  ASSERT_NE(redis_, nullptr) << "reaches into the one Redis";
  for (int i = 0; i < 40; ++i) NewCustomer(absl::StrCat("old-", i));
  DropTheIndex();
  // A cursor as older code kept it: ScanKeyspace's own.
  absl::StatusOr<redis::KeyspaceScanStep> begun = redis::ScanKeyspace(
      *redis_, "0",
      {"MATCH", engine_->keys().ViewPattern(), "COUNT", "5", "TYPE", "hash"});
  ASSERT_TRUE(begun.ok()) << begun.status();
  ASSERT_NE(begun->cursor, "0");
  WalkFrom(begun->cursor, 5);
  EXPECT_FALSE(MarkedComplete());
  // A walk begun from the start does.
  WalkFrom("0", 5);
  EXPECT_TRUE(MarkedComplete());
}

}  // namespace
}  // namespace omnihub::testing

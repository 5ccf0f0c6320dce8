#include "services/timeline/key_schema.h"

#include <set>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

// Redis Cluster hashes only the part between the first '{' and the next '}'.
std::string HashTag(const std::string& key) {
  const size_t open = key.find('{');
  const size_t close = key.find('}', open);
  return key.substr(open + 1, close - open - 1);
}

TEST(KeySchemaTest, CustomerKeysShareOneHashTag) {
  const CustomerKeys keys =
      KeySchema("crm:").ForCustomer("c0123456789abcdef01234567");
  EXPECT_EQ(keys.events, "crm:c:{c0123456789abcdef01234567}:ev");
  EXPECT_EQ(keys.timeline, "crm:c:{c0123456789abcdef01234567}:tl");
  EXPECT_EQ(keys.view, "crm:c:{c0123456789abcdef01234567}:v");
  for (const std::string& key :
       {keys.events, keys.timeline, keys.view, keys.merge_log, keys.aliases}) {
    EXPECT_EQ(HashTag(key), "c0123456789abcdef01234567") << key;
  }
}

TEST(KeySchemaTest, IdentityKeyIsTaggedByTheIdentity) {
  v1::Identity phone;
  phone.set_kind(v1::IDENTITY_KIND_PHONE);
  phone.set_value("+442071838750");
  EXPECT_EQ(KeySchema().ForIdentity(phone), "omnihub:id:{phone:+442071838750}");
}

TEST(KeySchemaTest, IdentityMemberRoundTrips) {
  v1::Identity email;
  email.set_kind(v1::IDENTITY_KIND_EMAIL);
  email.set_value("a:b@example.com");  // a colon inside the value survives
  v1::Identity back;
  ASSERT_TRUE(ParseIdentityMember(IdentityMember(email), &back));
  EXPECT_EQ(back.kind(), v1::IDENTITY_KIND_EMAIL);
  EXPECT_EQ(back.value(), "a:b@example.com");
  EXPECT_FALSE(ParseIdentityMember("no-colon", &back));
  EXPECT_FALSE(ParseIdentityMember("starship:42", &back));
}

TEST(KeySchemaTest, CustomerIdsOrderByCreationTime) {
  const absl::Time earlier = absl::FromUnixMillis(1'700'000'000'000);
  for (int i = 0; i < 100; ++i) {
    EXPECT_LT(NewCustomerId(earlier),
              NewCustomerId(earlier + absl::Milliseconds(1 + i)));
  }
  EXPECT_EQ(NewCustomerId(earlier).substr(0, 13),
            absl::StrFormat("c%012x", 1'700'000'000'000));
}

TEST(KeySchemaTest, MergeAndErasureKeys) {
  const KeySchema keys("crm:");
  const CustomerKeys customer = keys.ForCustomer("c0123456789abcdef01234567");
  EXPECT_EQ(customer.merge_log, "crm:c:{c0123456789abcdef01234567}:mlog");
  EXPECT_EQ(customer.aliases, "crm:c:{c0123456789abcdef01234567}:als");
  EXPECT_EQ(customer.claims, "crm:c:{c0123456789abcdef01234567}:cl");
  // Both merge keys in one slot, so one script updates them together.
  EXPECT_EQ(HashTag(keys.ForMerges().pending), "merges");
  EXPECT_EQ(HashTag(keys.ForMerges().intents), "merges");
  // Erased event ids are kept as SHA-256, under the SHA-256 of each identity
  // of the erased customer.
  const std::string hash = ErasedEventHash("call-1");
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash, ErasedEventHash("call-1"));
  EXPECT_NE(hash, ErasedEventHash("call-2"));
  EXPECT_EQ(ErasedEventHash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  v1::Identity phone;
  phone.set_kind(v1::IDENTITY_KIND_PHONE);
  phone.set_value("+442071838750");
  const std::string identity_hash = IdentityHash(phone);
  EXPECT_EQ(identity_hash, ErasedEventHash("phone:+442071838750"));
  EXPECT_EQ(keys.ForErasedEvents(identity_hash),
            "crm:fg:{" + identity_hash + "}");
  // A suppression is named by the identity's hash alone, never its value.
  EXPECT_EQ(keys.ForSuppression(identity_hash),
            "crm:sup:{" + identity_hash + "}");
  EXPECT_EQ(HashTag(keys.ForSuppressionIndex()), "suppressions");
}

TEST(KeySchemaTest, NewCustomerIdsAreWellFormedAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewCustomerId();
    EXPECT_TRUE(IsWellFormedCustomerId(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(IsWellFormedCustomerId("c0123"));
  EXPECT_FALSE(IsWellFormedCustomerId("x0123456789abcdef01234567"));
  EXPECT_FALSE(IsWellFormedCustomerId("c0123456789ABCDEF01234567"));
}

}  // namespace
}  // namespace omnihub::timeline

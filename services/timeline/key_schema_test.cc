#include "services/timeline/key_schema.h"

#include <set>

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
  EXPECT_EQ(keys.identities, "crm:c:{c0123456789abcdef01234567}:ids");
  for (const std::string& key :
       {keys.events, keys.timeline, keys.view, keys.identities}) {
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

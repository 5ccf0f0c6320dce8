#include "services/web_adapter/client_address.h"

#include "gtest/gtest.h"

namespace omnihub::web {
namespace {

AddressSet Set(absl::string_view list) {
  absl::StatusOr<AddressSet> set = AddressSet::Parse(list);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.value_or(AddressSet());
}

TEST(AddressSetTest, MatchesAddressesAndNetworks) {
  const AddressSet set = Set("10.0.0.0/8, 192.168.1.7 ,fd00::/8");
  EXPECT_TRUE(set.Contains("10.200.3.4"));
  EXPECT_TRUE(set.Contains("192.168.1.7"));
  EXPECT_FALSE(set.Contains("192.168.1.8"));
  EXPECT_TRUE(set.Contains("fd12::1"));
  EXPECT_FALSE(set.Contains("fe80::1"));
  EXPECT_FALSE(set.Contains("11.0.0.1"));
  EXPECT_FALSE(set.Contains("not an address"));
  EXPECT_TRUE(Set("0.0.0.0/0").Contains("8.8.8.8"));
  EXPECT_TRUE(Set("10.1.2.0/23").Contains("10.1.3.255"));
  EXPECT_FALSE(Set("10.1.2.0/23").Contains("10.1.4.0"));
  EXPECT_TRUE(Set("").empty());
}

TEST(AddressSetTest, RejectsWhatIsNoNetwork) {
  for (const char* bad : {"10.0.0.0/33", "::1/129", "10.0.0/8", "proxy",
                          "10.0.0.0/x", "10.0.0.0/-1"}) {
    EXPECT_FALSE(AddressSet::Parse(bad).ok()) << bad;
  }
}

TEST(ClientAddressTest, ForwardedForIsBelievedOnlyFromTrustedProxies) {
  const AddressSet proxies = Set("10.0.0.0/8");
  // No proxy: the header is the client's own claim and is ignored.
  EXPECT_EQ(ClientAddress("203.0.113.9", "1.2.3.4", proxies), "203.0.113.9");
  // Through our proxy: the address it appended.
  EXPECT_EQ(ClientAddress("10.0.0.2", "198.51.100.7", proxies), "198.51.100.7");
  // The client's forged first hop is not believed; two proxies of ours.
  EXPECT_EQ(
      ClientAddress("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", proxies),
      "198.51.100.7");
  // Garbage passed on stops the walk at the last believable address.
  EXPECT_EQ(ClientAddress("10.0.0.2", "garbage, 10.0.0.3", proxies),
            "10.0.0.3");
  EXPECT_EQ(ClientAddress("10.0.0.2", "", proxies), "10.0.0.2");
}

TEST(IpPrivacyTest, TruncatesKeepsOrDrops) {
  EXPECT_EQ(ApplyIpPrivacy("198.51.100.77", IpPrivacy::kTruncate),
            "198.51.100.0");
  EXPECT_EQ(ApplyIpPrivacy("2001:db8:abcd:12::1", IpPrivacy::kTruncate),
            "2001:db8:abcd::");
  EXPECT_EQ(ApplyIpPrivacy("198.51.100.77", IpPrivacy::kKeep), "198.51.100.77");
  EXPECT_EQ(ApplyIpPrivacy("198.51.100.77", IpPrivacy::kDrop), "");
  EXPECT_EQ(ApplyIpPrivacy("junk", IpPrivacy::kKeep), "");
  EXPECT_TRUE(ParseIpPrivacy("truncate").ok());
  EXPECT_FALSE(ParseIpPrivacy("anonymize").ok());
}

}  // namespace
}  // namespace omnihub::web

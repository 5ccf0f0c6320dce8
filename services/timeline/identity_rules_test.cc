#include "services/timeline/identity_rules.h"

#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

v1::Identity Make(v1::IdentityKind kind, const std::string& value) {
  v1::Identity identity;
  identity.set_kind(kind);
  identity.set_value(value);
  return identity;
}

class IdentityRulesTest : public ::testing::Test {
 protected:
  absl::StatusOr<IdentityRules> Parse(IdentityRulesSpec spec) {
    return IdentityRules::Parse(spec, normalizer_);
  }
  identity::IdentityNormalizer normalizer_{{.default_region = "GB"}};
};

TEST_F(IdentityRulesTest, DefaultsRankCrmFirstAndLimitLoginAndCrm) {
  const IdentityRules rules;
  EXPECT_LT(rules.Rank(v1::IDENTITY_KIND_CRM_ID),
            rules.Rank(v1::IDENTITY_KIND_LOGIN_ID));
  EXPECT_LT(rules.Rank(v1::IDENTITY_KIND_PHONE),
            rules.Rank(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID));
  EXPECT_EQ(rules.PolicyOf(v1::IDENTITY_KIND_PHONE), IdentityPolicy::kMerge);
  EXPECT_EQ(rules.LimitOf(v1::IDENTITY_KIND_LOGIN_ID), 1);
  EXPECT_EQ(rules.LimitOf(v1::IDENTITY_KIND_EMAIL), 0);
  EXPECT_EQ(rules.limits_argument(), "crm_id=1,login_id=1");
}

TEST_F(IdentityRulesTest, ParsesEveryPart) {
  absl::StatusOr<IdentityRules> rules =
      Parse({.priority = "email, phone",
             .policies = "phone=attach,web_anonymous_id=merge",
             .limits = "login_id=0,phone=3",
             .blocked = "phone:020 7946 0000, email:Test@Example.com"});
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->Rank(v1::IDENTITY_KIND_EMAIL), 0);
  EXPECT_EQ(rules->Rank(v1::IDENTITY_KIND_PHONE), 1);
  EXPECT_EQ(rules->Rank(v1::IDENTITY_KIND_CRM_ID), 2);  // then the defaults
  EXPECT_EQ(rules->PolicyOf(v1::IDENTITY_KIND_PHONE),
            IdentityPolicy::kAttachOnly);
  EXPECT_EQ(rules->LimitOf(v1::IDENTITY_KIND_LOGIN_ID), 0);
  EXPECT_EQ(rules->limits_argument(), "phone=3,crm_id=1");
  // Blocked values are normalised like the identities they are meant to stop.
  EXPECT_TRUE(rules->IsBlocked(Make(v1::IDENTITY_KIND_PHONE, "+442079460000")));
  EXPECT_TRUE(
      rules->IsBlocked(Make(v1::IDENTITY_KIND_EMAIL, "test@example.com")));
  EXPECT_FALSE(
      rules->IsBlocked(Make(v1::IDENTITY_KIND_EMAIL, "ann@example.com")));
}

TEST_F(IdentityRulesTest, MistakesAreNamed) {
  absl::StatusOr<IdentityRules> rules = Parse({.priority = "email,fax"});
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(rules.status().message().find("priority: \"fax\""),
            std::string::npos)
      << rules.status();
  EXPECT_FALSE(Parse({.priority = "email,email"}).ok());
  EXPECT_NE(Parse({.policies = "phone=sometimes"})
                .status()
                .message()
                .find("merge or attach"),
            std::string::npos);
  EXPECT_FALSE(Parse({.limits = "phone=-1"}).ok());
  EXPECT_FALSE(Parse({.limits = "phone=many"}).ok());
  EXPECT_NE(
      Parse({.blocked = "phone:no digits"}).status().message().find("blocked"),
      std::string::npos);
}

TEST_F(IdentityRulesTest, UsableDropsBlockedAndOrdersByPriority) {
  absl::StatusOr<IdentityRules> rules =
      Parse({.blocked = "phone:+442079460000"});
  ASSERT_TRUE(rules.ok());
  std::vector<v1::Identity> usable =
      rules->Usable({Make(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "a-1"),
                     Make(v1::IDENTITY_KIND_PHONE, "+442079460000"),
                     Make(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                     Make(v1::IDENTITY_KIND_CRM_ID, "C-9")});
  ASSERT_EQ(usable.size(), 3u);
  EXPECT_EQ(usable[0].kind(), v1::IDENTITY_KIND_CRM_ID);
  EXPECT_EQ(usable[1].kind(), v1::IDENTITY_KIND_EMAIL);
  EXPECT_EQ(usable[2].kind(), v1::IDENTITY_KIND_WEB_ANONYMOUS_ID);
}

TEST_F(IdentityRulesTest, LimitViolationCountsDistinctValuesPerKind) {
  const IdentityRules rules;  // one login id per customer
  EXPECT_FALSE(rules
                   .LimitViolation({Make(v1::IDENTITY_KIND_LOGIN_ID, "u1"),
                                    Make(v1::IDENTITY_KIND_LOGIN_ID, "u1"),
                                    Make(v1::IDENTITY_KIND_EMAIL, "a@b.co"),
                                    Make(v1::IDENTITY_KIND_EMAIL, "c@d.co")})
                   .has_value());
  std::optional<std::string> violation =
      rules.LimitViolation({Make(v1::IDENTITY_KIND_LOGIN_ID, "u1"),
                            Make(v1::IDENTITY_KIND_LOGIN_ID, "u2")});
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(*violation,
            "one customer would have 2 login_id identities; the limit is 1");
}

}  // namespace
}  // namespace omnihub::timeline

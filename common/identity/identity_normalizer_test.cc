#include "common/identity/identity_normalizer.h"

#include "gtest/gtest.h"

namespace omnihub::identity {
namespace {

class IdentityNormalizerTest : public ::testing::Test {
 protected:
  std::string Ok(v1::IdentityKind kind, absl::string_view value) {
    absl::StatusOr<std::string> result = normalizer_.Normalize(kind, value);
    EXPECT_TRUE(result.ok()) << value << ": " << result.status();
    return result.value_or("");
  }
  absl::Status Error(v1::IdentityKind kind, absl::string_view value) {
    absl::StatusOr<std::string> result = normalizer_.Normalize(kind, value);
    EXPECT_FALSE(result.ok()) << value << " -> " << result.value_or("");
    return result.status();
  }
  void ExpectRejected(v1::IdentityKind kind, absl::string_view value) {
    Error(kind, value).IgnoreError();
  }
  IdentityNormalizer normalizer_{{.default_region = "GB"}};
};

TEST_F(IdentityNormalizerTest, PhoneNumbersInAnyFormatBecomeOneE164) {
  for (const char* written :
       {"020 7183 8750", "+44 20 7183 8750", "0044 20 7183 8750",
        "(020) 7183-8750", "  +442071838750  "}) {
    EXPECT_EQ(Ok(v1::IDENTITY_KIND_PHONE, written), "+442071838750") << written;
  }
  EXPECT_EQ(Ok(v1::IDENTITY_KIND_PHONE, "+1 (415) 555-0132"), "+14155550132");
}

TEST_F(IdentityNormalizerTest, DefaultRegionDecidesNationalNumbers) {
  IdentityNormalizer us({.default_region = "US"});
  EXPECT_EQ(*us.Normalize(v1::IDENTITY_KIND_PHONE, "(415) 555-0132"),
            "+14155550132");
}

TEST_F(IdentityNormalizerTest, RejectsWhatIsNoPhoneNumber) {
  EXPECT_EQ(Error(v1::IDENTITY_KIND_PHONE, "call me").code(),
            absl::StatusCode::kInvalidArgument);
  ExpectRejected(v1::IDENTITY_KIND_PHONE, "12");
  ExpectRejected(v1::IDENTITY_KIND_PHONE, "+44 20 7183 8750 1234 5678 99");
}

TEST_F(IdentityNormalizerTest, EmailIsTrimmedAndLowerCased) {
  EXPECT_EQ(Ok(v1::IDENTITY_KIND_EMAIL, "  Foo@Example.COM "),
            "foo@example.com");
  ExpectRejected(v1::IDENTITY_KIND_EMAIL, "no-at-sign");
  ExpectRejected(v1::IDENTITY_KIND_EMAIL, "two@@example.com");
  ExpectRejected(v1::IDENTITY_KIND_EMAIL, "@example.com");
  ExpectRejected(v1::IDENTITY_KIND_EMAIL, "ann@localhost");
  ExpectRejected(v1::IDENTITY_KIND_EMAIL, "ann smith@example.com");
}

TEST_F(IdentityNormalizerTest, OpaqueIdsAreTrimmedAndKeepUnicode) {
  EXPECT_EQ(Ok(v1::IDENTITY_KIND_LOGIN_ID, " jürgen🙂 "), "jürgen🙂");
  EXPECT_EQ(Ok(v1::IDENTITY_KIND_LOYALTY_CARD, "L-0001"), "L-0001");
  EXPECT_EQ(Ok(v1::IDENTITY_KIND_CRM_ID, "Case-Sensitive"), "Case-Sensitive");
}

TEST_F(IdentityNormalizerTest, RejectsEmptyControlCharsAndBrokenUtf8) {
  EXPECT_NE(Error(v1::IDENTITY_KIND_CRM_ID, "").message().find("empty"),
            std::string::npos);
  ExpectRejected(v1::IDENTITY_KIND_CRM_ID, "   ");
  ExpectRejected(v1::IDENTITY_KIND_LOGIN_ID, "a\nb");
  ExpectRejected(v1::IDENTITY_KIND_LOGIN_ID, std::string("a\0b", 3));
  ExpectRejected(v1::IDENTITY_KIND_LOGIN_ID, "\xC3");          // truncated
  ExpectRejected(v1::IDENTITY_KIND_LOGIN_ID, "\xC0\xAF");      // overlong
  ExpectRejected(v1::IDENTITY_KIND_LOGIN_ID, "\xED\xA0\x80");  // surrogate
}

TEST_F(IdentityNormalizerTest, UnknownKindIsRejected) {
  EXPECT_NE(Error(static_cast<v1::IdentityKind>(42), "x").message().find("42"),
            std::string::npos);
  ExpectRejected(v1::IDENTITY_KIND_UNSPECIFIED, "x");
}

TEST(IdentityKindNameTest, NamesRoundTrip) {
  for (int k = 1; k <= 6; ++k) {
    const auto kind = static_cast<v1::IdentityKind>(k);
    v1::IdentityKind back;
    ASSERT_TRUE(ParseIdentityKindName(IdentityKindName(kind), &back));
    EXPECT_EQ(back, kind);
  }
  v1::IdentityKind ignored;
  EXPECT_FALSE(ParseIdentityKindName("fax", &ignored));
  EXPECT_EQ(IdentityKindName(v1::IDENTITY_KIND_PHONE), "phone");
}

TEST(IsPhoneRegionTest, KnowsIsoRegionsOnly) {
  EXPECT_TRUE(IsPhoneRegion("US"));
  EXPECT_TRUE(IsPhoneRegion("ES"));
  EXPECT_FALSE(IsPhoneRegion("es"));
  EXPECT_FALSE(IsPhoneRegion("XX"));
  EXPECT_FALSE(IsPhoneRegion(""));
}

}  // namespace
}  // namespace omnihub::identity

#include "services/phone_adapter/twilio_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace omnihub::phone {
namespace {

// The signature written out by hand from Twilio's description, apart from
// the code under test: the URL, then name and value of each parameter in
// the order given here (already sorted by the test), HMAC-SHA1, base64.
std::string SignedByHand(
    const std::string& token, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& sorted) {
  std::string text = url;
  for (const auto& [name, value] : sorted) text += name + value;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest,
       &length);
  unsigned char base64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int written = EVP_EncodeBlock(base64, digest, static_cast<int>(length));
  return std::string(reinterpret_cast<const char*>(base64), written);
}

const std::multimap<std::string, std::string> kDocsForm = {
    {"CallSid", "CA1234567890ABCDE"},
    {"Caller", "+14158675309"},
    {"Digits", "1234"},
    {"From", "+14158675309"},
    {"To", "+18005551212"},
};
constexpr char kDocsUrl[] = "https://mycompany.com/myapp.php?foo=1&bar=2";

// Twilio's own example (docs and api-snippets' signature_validation
// sample): auth token 12345, this URL and form.
TEST(TwilioSignatureTest, MatchesTwilioDocumentationExample) {
  EXPECT_EQ(TwilioSignature("12345", kDocsUrl, kDocsForm),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  EXPECT_TRUE(TwilioSignatureMatches("12345", kDocsUrl, kDocsForm,
                                     "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

TEST(TwilioSignatureTest, SortsNamesCaseSensitivelyAsComputedByHand) {
  const std::multimap<std::string, std::string> form = {
      {"b", "2"}, {"CallStatus", "completed"}, {"a", "1 2"}, {"From", "+44"}};
  const std::string url = "https://hub.example.com/v1/calls/twilio";
  // Upper case sorts before lower case, byte by byte.
  const std::string expected = SignedByHand(
      "tok", url,
      {{"CallStatus", "completed"}, {"From", "+44"}, {"a", "1 2"}, {"b", "2"}});
  EXPECT_EQ(TwilioSignature("tok", url, form), expected);
  EXPECT_TRUE(TwilioSignatureMatches("tok", url, form, expected));
}

TEST(TwilioSignatureTest, RefusesTamperedParameterWrongUrlOrToken) {
  const std::string good = TwilioSignature("12345", kDocsUrl, kDocsForm);
  std::multimap<std::string, std::string> tampered = kDocsForm;
  tampered.find("From")->second = "+14158675310";
  EXPECT_FALSE(TwilioSignatureMatches("12345", kDocsUrl, tampered, good));
  std::multimap<std::string, std::string> added = kDocsForm;
  added.emplace("CallStatus", "completed");
  EXPECT_FALSE(TwilioSignatureMatches("12345", kDocsUrl, added, good));
  EXPECT_FALSE(TwilioSignatureMatches(
      "12345", "http://mycompany.com/myapp.php?foo=1&bar=2", kDocsForm, good));
  EXPECT_FALSE(TwilioSignatureMatches(
      "12345", "https://mycompany.com/myapp.php?foo=1&bar=3", kDocsForm, good));
  EXPECT_FALSE(TwilioSignatureMatches("12346", kDocsUrl, kDocsForm, good));
  EXPECT_FALSE(TwilioSignatureMatches("12345", kDocsUrl, kDocsForm, ""));
  EXPECT_FALSE(
      TwilioSignatureMatches("12345", kDocsUrl, kDocsForm, good + "="));
}

}  // namespace
}  // namespace omnihub::phone

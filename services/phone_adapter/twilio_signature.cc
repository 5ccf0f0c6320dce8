#include "services/phone_adapter/twilio_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace omnihub::phone {

std::string TwilioSignature(
    absl::string_view auth_token, absl::string_view url,
    const std::multimap<std::string, std::string>& post_parameters) {
  // A name given twice is signed with its values in order too.
  std::vector<std::pair<std::string, std::string>> sorted(
      post_parameters.begin(), post_parameters.end());
  std::sort(sorted.begin(), sorted.end());
  std::string signed_text(url);
  for (const auto& [name, value] : sorted) {
    absl::StrAppend(&signed_text, name, value);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()),
       signed_text.size(), digest, &length);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

bool TwilioSignatureMatches(
    absl::string_view auth_token, absl::string_view url,
    const std::multimap<std::string, std::string>& post_parameters,
    absl::string_view presented) {
  const std::string expected =
      TwilioSignature(auth_token, url, post_parameters);
  return presented.size() == expected.size() &&
         CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

}  // namespace omnihub::phone

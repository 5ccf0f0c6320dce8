// One place where identity values are normalised, used by the hub and the
// channel adapters alike, so the same person's phone or e-mail written two
// ways resolves to one customer.
//
//   IdentityNormalizer normalizer({.default_region = "GB"});
//   normalizer.Normalize(v1::IDENTITY_KIND_PHONE, "020 7183 8750");
//   // -> "+442071838750"
#ifndef OMNIHUB_COMMON_IDENTITY_IDENTITY_NORMALIZER_H_
#define OMNIHUB_COMMON_IDENTITY_IDENTITY_NORMALIZER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::identity {

struct IdentityNormalizerOptions {
  // ISO 3166 region for phone numbers written without "+country".
  std::string default_region = "US";
};

class IdentityNormalizer {
 public:
  explicit IdentityNormalizer(IdentityNormalizerOptions options = {});

  // The normalised value, or INVALID_ARGUMENT with a reason a person can act
  // on. Phone: E.164 via libphonenumber (possible numbers, not only numbers
  // in ranges known today). E-mail: trimmed and lower-cased. Other kinds:
  // trimmed; valid UTF-8 without control characters.
  absl::StatusOr<std::string> Normalize(v1::IdentityKind kind,
                                        absl::string_view value) const;

 private:
  IdentityNormalizerOptions options_;
};

// Stable short names used in storage keys and logs: "phone", "email",
// "web_anonymous_id", "login_id", "loyalty_card", "crm_id"; "unknown" else.
absl::string_view IdentityKindName(v1::IdentityKind kind);
// The reverse of IdentityKindName; false for unknown names.
bool ParseIdentityKindName(absl::string_view name, v1::IdentityKind* kind);

// True when libphonenumber knows `region` (an ISO 3166 code like "GB"), so
// it can be the default region of phone numbers without "+country".
bool IsPhoneRegion(absl::string_view region);

// True when `text` is valid UTF-8 with no control characters.
bool IsPrintableUtf8(absl::string_view text);

}  // namespace omnihub::identity

#endif  // OMNIHUB_COMMON_IDENTITY_IDENTITY_NORMALIZER_H_

#include "common/identity/identity_normalizer.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "phonenumbers/phonenumberutil.h"

namespace omnihub::identity {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr std::pair<v1::IdentityKind, absl::string_view> kKindNames[] = {
    {v1::IDENTITY_KIND_PHONE, "phone"},
    {v1::IDENTITY_KIND_EMAIL, "email"},
    {v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "web_anonymous_id"},
    {v1::IDENTITY_KIND_LOGIN_ID, "login_id"},
    {v1::IDENTITY_KIND_LOYALTY_CARD, "loyalty_card"},
    {v1::IDENTITY_KIND_CRM_ID, "crm_id"},
};

absl::StatusOr<std::string> NormalizePhone(absl::string_view value,
                                           const std::string& region) {
  // PhoneNumberUtil is a thread-safe singleton for parsing and formatting.
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  bool has_digit = false;
  for (char c : value) has_digit |= absl::ascii_isdigit(c);
  if (!has_digit) {
    return absl::InvalidArgumentError("is not a phone number (no digits)");
  }
  PhoneNumber number;
  if (util.Parse(std::string(value), region, &number) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return absl::InvalidArgumentError(absl::StrCat(
        "is not a phone number (read with default region ", region, ")"));
  }
  if (!util.IsPossibleNumber(number)) {
    return absl::InvalidArgumentError(
        "is not a possible phone number (wrong length for its country)");
  }
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

absl::StatusOr<std::string> NormalizeEmail(absl::string_view value) {
  const std::string email = absl::AsciiStrToLower(value);
  const size_t at = email.find('@');
  if (at == std::string::npos || email.find('@', at + 1) != std::string::npos) {
    return absl::InvalidArgumentError("must be an e-mail address with one @");
  }
  const absl::string_view domain = absl::string_view(email).substr(at + 1);
  if (at == 0 || domain.empty() || !absl::StrContains(domain, '.') ||
      domain.front() == '.' || domain.back() == '.') {
    return absl::InvalidArgumentError(
        "must be an e-mail address like name@example.com");
  }
  for (char c : email) {
    if (absl::ascii_isspace(c)) {
      return absl::InvalidArgumentError("must not contain spaces");
    }
  }
  return email;
}

}  // namespace

bool IsPrintableUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t code_point = 0;
    if (c < 0x80) {
      length = 1;
      code_point = c;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code_point = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code_point = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code_point = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and out-of-range values are not UTF-8.
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kSmallest[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    if (code_point < 0x20 || code_point == 0x7F ||
        (code_point >= 0x80 && code_point < 0xA0)) {
      return false;
    }
    i += length;
  }
  return true;
}

IdentityNormalizer::IdentityNormalizer(IdentityNormalizerOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<std::string> IdentityNormalizer::Normalize(
    v1::IdentityKind kind, absl::string_view value) const {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(value);
  if (trimmed.empty()) return absl::InvalidArgumentError("must not be empty");
  if (!IsPrintableUtf8(trimmed)) {
    return absl::InvalidArgumentError(
        "must be valid UTF-8 without control characters");
  }
  switch (kind) {
    case v1::IDENTITY_KIND_PHONE:
      return NormalizePhone(trimmed, options_.default_region);
    case v1::IDENTITY_KIND_EMAIL:
      return NormalizeEmail(trimmed);
    case v1::IDENTITY_KIND_WEB_ANONYMOUS_ID:
    case v1::IDENTITY_KIND_LOGIN_ID:
    case v1::IDENTITY_KIND_LOYALTY_CARD:
    case v1::IDENTITY_KIND_CRM_ID:
      return std::string(trimmed);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown identity kind ", static_cast<int>(kind)));
  }
}

bool IsPhoneRegion(absl::string_view region) {
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  return regions.count(std::string(region)) > 0;
}

absl::string_view IdentityKindName(v1::IdentityKind kind) {
  for (const auto& [known, name] : kKindNames) {
    if (known == kind) return name;
  }
  return "unknown";
}

bool ParseIdentityKindName(absl::string_view name, v1::IdentityKind* kind) {
  for (const auto& [known, known_name] : kKindNames) {
    if (known_name == name) {
      *kind = known;
      return true;
    }
  }
  return false;
}

}  // namespace omnihub::identity

#include "common/money/money.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace omnihub::money {

namespace {

// "1.059.000" as "1059000": points between groups of three digits after a
// first group of one to three. Empty when the points are anything else
// ("59.90", "1.05", "1..059"), which is no number with a decimal comma.
std::string WithoutThousandsPoints(absl::string_view whole) {
  if (whole.find('.') == absl::string_view::npos) return std::string(whole);
  std::string digits;
  const size_t first = whole.find('.');
  if (first == 0 || first > 3) return "";
  absl::StrAppend(&digits, whole.substr(0, first));
  for (size_t at = first; at < whole.size(); at += 4) {
    if (whole[at] != '.' || at + 4 > whole.size()) return "";
    absl::StrAppend(&digits, whole.substr(at + 1, 3));
  }
  if (digits.find('.') != std::string::npos) return "";
  return digits;
}

}  // namespace

absl::StatusOr<DecimalMark> ParseDecimalMark(absl::string_view name) {
  if (name == "point") return DecimalMark::kPoint;
  if (name == "comma") return DecimalMark::kComma;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", name, "\" is not point or comma"));
}

absl::StatusOr<int64_t> ParseDecimalMicros(absl::string_view text,
                                           DecimalMark mark) {
  text = absl::StripAsciiWhitespace(text);
  std::string plain;
  if (mark == DecimalMark::kComma) {
    const size_t comma = text.find(',');
    plain = WithoutThousandsPoints(text.substr(0, comma));
    if (plain.empty() || text.find('.', comma) != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "must be a non-negative decimal with a decimal comma like 1059,90 "
          "or 1.059,90 (points only between groups of three digits)");
    }
    if (comma != absl::string_view::npos) {
      absl::StrAppend(&plain, ".", text.substr(comma + 1));
    }
    text = plain;
  }
  const size_t point = text.find('.');
  const absl::string_view whole = text.substr(0, point);
  const absl::string_view fraction =
      point == absl::string_view::npos ? "" : text.substr(point + 1);
  const auto digits = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(), absl::ascii_isdigit);
  };
  if (whole.empty() || !digits(whole) || !digits(fraction) ||
      (point != absl::string_view::npos && fraction.empty())) {
    return absl::InvalidArgumentError(
        mark == DecimalMark::kComma
            ? "must be a non-negative decimal with a decimal comma like "
              "1059,90 or 1.059,90"
            : "must be a non-negative decimal like 12.34");
  }
  if (fraction.size() > 6) {
    return absl::InvalidArgumentError("has more than 6 decimals");
  }
  int64_t units = 0;
  // A trillion units is far beyond any one interaction's value.
  if (whole.size() > 13 || !absl::SimpleAtoi(whole, &units) ||
      units > 1'000'000'000'000) {
    return absl::InvalidArgumentError("is too large");
  }
  std::string padded(fraction);
  padded.resize(6, '0');
  int64_t micros = 0;
  if (!absl::SimpleAtoi(padded, &micros)) micros = 0;
  return units * 1'000'000 + micros;
}

bool IsCurrencyCode(absl::string_view code) {
  return code.size() == 3 &&
         std::all_of(code.begin(), code.end(), absl::ascii_isupper);
}

}  // namespace omnihub::money

#include "common/money/money.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"

namespace omnihub::money {

absl::StatusOr<int64_t> ParseDecimalMicros(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
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
        "must be a non-negative decimal like 12.34");
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

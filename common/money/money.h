// Amounts of money as outside systems write them ("12.34" and "EUR"), read
// exactly into the contract's Money (millionths of a unit), never via double.
#ifndef OMNIHUB_COMMON_MONEY_MONEY_H_
#define OMNIHUB_COMMON_MONEY_MONEY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::money {

// What separates a decimal's units from its fraction.
enum class DecimalMark {
  kPoint,  // "1059.90"
  // "1059,90" or "1.059,90", as Spain and most of Europe write, with points
  // only as thousands separators between groups of three digits.
  kComma,
};

// "point" or "comma"; INVALID_ARGUMENT for anything else.
absl::StatusOr<DecimalMark> ParseDecimalMark(absl::string_view name);

// "12.34" (or "12,34" with kComma) as 12340000. INVALID_ARGUMENT unless it is
// a plain non-negative decimal with at most 6 decimals and at most a
// trillion units. With kPoint a comma is refused, never read as a thousands
// separator or a decimal mark: "1,059" could mean either.
absl::StatusOr<int64_t> ParseDecimalMicros(
    absl::string_view text, DecimalMark mark = DecimalMark::kPoint);

// Three upper-case letters, as ISO 4217 codes are.
bool IsCurrencyCode(absl::string_view code);

}  // namespace omnihub::money

#endif  // OMNIHUB_COMMON_MONEY_MONEY_H_

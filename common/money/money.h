// Amounts of money as outside systems write them ("12.34" and "EUR"), read
// exactly into the contract's Money (millionths of a unit), never via double.
#ifndef OMNIHUB_COMMON_MONEY_MONEY_H_
#define OMNIHUB_COMMON_MONEY_MONEY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::money {

// "12.34" as 12340000. INVALID_ARGUMENT unless it is a plain non-negative
// decimal with at most 6 decimals and at most a trillion units.
absl::StatusOr<int64_t> ParseDecimalMicros(absl::string_view text);

// Three upper-case letters, as ISO 4217 codes are.
bool IsCurrencyCode(absl::string_view code);

}  // namespace omnihub::money

#endif  // OMNIHUB_COMMON_MONEY_MONEY_H_

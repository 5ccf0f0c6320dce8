#include "services/timeline/view_totals.h"

#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace omnihub::timeline {
namespace {

constexpr absl::string_view kValuePrefix = "val:";
constexpr absl::string_view kPurchaseDayPrefix = "p:";

// Why a sum of `key` overflows, in words.
std::string Describe(absl::string_view key, int64_t a, int64_t b) {
  std::vector<absl::string_view> parts = absl::StrSplit(key, ':');
  const std::string sum = absl::StrCat(a, " + ", b, " micros");
  if (parts.size() == 3) {
    return absl::StrCat("the purchases in ", parts[2], " on day ", parts[1],
                        " (days since 1970-01-01) would overflow: ", sum,
                        " is beyond 64 bits");
  }
  return absl::StrCat("the total value in ", parts.back(),
                      " would overflow: ", sum, " is beyond 64 bits");
}

}  // namespace

bool ViewTotals::AddField(absl::string_view field, absl::string_view value) {
  std::vector<std::pair<std::string, int64_t>> sums;
  if (absl::StartsWith(field, kValuePrefix)) {
    int64_t micros = 0;
    if (!absl::SimpleAtoi(value, &micros)) return false;
    sums.emplace_back(std::string(field), micros);
  } else if (absl::StartsWith(field, kPurchaseDayPrefix)) {
    // "<purchase events>;<currency>=<micros>;..."
    const absl::string_view day = field.substr(kPurchaseDayPrefix.size());
    std::vector<absl::string_view> parts = absl::StrSplit(value, ';');
    for (size_t i = 1; i < parts.size(); ++i) {
      std::pair<absl::string_view, absl::string_view> money =
          absl::StrSplit(parts[i], absl::MaxSplits('=', 1));
      int64_t micros = 0;
      if (money.first.empty() || !absl::SimpleAtoi(money.second, &micros)) {
        return false;
      }
      sums.emplace_back(absl::StrCat("p:", day, ":", money.first), micros);
    }
  }
  for (auto& [key, micros] : sums) sums_[key] = micros;
  return true;
}

std::optional<std::string> ViewTotals::OverflowWith(
    const ViewTotals& other) const {
  for (const auto& [key, micros] : other.sums_) {
    auto it = sums_.find(key);
    if (it == sums_.end()) continue;
    int64_t sum = 0;
    if (__builtin_add_overflow(it->second, micros, &sum)) {
      return Describe(key, it->second, micros);
    }
  }
  return std::nullopt;
}

void ViewTotals::Absorb(const ViewTotals& other) {
  for (const auto& [key, micros] : other.sums_) {
    int64_t& sum = sums_[key];
    if (__builtin_add_overflow(sum, micros, &sum)) {
      sum = micros > 0 ? std::numeric_limits<int64_t>::max()
                       : std::numeric_limits<int64_t>::min();
    }
  }
}

}  // namespace omnihub::timeline

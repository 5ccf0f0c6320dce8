#include "services/insights/store/insights_keys.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/timeline/key_schema.h"

namespace omnihub::insights {

InsightsKeys::InsightsKeys(std::string prefix) : prefix_(std::move(prefix)) {}

std::string InsightsKeys::DeadlineShardOf(absl::string_view customer_id) const {
  return absl::StrFormat("%sdl:{%02x}", prefix_,
                         timeline::StableHash(customer_id) % kDeadlineShards);
}

std::string InsightsKeys::RankingShardOf(Ranking ranking,
                                         absl::string_view currency,
                                         absl::string_view customer_id) const {
  return absl::StrFormat("%stop:{%c:%s:%02x}", prefix_,
                         static_cast<char>(ranking), currency,
                         timeline::StableHash(customer_id) % kRankingShards);
}

std::vector<std::string> InsightsKeys::RankingShards(
    Ranking ranking, absl::string_view currency) const {
  std::vector<std::string> shards;
  for (int shard = 0; shard < kRankingShards; ++shard) {
    shards.push_back(absl::StrFormat("%stop:{%c:%s:%02x}", prefix_,
                                     static_cast<char>(ranking), currency,
                                     shard));
  }
  return shards;
}

std::string InsightsKeys::RankingShardOfField(
    absl::string_view field, absl::string_view customer_id) const {
  // "h:EUR": the ranking's letter, then the currency.
  return absl::StrFormat("%stop:{%s:%02x}", prefix_, field,
                         timeline::StableHash(customer_id) % kRankingShards);
}

std::string InsightsKeys::RankedIn(absl::string_view customer_id) const {
  return absl::StrCat(prefix_, "c:{", customer_id, "}:rk");
}

std::vector<std::string> InsightsKeys::DeadlineShards() const {
  std::vector<std::string> shards;
  for (int shard = 0; shard < kDeadlineShards; ++shard) {
    shards.push_back(absl::StrFormat("%sdl:{%02x}", prefix_, shard));
  }
  return shards;
}

std::string InsightsKeys::ViewPattern() const {
  // The prefix may hold glob characters; they are matched literally.
  std::string escaped;
  for (char c : prefix_) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      escaped += '\\';
    }
    escaped += c;
  }
  return absl::StrCat(escaped, "c:{*}:v");
}

std::string InsightsKeys::CustomerOfViewKey(absl::string_view key) const {
  const std::string start = absl::StrCat(prefix_, "c:{");
  if (!absl::StartsWith(key, start) || !absl::EndsWith(key, "}:v")) return "";
  key.remove_prefix(start.size());
  key.remove_suffix(3);
  return std::string(key);
}

}  // namespace omnihub::insights

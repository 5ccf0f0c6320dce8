#include "services/insights/store/insights_keys.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace omnihub::insights {

InsightsKeys::InsightsKeys(std::string prefix) : prefix_(std::move(prefix)) {}

std::string InsightsKeys::DeadlineShardOf(absl::string_view customer_id) const {
  // FNV-1a: the same shard on every replica, whatever the id looks like.
  uint32_t hash = 2166136261u;
  for (unsigned char c : customer_id) {
    hash = (hash ^ c) * 16777619u;
  }
  return absl::StrFormat("%sdl:{%02x}", prefix_, hash % kDeadlineShards);
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

#include "services/timeline/page_token.h"

#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace omnihub::timeline {
namespace {

constexpr char kVersion = 1;
// version, fingerprint, occurred_at, then the event id.
constexpr size_t kFixedBytes = 1 + 8 + 8;

// FNV-1a: tiny, stable everywhere, and plenty for telling filters apart.
class Fnv1a {
 public:
  void Add(absl::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 1099511628211ULL;
    }
  }
  void Add(int64_t number) { Add(absl::StrCat(number, ";")); }
  uint64_t hash() const { return hash_; }

 private:
  uint64_t hash_ = 14695981039346656037ULL;
};

void AppendUint64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

uint64_t ReadUint64(const char* bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

}  // namespace

uint64_t TimelineFilterFingerprint(const v1::GetTimelineRequest& request) {
  Fnv1a hash;
  const v1::CustomerSelector& selector = request.customer();
  hash.Add(static_cast<int64_t>(selector.selector_case()));
  hash.Add(selector.customer_id());
  hash.Add(static_cast<int64_t>(selector.identity().kind()));
  hash.Add(selector.identity().value());
  for (const auto* values : {&request.channels(), &request.kinds()}) {
    std::vector<int> sorted(values->begin(), values->end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    hash.Add("|");
    for (int value : sorted) hash.Add(value);
  }
  hash.Add(request.has_start_time() ? request.start_time().seconds() : -1);
  hash.Add(request.start_time().nanos());
  hash.Add(request.has_end_time() ? request.end_time().seconds() : -1);
  hash.Add(request.end_time().nanos());
  return hash.hash();
}

std::string EncodePageToken(const TimelineCursor& cursor,
                            uint64_t fingerprint) {
  std::string raw(1, kVersion);
  AppendUint64(raw, fingerprint);
  AppendUint64(raw, static_cast<uint64_t>(cursor.occurred_at_micros));
  raw.append(cursor.event_id);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<TimelineCursor> DecodePageToken(absl::string_view token,
                                               uint64_t expected_fingerprint) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() <= kFixedBytes ||
      raw[0] != kVersion) {
    return absl::InvalidArgumentError(
        "page_token: is not a token this service gave out");
  }
  if (ReadUint64(raw.data() + 1) != expected_fingerprint) {
    return absl::InvalidArgumentError(
        "page_token: was given for other filters; send the same customer, "
        "channels, kinds and times as the request it came from");
  }
  TimelineCursor cursor;
  cursor.occurred_at_micros = static_cast<int64_t>(ReadUint64(raw.data() + 9));
  cursor.event_id = raw.substr(kFixedBytes);
  return cursor;
}

}  // namespace omnihub::timeline

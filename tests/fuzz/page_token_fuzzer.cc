// Timeline page tokens come back from callers: any text must be refused
// cleanly, and a token that is accepted must say the same when re-encoded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "services/timeline/page_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view token(reinterpret_cast<const char*>(data), size);
  constexpr uint64_t kFingerprint = 0x0123456789abcdefULL;
  absl::StatusOr<omnihub::timeline::TimelineCursor> cursor =
      omnihub::timeline::DecodePageToken(token, kFingerprint);
  if (!cursor.ok()) return 0;
  absl::StatusOr<omnihub::timeline::TimelineCursor> again =
      omnihub::timeline::DecodePageToken(
          omnihub::timeline::EncodePageToken(*cursor, kFingerprint),
          kFingerprint);
  if (!again.ok() || again->occurred_at_micros != cursor->occurred_at_micros ||
      again->event_id != cursor->event_id) {
    std::abort();
  }
  return 0;
}

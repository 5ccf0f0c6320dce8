// The dead-letter files of an adapter: events the hub refused, one JSON line
// each ({"time", "field", "reason", "event"}), kept for a person to look at,
// fix and replay (omnihub-cli replay-dead-letters). They hold whole events,
// so personal data: capped, rotated, written 0600, and erasable
// (omnihub-cli erase-dead-letters).
//
// Everything that changes a family of dead-letter files (the publisher
// appending and rotating, the CLI replaying or erasing) holds an flock on
// <path>.lock, <path> being the current file's; so lines the publisher
// appends while the CLI works are never lost.
//
//   absl::StatusOr<int64_t> discarded =
//       AppendDeadLetters("spool/dead-letters.jsonl", lines, 256 << 20);
//   absl::StatusOr<size_t> removed = RemoveDeadLetterLines(
//       "spool/dead-letters.jsonl.1",
//       [&](absl::string_view line) { return accepted.contains(line); });
#ifndef OMNIHUB_COMMON_PUBLISHER_DEAD_LETTERS_H_
#define OMNIHUB_COMMON_PUBLISHER_DEAD_LETTERS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omnihub::publisher {

// Rotated dead-letter files kept beside the current one: <path>.1 (newest)
// to <path>.3.
inline constexpr int kRotatedDeadLetterFiles = 3;

// The lock file of the family `file` belongs to: a rotated file's ".N" is
// dropped, ".lock" added.
std::string DeadLetterLockPath(absl::string_view file);

// Appends whole `lines` to the current dead-letter file `path`, synced. When
// they would take it past a quarter of `max_total_bytes`, it is first
// rotated (<path> to <path>.1, .1 to .2, ...); the lines of the file that
// falls off the end are deleted, and their count returned.
absl::StatusOr<int64_t> AppendDeadLetters(const std::string& path,
                                          absl::string_view lines,
                                          uint64_t max_total_bytes);

// Rewrites `file` without the lines `remove` picks (atomically: a new file
// renamed over it; the file is deleted when no line is left). The number
// removed; 0 when the file does not exist.
absl::StatusOr<size_t> RemoveDeadLetterLines(
    const std::string& file,
    const std::function<bool(absl::string_view line)>& remove);

// The whole text of `file` read under the family's lock ("" when there is no
// such file), so no half-appended line is seen.
absl::StatusOr<std::string> ReadDeadLetters(const std::string& file);

}  // namespace omnihub::publisher

#endif  // OMNIHUB_COMMON_PUBLISHER_DEAD_LETTERS_H_

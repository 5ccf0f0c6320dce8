#include "common/logging/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace omnihub::log {
namespace {

std::atomic<int> min_level{static_cast<int>(Level::kInfo)};
absl::Mutex write_mutex;

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO ";
    case Level::kWarning:
      return "WARN ";
    case Level::kError:
      return "ERROR";
  }
  return "?    ";
}

}  // namespace

void SetMinLevel(Level level) { min_level.store(static_cast<int>(level)); }

bool ParseLevel(absl::string_view text, Level* level) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") {
    *level = Level::kDebug;
  } else if (lower == "info") {
    *level = Level::kInfo;
  } else if (lower == "warning" || lower == "warn") {
    *level = Level::kWarning;
  } else if (lower == "error") {
    *level = Level::kError;
  } else {
    return false;
  }
  return true;
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

void Write(Level level, absl::string_view message) {
  const std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " ", LevelName(level), " ", message, "\n");
  absl::MutexLock lock(&write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace omnihub::log

// Logs a person can read: one line per message on stderr, with a UTC time,
// the level and the text.
//
//   omnihub::log::Info("listening on %s", address);
//   // 2026-11-22T23:40:01.123Z INFO  listening on 127.0.0.1:50051
//
// Debian 12's Abseil predates absl/log, hence this small logger.
#ifndef OMNIHUB_COMMON_LOGGING_LOG_H_
#define OMNIHUB_COMMON_LOGGING_LOG_H_

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace omnihub::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below `level` are dropped. Default: kInfo.
void SetMinLevel(Level level);
// Parses "debug", "info", "warning" or "error"; false if none of those.
bool ParseLevel(absl::string_view text, Level* level);
bool Enabled(Level level);
void Write(Level level, absl::string_view message);

template <typename... Args>
void Debug(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (Enabled(Level::kDebug))
    Write(Level::kDebug, absl::StrFormat(format, args...));
}
template <typename... Args>
void Info(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (Enabled(Level::kInfo))
    Write(Level::kInfo, absl::StrFormat(format, args...));
}
template <typename... Args>
void Warning(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (Enabled(Level::kWarning)) {
    Write(Level::kWarning, absl::StrFormat(format, args...));
  }
}
template <typename... Args>
void Error(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (Enabled(Level::kError))
    Write(Level::kError, absl::StrFormat(format, args...));
}

}  // namespace omnihub::log

#endif  // OMNIHUB_COMMON_LOGGING_LOG_H_

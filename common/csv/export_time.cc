#include "common/csv/export_time.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace omnihub::csv {
namespace {

constexpr char kExample[] = "2026-11-20 10:00 or 2026-11-20T10:00:00+01:00";

// "2026-11-20 10:00:00" whatever the seconds' fraction was.
std::string CivilText(absl::CivilSecond civil) {
  std::string text = absl::FormatCivilTime(civil);
  text[10] = ' ';
  return text;
}

// Day-first or month-first dates ("20/11/2026"): which is which cannot be
// told for the first twelve days of a month.
bool HasSlashDate(absl::string_view text) {
  return text.size() >= 8 && absl::ascii_isdigit(text[0]) &&
         text.find('/') != absl::string_view::npos && text.find('/') < 3;
}

}  // namespace

absl::StatusOr<absl::Time> ResolveLocalTime(absl::CivilSecond civil,
                                            absl::TimeZone zone) {
  const absl::TimeZone::TimeInfo info = zone.At(civil);
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::UNIQUE:
      return info.pre;
    case absl::TimeZone::TimeInfo::SKIPPED:
      return absl::InvalidArgumentError(absl::StrCat(
          "is ", CivilText(civil), ", a time that never happened in ",
          zone.name(), " (the clocks went forward); give its UTC offset"));
    case absl::TimeZone::TimeInfo::REPEATED:
      return absl::InvalidArgumentError(absl::StrCat(
          "is ", CivilText(civil), ", which happened twice in ", zone.name(),
          " (the clocks went back); give its UTC offset, e.g. ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", info.pre, zone), " or ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", info.post, zone)));
  }
  return info.pre;
}

absl::StatusOr<absl::Time> ParseExportTime(
    absl::string_view text, const std::optional<absl::TimeZone>& zone,
    absl::string_view zone_flag) {
  text = absl::StripAsciiWhitespace(text);
  const std::string given(text);
  absl::Time time;
  // With an offset the zone does not matter.
  for (const char* format :
       {"%Y-%m-%d%ET%H:%M:%E*S%Ez", "%Y-%m-%d %H:%M:%E*S%Ez",
        "%Y-%m-%d%ET%H:%M%Ez", "%Y-%m-%d %H:%M%Ez"}) {
    if (absl::ParseTime(format, given, &time, nullptr)) return time;
  }
  for (const char* format : {"%Y-%m-%d %H:%M:%E*S", "%Y-%m-%d%ET%H:%M:%E*S",
                             "%Y-%m-%d %H:%M", "%Y-%m-%d%ET%H:%M"}) {
    // Read as if in UTC only to take the civil time apart.
    if (!absl::ParseTime(format, given, absl::UTCTimeZone(), &time, nullptr)) {
      continue;
    }
    if (!zone.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", given,
                       "\" has no UTC offset and no time zone is configured: "
                       "set ",
                       zone_flag,
                       " to the zone the times are in (e.g. "
                       "Europe/Madrid), or give the offset, like "
                       "2026-11-20T10:00:00+01:00"));
    }
    const absl::TimeZone::CivilInfo civil = absl::UTCTimeZone().At(time);
    absl::StatusOr<absl::Time> local = ResolveLocalTime(civil.cs, *zone);
    if (!local.ok()) return local;
    return *local + civil.subsecond;
  }
  if (HasSlashDate(given)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", given,
                     "\" is a day/month date, which cannot be told from "
                     "month/day; format the column as ",
                     kExample));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("must be a time like ", kExample));
}

}  // namespace omnihub::csv

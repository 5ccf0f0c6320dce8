// Times as exports and logs write them: RFC 3339 with a UTC offset, or a
// local time without one ("2026-11-20 10:00", what Excel and Asterisk
// write), read in a configured zone. A local time the zone makes ambiguous
// (the hour the clocks go back happens twice) or impossible (the hour they
// go forward never happens) is refused, never guessed.
//
//   absl::TimeZone madrid;
//   absl::LoadTimeZone("Europe/Madrid", &madrid);
//   absl::StatusOr<absl::Time> at =
//       ParseExportTime("2026-11-20 10:00", madrid, "--visit_time_zone");
#ifndef OMNIHUB_COMMON_CSV_EXPORT_TIME_H_
#define OMNIHUB_COMMON_CSV_EXPORT_TIME_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace omnihub::csv {

// The instant `civil` names in `zone`; INVALID_ARGUMENT (a message that can
// follow the field's name) when it happened twice or never there.
absl::StatusOr<absl::Time> ResolveLocalTime(absl::CivilSecond civil,
                                            absl::TimeZone zone);

// RFC 3339 ("2026-11-20T10:00:00+01:00", "T" or a space between date and
// time), or a local "2026-11-20 10:00[:00[.fff]]" read in `zone`. Without a
// zone a local time is refused with a message that names `zone_flag`, the
// setting that gives one. Messages follow the field's name ("must be ...").
absl::StatusOr<absl::Time> ParseExportTime(
    absl::string_view text, const std::optional<absl::TimeZone>& zone,
    absl::string_view zone_flag);

}  // namespace omnihub::csv

#endif  // OMNIHUB_COMMON_CSV_EXPORT_TIME_H_

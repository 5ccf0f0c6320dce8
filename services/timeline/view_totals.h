// The sums of a customer's single view that a merge adds together: the value
// per currency (view fields val:<currency>) and each purchase day's spend
// (p:<day>), exact 64-bit micros as the scripts keep them. A merge whose sums
// would leave 64 bits is refused before it starts: the script that copies
// the events would refuse them one by one, leaving the merge stuck half way.
//
//   ViewTotals survivor, merged;
//   survivor.AddField("val:EUR", "1250000");
//   if (std::optional<std::string> why = survivor.OverflowWith(merged)) ...
//   survivor.Absorb(merged);
#ifndef OMNIHUB_SERVICES_TIMELINE_VIEW_TOTALS_H_
#define OMNIHUB_SERVICES_TIMELINE_VIEW_TOTALS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace omnihub::timeline {

class ViewTotals {
 public:
  // Takes a field of the view hash if it is one of the sums (others are
  // ignored). False when its value is unreadable.
  bool AddField(absl::string_view field, absl::string_view value);

  // Which sum would leave 64 bits if `other` were added to these; nullopt
  // when none would.
  std::optional<std::string> OverflowWith(const ViewTotals& other) const;

  // Adds `other` in; sums that would overflow saturate (check first).
  void Absorb(const ViewTotals& other);

 private:
  // "val:<currency>" or "p:<day>:<currency>" -> micros.
  absl::flat_hash_map<std::string, int64_t> sums_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_VIEW_TOTALS_H_

// Test helper: a customer's view fields with only purchase days (and when it
// was first seen), as the read script would return them.
#ifndef OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_VIEW_FIELDS_FOR_TEST_H_
#define OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_VIEW_FIELDS_FOR_TEST_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "services/insights/analysis/customer_record.h"

namespace omnihub::insights {

inline CustomerFields WithDays(
    std::vector<std::pair<std::string, std::string>> days,
    int64_t first_seen_day = 0) {
  CustomerFields fields;
  fields.first_seen_micros = first_seen_day * 86400 * int64_t{1000000};
  fields.purchase_days = std::move(days);
  return fields;
}

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_ANALYSIS_VIEW_FIELDS_FOR_TEST_H_

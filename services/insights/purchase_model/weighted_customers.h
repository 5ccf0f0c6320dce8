// Checking the customers a fit is given: every summary valid and every
// weight finite and not negative. Shared by the BG/NBD and Gamma-Gamma fits.
//
//   if (absl::Status s = ValidateWeightedCustomers(
//           customers, [](const WeightedSpend& c) {
//             return ValidateSpendSummary(c.summary);
//           });
//       !s.ok()) return s;
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_WEIGHTED_CUSTOMERS_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_WEIGHTED_CUSTOMERS_H_

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"

namespace omnihub::insights {

// INVALID_ARGUMENT naming the first customer whose summary `validate`
// refuses or whose weight is not finite and >= 0; also for none at all.
template <typename Weighted, typename Validate>
absl::Status ValidateWeightedCustomers(absl::Span<const Weighted> customers,
                                       Validate validate) {
  if (customers.empty()) return absl::InvalidArgumentError("no customers");
  for (size_t i = 0; i < customers.size(); ++i) {
    if (absl::Status s = validate(customers[i]); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer ", i, ": ", s.message()));
    }
    const double w = customers[i].weight;
    if (!(std::isfinite(w) && w >= 0)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "customer %d: the weight must be finite and >= 0, not %g", i, w));
    }
  }
  return absl::OkStatus();
}

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_WEIGHTED_CUSTOMERS_H_

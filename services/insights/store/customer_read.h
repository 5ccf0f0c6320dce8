// Reading one customer as the insights see it (the read_lifecycle script),
// for a refresh, a scan or an insights answer.
//
//   scripts.read_lifecycle.Run(redis, {view_key}, {}, [](auto reply) {
//     absl::StatusOr<CustomerRead> read = ParseCustomerRead(std::move(reply));
//   });
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_READ_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_READ_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_script.h"
#include "services/insights/analysis/customer_record.h"

namespace omnihub::insights {

struct InsightsScripts {
  InsightsScripts();
  redis::RedisScript read_lifecycle;
  redis::RedisScript write_lifecycle;
};

struct CustomerRead {
  // Set when the customer was merged into another ("-": is being erased).
  std::optional<std::string> moved_to;
  bool missing = false;
  std::optional<CustomerRecord> record;  // when neither
};

absl::StatusOr<CustomerRead> ParseCustomerRead(
    absl::StatusOr<redis::Reply> reply);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_READ_H_

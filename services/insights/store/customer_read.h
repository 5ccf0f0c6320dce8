// Reading one customer as the insights see it: one HGETALL of its view hash
// (one command, so one consistent snapshot), of which the insights keep when
// the customer was first seen (or, with no event yet, created) and on which
// channel, its purchase days and their version (pv, counted by the ingest
// script), and its recorded lifecycle history (lh). Plain HGETALL rather
// than a script that filters: it costs Redis a few microseconds instead of
// a Lua call, for the refresh after every purchase and for every customer a
// scan reads.
//
//   redis.Execute(ReadCustomerCommand(view_key), [](auto reply) {
//     absl::StatusOr<CustomerRead> read = ParseCustomerRead(std::move(reply));
//   });
#ifndef OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_READ_H_
#define OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_READ_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_script.h"
#include "services/insights/analysis/customer_record.h"

namespace omnihub::insights {

struct InsightsScripts {
  InsightsScripts();
  redis::RedisScript write_lifecycle;
  redis::RedisScript read_ranking;
  redis::RedisScript ranking_page;
};

std::vector<std::string> ReadCustomerCommand(const std::string& view_key);

// A string reply's text; "" for nil (an absent field).
std::string TextOf(const redis::Reply& reply);

struct CustomerRead {
  // Set when the customer was merged into another ("-": is being erased).
  std::optional<std::string> moved_to;
  bool missing = false;
  std::optional<CustomerRecord> record;  // when neither
};

absl::StatusOr<CustomerRead> ParseCustomerRead(
    absl::StatusOr<redis::Reply> reply);
// The same of a reply kept by the caller (the view the segments evaluate):
// only what the record holds is copied.
absl::StatusOr<CustomerRead> ParseCustomerRead(const redis::Reply& reply);

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_STORE_CUSTOMER_READ_H_

#include "services/insights/store/customer_read.h"

#include "absl/strings/numbers.h"
#include "common/redis/blocking_calls.h"
#include "insights_scripts.h"

namespace omnihub::insights {
namespace {

using redis::Reply;

std::string StringOrEmpty(const Reply& reply) {
  return reply.type == Reply::Type::kString ? reply.str : "";
}

int64_t IntegerOrZero(const Reply& reply) {
  int64_t value = 0;
  if (reply.type != Reply::Type::kString ||
      !absl::SimpleAtoi(reply.str, &value)) {
    return 0;
  }
  return value;
}

}  // namespace

InsightsScripts::InsightsScripts()
    : read_lifecycle(std::string(kReadLifecycleLua)),
      write_lifecycle(std::string(kWriteLifecycleLua)) {}

absl::StatusOr<CustomerRead> ParseCustomerRead(
    absl::StatusOr<redis::Reply> reply) {
  reply = redis::ErrorReplyAsStatus(std::move(reply), "a customer's purchases");
  if (!reply.ok()) return reply.status();
  const std::vector<Reply>& parts = reply->elements;
  CustomerRead read;
  if (reply->type != Reply::Type::kArray || parts.empty()) {
    return absl::InternalError("a customer's purchases: unexpected reply");
  }
  if (parts[0].str == "moved" && parts.size() == 2) {
    read.moved_to = parts[1].str;
    return read;
  }
  if (parts[0].str == "missing") {
    read.missing = true;
    return read;
  }
  if (parts[0].str != "ok" || parts.size() < 6 || parts.size() % 2 != 0) {
    return absl::InternalError("a customer's purchases: unexpected reply");
  }
  CustomerFields fields;
  fields.first_seen_micros = parts[1].type == Reply::Type::kString
                                 ? IntegerOrZero(parts[1])
                                 : IntegerOrZero(parts[5]);
  fields.channel = static_cast<int>(IntegerOrZero(parts[2]));
  fields.purchase_version = StringOrEmpty(parts[3]);
  fields.history = StringOrEmpty(parts[4]);
  for (size_t i = 6; i + 1 < parts.size(); i += 2) {
    fields.purchase_days.emplace_back(parts[i].str, parts[i + 1].str);
  }
  absl::StatusOr<CustomerRecord> record =
      CustomerRecord::FromFields(std::move(fields));
  if (!record.ok()) return record.status();
  read.record = *std::move(record);
  return read;
}

}  // namespace omnihub::insights

#include "services/insights/store/customer_read.h"

#include "common/redis/blocking_calls.h"
#include "insights_scripts.h"
#include "services/timeline/store_context.h"

namespace omnihub::insights {

using redis::Reply;

std::string TextOf(const Reply& reply) {
  return reply.type == Reply::Type::kString ? reply.str : "";
}

InsightsScripts::InsightsScripts()
    : write_lifecycle(std::string(kWriteLifecycleLua)),
      read_ranking(std::string(kReadRankingLua)),
      ranking_page(std::string(kRankingPageLua)) {}

std::vector<std::string> ReadCustomerCommand(const std::string& view_key) {
  return {"HGETALL", view_key};
}

absl::StatusOr<CustomerRead> ParseCustomerRead(
    absl::StatusOr<redis::Reply> reply) {
  reply = redis::ErrorReplyAsStatus(std::move(reply), "a customer's purchases");
  if (!reply.ok()) return reply.status();
  return ParseCustomerRead(*reply);
}

absl::StatusOr<CustomerRead> ParseCustomerRead(const redis::Reply& reply) {
  if (reply.type != Reply::Type::kArray || reply.elements.size() % 2 != 0) {
    return absl::InternalError("a customer's purchases: unexpected reply");
  }
  const std::vector<Reply>& hash = reply.elements;
  CustomerRead read;
  if (hash.empty()) {
    read.missing = true;
    return read;
  }
  CustomerFields fields;
  int64_t first = 0;
  int64_t created = 0;
  for (size_t i = 0; i + 1 < hash.size(); i += 2) {
    const std::string& field = hash[i].str;
    const std::string& value = hash[i + 1].str;
    if (field.size() > 2 && field[0] == 'p' && field[1] == ':') {
      fields.purchase_days.emplace_back(field.substr(2), value);
    } else if (field == "alias") {
      read.moved_to = value;
      return read;
    } else if (field == "first") {
      first = timeline::IntegerOrZero(value);
    } else if (field == "created") {
      created = timeline::IntegerOrZero(value);
    } else if (field == "fch") {
      fields.channel = static_cast<int>(timeline::IntegerOrZero(value));
    } else if (field == "pv") {
      fields.purchase_version = value;
    } else if (field == "lh") {
      fields.history = value;
    }
  }
  fields.first_seen_micros = first != 0 ? first : created;
  absl::StatusOr<CustomerRecord> record =
      CustomerRecord::FromFields(std::move(fields));
  if (!record.ok()) return record.status();
  read.record = *std::move(record);
  return read;
}

}  // namespace omnihub::insights

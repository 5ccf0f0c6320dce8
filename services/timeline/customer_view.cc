#include "services/timeline/customer_view.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "services/timeline/key_schema.h"
#include "services/timeline/store_context.h"
#include "services/timeline/stored_event.h"

namespace omnihub::timeline {

absl::StatusOr<v1::CustomerView> CustomerViewFromReply(
    const std::string& customer_id, const redis::Reply& reply) {
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 5) {
    return absl::InternalError("customer read: unexpected reply from Redis");
  }
  const redis::Reply& hash = reply.elements[1];
  v1::CustomerView view;
  view.set_customer_id(customer_id);
  std::map<int, v1::ChannelSummary> channels;
  int64_t satisfaction_sum = 0;
  std::string recent_id;
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& field = hash.elements[i].str;
    const std::string& value = hash.elements[i + 1].str;
    if (field == "first") {
      *view.mutable_first_seen() = FromMicros(IntegerOrZero(value));
    } else if (field == "last") {
      *view.mutable_last_seen() = FromMicros(IntegerOrZero(value));
    } else if (field == "total") {
      view.set_total_interactions(IntegerOrZero(value));
    } else if (field == "sat_sum") {
      satisfaction_sum = IntegerOrZero(value);
    } else if (field == "sat_n") {
      view.set_satisfaction_count(IntegerOrZero(value));
    } else if (field == "recent_id") {
      recent_id = value;
    } else if (absl::StartsWith(field, "n:")) {
      const int channel = static_cast<int>(IntegerOrZero(field.substr(2)));
      channels[channel].set_channel(static_cast<v1::Channel>(channel));
      channels[channel].set_interaction_count(IntegerOrZero(value));
    } else if (absl::StartsWith(field, "t:")) {
      const int channel = static_cast<int>(IntegerOrZero(field.substr(2)));
      *channels[channel].mutable_last_interaction_at() =
          FromMicros(IntegerOrZero(value));
    } else if (absl::StartsWith(field, "val:")) {
      const int64_t amount = IntegerOrZero(value);
      if (amount == 0) continue;  // a value taken out again by an update
      v1::Money* money = view.add_total_value();
      money->set_currency(field.substr(4));
      money->set_amount_micros(amount);
    }
  }
  for (auto& [channel, summary] : channels) {
    if (summary.interaction_count() > 0) {
      *view.add_channels() = std::move(summary);
    }
  }
  std::sort(view.mutable_total_value()->begin(),
            view.mutable_total_value()->end(),
            [](const v1::Money& a, const v1::Money& b) {
              return a.currency() < b.currency();
            });
  if (view.satisfaction_count() > 0) {
    view.set_average_satisfaction(static_cast<double>(satisfaction_sum) /
                                  1000.0 / view.satisfaction_count());
  }
  for (const redis::Reply& member : reply.elements[2].elements) {
    v1::Identity identity;
    if (ParseIdentityMember(member.str, &identity)) {
      *view.add_identities() = std::move(identity);
    }
  }
  std::sort(view.mutable_identities()->begin(),
            view.mutable_identities()->end(),
            [](const v1::Identity& a, const v1::Identity& b) {
              return std::make_pair(a.kind(), a.value()) <
                     std::make_pair(b.kind(), b.value());
            });
  for (const redis::Reply& alias : reply.elements[3].elements) {
    view.add_merged_customer_ids(alias.str);
  }
  std::sort(view.mutable_merged_customer_ids()->begin(),
            view.mutable_merged_customer_ids()->end());
  const redis::Reply& recent = reply.elements[4];
  if (recent.type == redis::Reply::Type::kString) {
    absl::StatusOr<v1::InteractionEvent> event =
        DecodeStoredEvent(recent_id, recent.str);
    if (!event.ok()) return event.status();
    event->set_customer_id(customer_id);
    *view.mutable_most_recent_interaction() = *std::move(event);
  }
  return view;
}

}  // namespace omnihub::timeline

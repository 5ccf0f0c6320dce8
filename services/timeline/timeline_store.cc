#include "services/timeline/timeline_store.h"

#include <algorithm>
#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/timeline/ingest_operation.h"
#include "services/timeline/stored_event.h"
#include "services/timeline/timeline_scripts.h"

namespace omnihub::timeline {
namespace {

absl::Status UnexpectedReply(const redis::Reply& reply,
                             absl::string_view what) {
  if (reply.is_error()) {
    return absl::InternalError(
        absl::StrCat(what, " failed in Redis: ", reply.str));
  }
  return absl::InternalError(
      absl::StrCat(what, ": unexpected reply from Redis"));
}

// ",1,3," for the script's substring test; "" means no filter.
std::string FilterList(const std::vector<int>& values) {
  if (values.empty()) return "";
  return absl::StrCat(",", absl::StrJoin(values, ","), ",");
}

int64_t ToInt(const std::string& text) {
  int64_t value = 0;
  return absl::SimpleAtoi(text, &value) ? value : 0;
}

v1::CustomerView ViewFromHash(const std::string& customer_id,
                              const redis::Reply& hash,
                              const redis::Reply& members) {
  v1::CustomerView view;
  view.set_customer_id(customer_id);
  std::map<int, v1::ChannelSummary> channels;
  int64_t satisfaction_sum = 0;
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& field = hash.elements[i].str;
    const std::string& value = hash.elements[i + 1].str;
    if (field == "first") {
      *view.mutable_first_seen() = FromMicros(ToInt(value));
    } else if (field == "last") {
      *view.mutable_last_seen() = FromMicros(ToInt(value));
    } else if (field == "total") {
      view.set_total_interactions(ToInt(value));
    } else if (field == "sat_sum") {
      satisfaction_sum = ToInt(value);
    } else if (field == "sat_n") {
      view.set_satisfaction_count(ToInt(value));
    } else if (field == "recent") {
      absl::StatusOr<v1::InteractionEvent> recent = DecodeStoredEvent(value);
      if (recent.ok()) {
        recent->set_customer_id(customer_id);
        *view.mutable_most_recent_interaction() = *std::move(recent);
      }
    } else if (absl::StartsWith(field, "n:")) {
      const int channel = static_cast<int>(ToInt(field.substr(2)));
      channels[channel].set_channel(static_cast<v1::Channel>(channel));
      channels[channel].set_interaction_count(ToInt(value));
    } else if (absl::StartsWith(field, "t:")) {
      const int channel = static_cast<int>(ToInt(field.substr(2)));
      *channels[channel].mutable_last_interaction_at() =
          FromMicros(ToInt(value));
    } else if (absl::StartsWith(field, "val:")) {
      v1::Money* money = view.add_total_value();
      money->set_currency(field.substr(4));
      money->set_amount_micros(ToInt(value));
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
  for (const redis::Reply& member : members.elements) {
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
  return view;
}

}  // namespace

TimelineStore::TimelineStore(redis::RedisClient* redis,
                             TimelineStoreOptions options)
    : context_{
          .redis = redis,
          .keys = KeySchema(options.key_prefix),
          .options = std::move(options),
          .ingest_script = redis::RedisScript(std::string(kIngestEventLua)),
          .resolve_script =
              redis::RedisScript(std::string(kResolveIdentityLua)),
          .read_timeline_script =
              redis::RedisScript(std::string(kReadTimelineLua)),
          .read_customer_script =
              redis::RedisScript(std::string(kReadCustomerLua)),
      } {}

void TimelineStore::Ingest(v1::InteractionEvent event,
                           Done<IngestOutcome> done) {
  std::make_shared<IngestOperation>(&context_, std::move(event),
                                    std::move(done))
      ->Start();
}

void TimelineStore::FindCustomer(const v1::CustomerSelector& selector,
                                 Done<std::string> done) {
  if (selector.has_identity()) {
    context_.redis->Execute(
        {"GET", context_.keys.ForIdentity(selector.identity())},
        [done = std::move(done)](absl::StatusOr<redis::Reply> reply) mutable {
          if (!reply.ok()) return std::move(done)(reply.status());
          if (reply->is_nil()) {
            return std::move(done)(
                absl::NotFoundError("no customer has this identity"));
          }
          if (reply->type != redis::Reply::Type::kString) {
            return std::move(done)(UnexpectedReply(*reply, "identity lookup"));
          }
          std::move(done)(std::move(reply->str));
        });
    return;
  }
  std::string customer_id = selector.customer_id();
  context_.redis->Execute(
      {"EXISTS", context_.keys.ForCustomer(customer_id).view},
      [done = std::move(done), customer_id = std::move(customer_id)](
          absl::StatusOr<redis::Reply> reply) mutable {
        if (!reply.ok()) return std::move(done)(reply.status());
        if (reply->type != redis::Reply::Type::kInteger) {
          return std::move(done)(UnexpectedReply(*reply, "customer lookup"));
        }
        if (reply->integer == 0) {
          return std::move(done)(absl::NotFoundError(
              absl::StrCat("customer ", customer_id, " does not exist")));
        }
        std::move(done)(std::move(customer_id));
      });
}

void TimelineStore::ReadTimeline(std::string customer_id, TimelineQuery query,
                                 Done<TimelinePage> done) {
  const CustomerKeys keys = context_.keys.ForCustomer(customer_id);
  std::string upper = "+inf";
  std::string cursor_at;
  std::string cursor_id;
  if (query.cursor.has_value()) {
    // Inclusive: later events on the cursor's own time still follow it.
    upper = absl::StrCat(query.cursor->occurred_at_micros);
    cursor_at = upper;
    cursor_id = query.cursor->event_id;
  } else if (query.end_micros.has_value()) {
    upper = absl::StrCat("(", *query.end_micros);
  }
  const std::string lower = query.start_micros.has_value()
                                ? absl::StrCat(*query.start_micros)
                                : std::string("-inf");
  context_.read_timeline_script.Run(
      *context_.redis, {keys.events, keys.timeline},
      {upper, cursor_at, cursor_id, lower, absl::StrCat(query.page_size),
       FilterList(query.channels), FilterList(query.kinds),
       absl::StrCat(context_.options.max_scan_per_page)},
      [done = std::move(done), customer_id = std::move(customer_id)](
          absl::StatusOr<redis::Reply> reply) mutable {
        if (!reply.ok()) return std::move(done)(reply.status());
        if (reply->type != redis::Reply::Type::kArray ||
            reply->elements.size() < 3) {
          return std::move(done)(UnexpectedReply(*reply, "timeline read"));
        }
        TimelinePage page;
        const std::vector<redis::Reply>& parts = reply->elements;
        if (parts[0].integer == 1) {
          page.next = TimelineCursor{.occurred_at_micros = ToInt(parts[1].str),
                                     .event_id = parts[2].str};
        }
        for (size_t i = 3; i < parts.size(); ++i) {
          absl::StatusOr<v1::InteractionEvent> event =
              DecodeStoredEvent(parts[i].str);
          if (!event.ok()) return std::move(done)(event.status());
          event->set_customer_id(customer_id);
          page.events.push_back(*std::move(event));
        }
        std::move(done)(std::move(page));
      });
}

void TimelineStore::ReadCustomer(std::string customer_id,
                                 Done<v1::CustomerView> done) {
  const CustomerKeys keys = context_.keys.ForCustomer(customer_id);
  context_.read_customer_script.Run(
      *context_.redis, {keys.view, keys.identities}, {},
      [done = std::move(done), customer_id = std::move(customer_id)](
          absl::StatusOr<redis::Reply> reply) mutable {
        if (!reply.ok()) return std::move(done)(reply.status());
        if (reply->type != redis::Reply::Type::kArray ||
            reply->elements.size() != 2) {
          return std::move(done)(UnexpectedReply(*reply, "customer read"));
        }
        if (reply->elements[0].elements.empty()) {
          return std::move(done)(absl::NotFoundError(
              absl::StrCat("customer ", customer_id, " does not exist")));
        }
        std::move(done)(
            ViewFromHash(customer_id, reply->elements[0], reply->elements[1]));
      });
}

}  // namespace omnihub::timeline

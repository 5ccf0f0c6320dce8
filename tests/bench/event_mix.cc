#include "tests/bench/event_mix.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"

namespace omnihub::bench {

EventMix::EventMix(EventMixOptions options) : options_(std::move(options)) {}

v1::Identity EventMix::CrmIdentity(int64_t index) {
  v1::Identity identity;
  identity.set_kind(v1::IDENTITY_KIND_CRM_ID);
  identity.set_value(absl::StrCat("bench-", index));
  return identity;
}

int64_t EventMix::NextCustomer() {
  absl::MutexLock lock(&mutex_);
  if (options_.zipf <= 0) {
    return absl::Uniform<int64_t>(random_, 0, options_.customers);
  }
  return absl::Zipf<int64_t>(random_, options_.customers - 1, options_.zipf);
}

v1::InteractionEvent EventMix::NextEvent() {
  const int64_t customer = NextCustomer();
  int64_t sequence;
  int channel_roll;
  int64_t age_seconds;
  bool purchase;
  int64_t spend_cents;
  std::vector<int64_t> products;
  {
    absl::MutexLock lock(&mutex_);
    sequence = sequence_++;
    channel_roll = absl::Uniform(random_, 0, 100);
    age_seconds = absl::Uniform<int64_t>(random_, 0, 30 * 86400);
    purchase = absl::Uniform(random_, 0, 100) < options_.purchase_percent;
    spend_cents = absl::Uniform<int64_t>(random_, 500, 20000);
    if (purchase && options_.line_items > 0) {
      const int lines = absl::Uniform(random_, 1, options_.line_items + 1);
      for (int i = 0; i < lines; ++i) {
        products.push_back(
            absl::Zipf<int64_t>(random_, options_.catalogue - 1, 1.1));
      }
    }
  }
  v1::InteractionEvent event;
  event.set_event_id(absl::StrCat("bench:", options_.run_id, ":", sequence));
  *event.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(absl::Now() - absl::Seconds(age_seconds)));
  *event.add_identities() = CrmIdentity(customer);
  event.set_source("bench");
  (*event.mutable_attributes())["campaign"] = "winter";
  if (channel_roll < options_.phone_percent) {
    event.set_channel(v1::CHANNEL_PHONE);
    event.set_kind(v1::INTERACTION_KIND_INBOUND_CALL);
    v1::Identity* phone = event.add_identities();
    phone->set_kind(v1::IDENTITY_KIND_PHONE);
    phone->set_value(absl::StrFormat("+44207%07d", customer % 10000000));
    v1::CallDetail* call = event.mutable_call();
    call->set_call_id(absl::StrCat("call-", sequence));
    call->set_direction(v1::CallDetail::DIRECTION_INBOUND);
    call->set_duration_seconds(180);
    call->set_disposition(v1::CallDetail::DISPOSITION_ANSWERED);
    call->set_agent("agent-7");
    call->set_queue("billing");
    event.set_satisfaction(8);
  } else if (channel_roll < options_.phone_percent + options_.web_percent) {
    event.set_channel(v1::CHANNEL_WEB);
    event.set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
    v1::Identity* anonymous = event.add_identities();
    anonymous->set_kind(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID);
    anonymous->set_value(absl::StrCat("anon-", customer));
    v1::WebVisitDetail* web = event.mutable_web();
    web->set_url("https://shop.example/boots/winter?utm_source=news");
    web->set_path("/boots/winter");
    web->set_title("Winter boots");
    web->set_user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
    web->set_ip("198.51.100.0");
  } else {
    event.set_channel(v1::CHANNEL_IN_PERSON);
    event.set_kind(v1::INTERACTION_KIND_STORE_VISIT);
    v1::Identity* card = event.add_identities();
    card->set_kind(v1::IDENTITY_KIND_LOYALTY_CARD);
    card->set_value(absl::StrCat("L-", customer));
    v1::InPersonVisitDetail* visit = event.mutable_in_person();
    visit->set_visit_id(absl::StrCat("v-", sequence));
    visit->set_location_id("london-01");
    visit->set_staff_id("emma");
    visit->set_purpose("purchase");
    event.mutable_value()->set_amount_micros(49'900'000);
    event.mutable_value()->set_currency("GBP");
  }
  if (purchase) {
    event.set_kind(v1::INTERACTION_KIND_PURCHASE);
    event.mutable_value()->set_amount_micros(spend_cents * 10'000);
    event.mutable_value()->set_currency("GBP");
    for (int64_t product : products) {
      v1::LineItem* item = event.add_line_items();
      item->set_sku(absl::StrCat("sku-", product));
      item->set_name(absl::StrCat("Product ", product));
      item->set_category(absl::StrCat("category-", product % 100));
      item->set_quantity(1);
      item->mutable_unit_price()->set_amount_micros(spend_cents * 10'000);
      item->mutable_unit_price()->set_currency("GBP");
    }
  }
  return event;
}

}  // namespace omnihub::bench

#include "tests/bench/synthetic_purchases.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "tests/bench/event_mix.h"

namespace omnihub::bench {
namespace {

// The BG/NBD parameters published for CDNOW, per week.
constexpr insights::BgNbdParams kCdnow = {
    .r = 0.2425945, .alpha = 4.4136019, .a = 0.7929199, .b = 2.4258881};
constexpr int64_t kSecondsPerDay = 86400;

}  // namespace

SyntheticPurchases::SyntheticPurchases(int customers, int cohort_days,
                                       absl::Time now)
    : customers_(insights::SimulateBgNbdPurchases(kCdnow, customers,
                                                  cohort_days, /*seed=*/1)),
      last_day_(absl::ToUnixSeconds(now) / kSecondsPerDay - 1) {
  for (const insights::SimulatedCustomer& customer : customers_) {
    events_ += 1 + static_cast<int64_t>(customer.repeat_weeks.size());
  }
}

bool SyntheticPurchases::Next(v1::InteractionEvent* event) {
  size_t index;
  size_t purchase;
  {
    absl::MutexLock lock(&mutex_);
    if (customer_ >= customers_.size()) return false;
    index = customer_;
    purchase = purchase_;
    if (++purchase_ > customers_[index].repeat_weeks.size()) {
      ++customer_;
      purchase_ = 0;
    }
  }
  const insights::SimulatedCustomer& customer = customers_[index];
  const int64_t first_day = last_day_ - customer.age_days;
  const int64_t day =
      purchase == 0 ? first_day
                    : first_day + static_cast<int64_t>(std::floor(
                                      customer.repeat_weeks[purchase - 1] * 7));
  event->set_event_id(absl::StrCat("synthetic:", index, ":", purchase));
  *event->mutable_occurred_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          day * kSecondsPerDay + kSecondsPerDay / 2);
  *event->add_identities() = EventMix::CrmIdentity(static_cast<int64_t>(index));
  event->set_source("bench-synthetic");
  event->set_kind(v1::INTERACTION_KIND_PURCHASE);
  // Customers are acquired on all three channels.
  switch (index % 3) {
    case 0:
      event->set_channel(v1::CHANNEL_PHONE);
      event->mutable_call()->set_call_id(event->event_id());
      break;
    case 1:
      event->set_channel(v1::CHANNEL_WEB);
      event->mutable_web()->set_url("https://shop.example/checkout");
      break;
    default:
      event->set_channel(v1::CHANNEL_IN_PERSON);
      event->mutable_in_person()->set_location_id("london-01");
      break;
  }
  // Each customer spends around a level of its own.
  const int64_t cents = 1000 + static_cast<int64_t>(index * 37 % 9000) +
                        static_cast<int64_t>(purchase * 13 % 500);
  event->mutable_value()->set_amount_micros(cents * 10'000);
  event->mutable_value()->set_currency("GBP");
  return true;
}

}  // namespace omnihub::bench

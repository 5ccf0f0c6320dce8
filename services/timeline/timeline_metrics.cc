#include "services/timeline/timeline_metrics.h"

namespace omnihub::timeline {
namespace {

constexpr const char* kChannelNames[] = {"unknown", "phone", "web",
                                         "in_person"};
constexpr const char* kResultNames[] = {"accepted", "updated",   "duplicate",
                                        "rejected", "forgotten", "suppressed"};

}  // namespace

TimelineMetrics::TimelineMetrics(prometheus::Registry& registry) {
  auto& events =
      prometheus::BuildCounter()
          .Name("omnihub_events_total")
          .Help("Interaction events ingested, by channel and result.")
          .Register(registry);
  for (int c = 0; c < kChannels; ++c) {
    for (int r = 0; r < kResults; ++r) {
      events_[c][r] = &events.Add(
          {{"channel", kChannelNames[c]}, {"result", kResultNames[r]}});
    }
  }
  identity_conflicts_ =
      &prometheus::BuildCounter()
           .Name("omnihub_identity_conflicts_total")
           .Help(
               "Identities of an ingested event that belonged to another "
               "customer and were left there (attach-only identities, or a "
               "merge the identity rules refused).")
           .Register(registry)
           .Add({});
  customers_created_ = &prometheus::BuildCounter()
                            .Name("omnihub_customers_created_total")
                            .Help(
                                "Customers created for events whose "
                                "identities were all unknown.")
                            .Register(registry)
                            .Add({});
  events_trimmed_ = &prometheus::BuildCounter()
                         .Name("omnihub_events_trimmed_total")
                         .Help("Stored events trimmed by the retention policy.")
                         .Register(registry)
                         .Add({});
}

void TimelineMetrics::CountEvent(v1::Channel channel, EventResult result) {
  int c = static_cast<int>(channel);
  if (c < 0 || c >= kChannels) c = 0;
  events_[c][static_cast<int>(result)]->Increment();
}

}  // namespace omnihub::timeline

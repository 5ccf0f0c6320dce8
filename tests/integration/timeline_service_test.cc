// The timeline service end to end over real gRPC, against a real redis-server.
#include <atomic>
#include <set>
#include <thread>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/timeline/stored_event.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

using v1::IngestResult;

constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14, in us
constexpr int64_t kMinute = 60'000'000;

TEST_F(TimelineFixture, IngestThenReadBack) {
  v1::InteractionEvent event =
      Event("call-1", v1::IDENTITY_KIND_PHONE, "020 7183 8750", kBase);
  event.mutable_call()->set_agent("agent-7");
  event.mutable_value()->set_currency("GBP");
  event.mutable_value()->set_amount_micros(25'500'000);
  event.set_satisfaction(8);
  (*event.mutable_attributes())["campaign"] = "winter";
  v1::IngestResponse response = IngestOk({event});
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).status(), IngestResult::STATUS_ACCEPTED);
  const std::string customer_id = response.results(0).customer_id();
  EXPECT_FALSE(customer_id.empty());

  // Read back by the identity in another format: it was normalised to E.164.
  v1::GetTimelineRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_PHONE, "+44 20 7183 8750");
  std::vector<v1::InteractionEvent> timeline = WholeTimeline(request, 50);
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].event_id(), "call-1");
  EXPECT_EQ(timeline[0].customer_id(), customer_id);
  EXPECT_EQ(timeline[0].call().agent(), "agent-7");
  EXPECT_EQ(timeline[0].identities(0).value(), "+442071838750");
  EXPECT_EQ(timeline[0].attributes().at("campaign"), "winter");
  EXPECT_TRUE(timeline[0].has_received_at());

  v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838750");
  EXPECT_EQ(view.customer_id(), customer_id);
  EXPECT_EQ(view.total_interactions(), 1);
  ASSERT_EQ(view.channels_size(), 1);
  EXPECT_EQ(view.channels(0).channel(), v1::CHANNEL_PHONE);
  EXPECT_EQ(view.channels(0).interaction_count(), 1);
  ASSERT_EQ(view.total_value_size(), 1);
  EXPECT_EQ(view.total_value(0).currency(), "GBP");
  EXPECT_EQ(view.total_value(0).amount_micros(), 25'500'000);
  EXPECT_DOUBLE_EQ(view.average_satisfaction(), 8.0);
  EXPECT_EQ(view.most_recent_interaction().event_id(), "call-1");
  EXPECT_EQ(timeline::ToMicros(view.first_seen()), kBase);
  ASSERT_EQ(view.identities_size(), 1);
  EXPECT_EQ(view.identities(0).value(), "+442071838750");
}

TEST_F(TimelineFixture, OneCustomerAcrossChannelsAndAllIdentitiesAttached) {
  v1::InteractionEvent web = Event("web-1", v1::IDENTITY_KIND_WEB_ANONYMOUS_ID,
                                   "anon-1", kBase, v1::CHANNEL_WEB);
  *web.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL, "Ann@Example.com");
  const std::string customer = IngestOk({web}).results(0).customer_id();
  v1::InteractionEvent visit =
      Event("visit-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
            kBase + kMinute, v1::CHANNEL_IN_PERSON);
  *visit.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "L-99");
  EXPECT_EQ(IngestOk({visit}).results(0).customer_id(), customer);

  v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_LOYALTY_CARD, "L-99");
  EXPECT_EQ(view.customer_id(), customer);
  EXPECT_EQ(view.total_interactions(), 2);
  EXPECT_EQ(view.channels_size(), 2);
  EXPECT_EQ(view.identities_size(), 3);
  EXPECT_EQ(view.most_recent_interaction().event_id(), "visit-1");
  EXPECT_EQ(timeline::ToMicros(view.last_seen()), kBase + kMinute);
}

TEST_F(TimelineFixture, DuplicateIsStoredOnce) {
  v1::InteractionEvent event =
      Event("dup-1", v1::IDENTITY_KIND_CRM_ID, "crm-1", kBase);
  EXPECT_EQ(IngestOk({event}).results(0).status(),
            IngestResult::STATUS_ACCEPTED);
  const std::vector<std::string> keys_before = AllKeys();
  v1::IngestResponse again = IngestOk({event});
  EXPECT_EQ(again.results(0).status(), IngestResult::STATUS_DUPLICATE);
  EXPECT_EQ(AllKeys(), keys_before);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_CRM_ID, "crm-1")
                .total_interactions(),
            1);
}

TEST_F(TimelineFixture, ConcurrentDuplicatesFromManyClientsStoreOnce) {
  const v1::InteractionEvent event =
      Event("race-1", v1::IDENTITY_KIND_LOGIN_ID, "user-1", kBase);
  std::atomic<int> accepted{0};
  std::atomic<int> duplicate{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      v1::IngestResponse response = IngestOk({event});
      if (response.results(0).status() == IngestResult::STATUS_ACCEPTED) {
        ++accepted;
      } else if (response.results(0).status() ==
                 IngestResult::STATUS_DUPLICATE) {
        ++duplicate;
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(duplicate.load(), 7);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_LOGIN_ID, "user-1")
                .total_interactions(),
            1);
}

TEST_F(TimelineFixture, ConcurrentFirstEventsOfOneIdentityMakeOneCustomer) {
  std::vector<std::string> customers(8);
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      customers[i] =
          IngestOk({Event(absl::StrCat("first-", i), v1::IDENTITY_KIND_EMAIL,
                          "new@example.com", kBase + i)})
              .results(0)
              .customer_id();
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(std::set<std::string>(customers.begin(), customers.end()).size(),
            1u);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "new@example.com")
                .total_interactions(),
            8);
}

TEST_F(TimelineFixture, HigherRevisionReplacesAndAdjustsTheView) {
  v1::InteractionEvent first =
      Event("call-r", v1::IDENTITY_KIND_PHONE, "+442071838750", kBase);
  first.set_revision(1);
  first.mutable_call()->set_disposition(v1::CallDetail::DISPOSITION_ANSWERED);
  first.mutable_value()->set_currency("EUR");
  first.mutable_value()->set_amount_micros(1'000'000);
  first.set_satisfaction(2);
  IngestOk({first});

  v1::InteractionEvent second = first;
  second.set_revision(2);
  second.mutable_call()->set_duration_seconds(300);
  second.mutable_value()->set_amount_micros(5'000'000);
  second.set_satisfaction(10);
  EXPECT_EQ(IngestOk({second}).results(0).status(),
            IngestResult::STATUS_UPDATED);
  // An older copy arriving late changes nothing.
  EXPECT_EQ(IngestOk({first}).results(0).status(),
            IngestResult::STATUS_DUPLICATE);

  v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838750");
  EXPECT_EQ(view.total_interactions(), 1);
  EXPECT_EQ(view.total_value(0).amount_micros(), 5'000'000);
  EXPECT_DOUBLE_EQ(view.average_satisfaction(), 10.0);
  EXPECT_EQ(view.satisfaction_count(), 1);
  EXPECT_EQ(view.most_recent_interaction().call().duration_seconds(), 300);

  v1::GetTimelineRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_PHONE, "+442071838750");
  std::vector<v1::InteractionEvent> timeline = WholeTimeline(request, 10);
  ASSERT_EQ(timeline.size(), 1u);
  EXPECT_EQ(timeline[0].revision(), 2u);
  EXPECT_EQ(timeline[0].call().duration_seconds(), 300);
}

TEST_F(TimelineFixture, OutOfOrderEventsLandInTheirPlace) {
  IngestOk(
      {Event("e3", v1::IDENTITY_KIND_CRM_ID, "crm-o", kBase + 3 * kMinute)});
  IngestOk({Event("e1", v1::IDENTITY_KIND_CRM_ID, "crm-o", kBase + kMinute)});
  IngestOk(
      {Event("e2", v1::IDENTITY_KIND_CRM_ID, "crm-o", kBase + 2 * kMinute),
       Event("e2b", v1::IDENTITY_KIND_CRM_ID, "crm-o", kBase + 2 * kMinute)});
  v1::GetTimelineRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_CRM_ID, "crm-o");
  std::vector<std::string> order;
  for (const auto& event : WholeTimeline(request, 2)) {
    order.push_back(event.event_id());
  }
  // Ties on time: the larger event id first, the same on every read.
  EXPECT_EQ(order, (std::vector<std::string>{"e3", "e2b", "e2", "e1"}));
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_CRM_ID, "crm-o")
                .most_recent_interaction()
                .event_id(),
            "e3");
}

TEST_F(TimelineFixture, PaginationStaysCorrectWhileEventsArrive) {
  std::vector<v1::InteractionEvent> initial;
  for (int i = 0; i < 120; ++i) {
    // Several events share each timestamp, to exercise tie-breaking.
    initial.push_back(Event(absl::StrCat("p-", i), v1::IDENTITY_KIND_CRM_ID,
                            "crm-p", kBase + (i / 3) * kMinute));
  }
  IngestOk(initial);

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 500; ++i) {
      // Newer and older events keep arriving while pages are read.
      const int64_t at = (i % 2 == 0) ? kBase + (1000 + i) * kMinute
                                      : kBase - (i + 1) * kMinute;
      IngestOk({Event(absl::StrCat("late-", i), v1::IDENTITY_KIND_CRM_ID,
                      "crm-p", at)});
    }
  });
  v1::GetTimelineRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_CRM_ID, "crm-p");
  std::vector<v1::InteractionEvent> pages = WholeTimeline(request, 7);
  stop = true;
  writer.join();

  std::set<std::string> seen;
  for (size_t i = 0; i < pages.size(); ++i) {
    EXPECT_TRUE(seen.insert(pages[i].event_id()).second)
        << "shown twice: " << pages[i].event_id();
    if (i > 0) {
      const auto key = [](const v1::InteractionEvent& e) {
        return std::make_pair(timeline::ToMicros(e.occurred_at()),
                              e.event_id());
      };
      EXPECT_GT(key(pages[i - 1]), key(pages[i])) << "out of order at " << i;
    }
  }
  for (const auto& event : initial) {
    EXPECT_TRUE(seen.count(event.event_id())) << "skipped " << event.event_id();
  }
}

TEST_F(TimelineFixture, FiltersByChannelKindAndTime) {
  IngestOk({Event("f-call", v1::IDENTITY_KIND_CRM_ID, "crm-f", kBase),
            Event("f-web", v1::IDENTITY_KIND_CRM_ID, "crm-f", kBase + kMinute,
                  v1::CHANNEL_WEB),
            Event("f-visit", v1::IDENTITY_KIND_CRM_ID, "crm-f",
                  kBase + 2 * kMinute, v1::CHANNEL_IN_PERSON)});
  v1::GetTimelineRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_CRM_ID, "crm-f");
  request.add_channels(v1::CHANNEL_WEB);
  request.add_channels(v1::CHANNEL_PHONE);
  std::vector<v1::InteractionEvent> events = WholeTimeline(request, 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event_id(), "f-web");
  EXPECT_EQ(events[1].event_id(), "f-call");

  request.clear_channels();
  request.add_kinds(v1::INTERACTION_KIND_STORE_VISIT);
  events = WholeTimeline(request, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id(), "f-visit");

  request.clear_kinds();
  *request.mutable_start_time() = timeline::FromMicros(kBase + kMinute);
  *request.mutable_end_time() = timeline::FromMicros(kBase + 2 * kMinute);
  events = WholeTimeline(request, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id(), "f-web");
}

TEST_F(TimelineFixture, PageTokenFromOtherFiltersIsRejected) {
  for (int i = 0; i < 3; ++i) {
    IngestOk({Event(absl::StrCat("t-", i), v1::IDENTITY_KIND_CRM_ID, "crm-t",
                    kBase + i)});
  }
  v1::GetTimelineRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_CRM_ID, "crm-t");
  request.set_page_size(1);
  v1::GetTimelineResponse first;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetTimeline(&context, request, &first).ok());
  }
  ASSERT_FALSE(first.next_page_token().empty());
  request.set_page_token(first.next_page_token());
  request.add_channels(v1::CHANNEL_WEB);
  v1::GetTimelineResponse second;
  grpc::ClientContext context;
  grpc::Status status = stub_->GetTimeline(&context, request, &second);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("page_token"), std::string::npos);
}

TEST_F(TimelineFixture, BadEventIsRejectedAndChangesNothing) {
  v1::InteractionEvent good =
      Event("good-1", v1::IDENTITY_KIND_CRM_ID, "crm-g", kBase);
  v1::InteractionEvent bad =
      Event("bad-1", v1::IDENTITY_KIND_EMAIL, "not-an-email", kBase);
  v1::InteractionEvent future =
      Event("bad-2", v1::IDENTITY_KIND_CRM_ID, "crm-future",
            absl::ToUnixMicros(absl::Now() + absl::Hours(48)));
  v1::IngestResponse response = IngestOk({good, bad, future});
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).status(), IngestResult::STATUS_ACCEPTED);
  EXPECT_EQ(response.results(1).status(), IngestResult::STATUS_REJECTED);
  EXPECT_EQ(response.results(1).field(), "events[1].identities[0].value");
  EXPECT_FALSE(response.results(1).reason().empty());
  EXPECT_EQ(response.results(2).status(), IngestResult::STATUS_REJECTED);
  EXPECT_EQ(response.results(2).field(), "events[2].occurred_at");
  EXPECT_TRUE(response.results(1).customer_id().empty());

  // Only the good event's keys exist: one identity, one customer's three
  // (events, timeline, view), and the customer index's shard that lists it.
  std::vector<std::string> keys = AllKeys();
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(absl::c_count(keys, store_->context().keys.ForCustomerIndexOf(
                                    response.results(0).customer_id())),
            1);
  for (const std::string& key : keys) {
    EXPECT_EQ(key.find("crm-future"), std::string::npos) << key;
    EXPECT_EQ(key.find("not-an-email"), std::string::npos) << key;
  }
}

TEST_F(TimelineFixture, InvalidRequestAsAWholeIsInvalidArgument) {
  v1::IngestResponse response;
  grpc::Status empty = Ingest({}, &response);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  std::vector<v1::InteractionEvent> too_many;
  for (size_t i = 0; i <= limits_.max_batch_events; ++i) {
    too_many.push_back(
        Event(absl::StrCat("m-", i), v1::IDENTITY_KIND_CRM_ID, "crm-m", kBase));
  }
  grpc::Status big = Ingest(too_many, &response);
  EXPECT_EQ(big.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(big.error_message().find("events"), std::string::npos);
  EXPECT_TRUE(AllKeys().empty());

  v1::GetCustomerRequest no_selector;
  v1::GetCustomerResponse customer;
  grpc::ClientContext context;
  EXPECT_EQ(stub_->GetCustomer(&context, no_selector, &customer).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TimelineFixture, UnknownCustomerIsNotFound) {
  v1::GetCustomerRequest request;
  request.mutable_customer()->set_customer_id("c0123456789abcdef01234567");
  v1::GetCustomerResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(stub_->GetCustomer(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(TimelineFixture, IngestStreamAcknowledgesEachBatchInOrder) {
  grpc::ClientContext context;
  auto stream = stub_->IngestStream(&context);
  for (int batch = 0; batch < 3; ++batch) {
    v1::IngestRequest request;
    request.set_request_id(absl::StrCat("batch-", batch));
    for (int i = 0; i < 4; ++i) {
      *request.add_events() =
          Event(absl::StrCat("s-", batch, "-", i), v1::IDENTITY_KIND_CRM_ID,
                "crm-s", kBase + batch * 10 + i);
    }
    ASSERT_TRUE(stream->Write(request));
    v1::IngestResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.request_id(), absl::StrCat("batch-", batch));
    ASSERT_EQ(response.results_size(), 4);
    for (const auto& result : response.results()) {
      EXPECT_EQ(result.status(), IngestResult::STATUS_ACCEPTED);
    }
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_CRM_ID, "crm-s")
                .total_interactions(),
            12);
}

TEST_F(TimelineFixture, RedisDownIsUnavailableThenRecovers) {
  IngestOk({Event("before", v1::IDENTITY_KIND_CRM_ID, "crm-d", kBase)});
  ASSERT_TRUE(redis_server_->Kill().ok());

  v1::IngestResponse response;
  grpc::Status down =
      Ingest({Event("during", v1::IDENTITY_KIND_CRM_ID, "crm-d", kBase + 1)},
             &response);
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(down.error_message().find("Redis"), std::string::npos)
      << down.error_message();

  ASSERT_TRUE(redis_server_->Restart().ok());
  grpc::Status status;
  for (int attempt = 0; attempt < 100; ++attempt) {
    status =
        Ingest({Event("after", v1::IDENTITY_KIND_CRM_ID, "crm-d2", kBase + 2)},
               &response);
    if (status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.results(0).status(), IngestResult::STATUS_ACCEPTED);
}

class RetentionTest : public TimelineFixture {
 protected:
  RetentionTest() { store_options_.retention.max_events_per_customer = 5; }
};

TEST_F(RetentionTest, OldEventsAreTrimmedButStillCountedAndStillDuplicates) {
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 8; ++i) {
    events.push_back(Event(absl::StrCat("r-", i), v1::IDENTITY_KIND_CRM_ID,
                           "crm-r", kBase + i * kMinute));
  }
  IngestOk(events);
  v1::GetTimelineRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_CRM_ID, "crm-r");
  std::vector<v1::InteractionEvent> kept = WholeTimeline(request, 50);
  ASSERT_EQ(kept.size(), 5u);
  EXPECT_EQ(kept.front().event_id(), "r-7");
  EXPECT_EQ(kept.back().event_id(), "r-3");
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_CRM_ID, "crm-r")
                .total_interactions(),
            8);
  // A replay of a trimmed event is recognised and does not come back.
  EXPECT_EQ(IngestOk({events[0]}).results(0).status(),
            IngestResult::STATUS_DUPLICATE);
  EXPECT_EQ(WholeTimeline(request, 50).size(), 5u);
}

}  // namespace
}  // namespace omnihub::testing

// Identity resolution across customers over real gRPC against a real
// redis-server: merges (and their log), the identity rules, links, and the
// customer's data rights (erasure, export).
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "services/timeline/stored_event.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

using v1::IngestResult;
using v1::MergeRecord;

constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14, in us
constexpr int64_t kMinute = 60'000'000;

class IdentityResolutionTest : public TimelineFixture {
 protected:
  // The event with more identities.
  static v1::InteractionEvent With(v1::InteractionEvent event,
                                   std::vector<v1::Identity> more) {
    for (v1::Identity& identity : more) {
      *event.add_identities() = std::move(identity);
    }
    return event;
  }

  std::string IngestOne(v1::InteractionEvent event) {
    v1::IngestResponse response = IngestOk({std::move(event)});
    EXPECT_EQ(response.results_size(), 1);
    if (response.results_size() != 1) return "";
    EXPECT_NE(response.results(0).status(), IngestResult::STATUS_REJECTED)
        << response.results(0).reason();
    return response.results(0).customer_id();
  }

  grpc::Status GetCustomer(v1::CustomerSelector selector,
                           v1::GetCustomerResponse* response) {
    v1::GetCustomerRequest request;
    *request.mutable_customer() = std::move(selector);
    grpc::ClientContext context;
    return stub_->GetCustomer(&context, request, response);
  }

  std::vector<MergeRecord> MergeLog(v1::CustomerSelector selector) {
    v1::GetMergeLogRequest request;
    *request.mutable_customer() = std::move(selector);
    v1::GetMergeLogResponse response;
    grpc::ClientContext context;
    grpc::Status status = customers_->GetMergeLog(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.records().begin(), response.records().end()};
  }

  std::vector<v1::InteractionEvent> TimelineOf(v1::CustomerSelector selector) {
    v1::GetTimelineRequest request;
    *request.mutable_customer() = std::move(selector);
    return WholeTimeline(request, 7);
  }

  // Every event id on the timeline, checking none is there twice.
  std::multiset<std::string> EventIds(v1::CustomerSelector selector) {
    std::multiset<std::string> ids;
    for (const v1::InteractionEvent& event : TimelineOf(std::move(selector))) {
      ids.insert(event.event_id());
    }
    for (const std::string& id : ids) EXPECT_EQ(ids.count(id), 1u) << id;
    return ids;
  }

  std::string RedisGet(const std::string& key) {
    absl::StatusOr<redis::Reply> reply = RedisCommand({"GET", key});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->str : "";
  }

  // A hash's fields and values, flat.
  std::vector<std::string> HashOf(const std::string& key) {
    absl::StatusOr<redis::Reply> hash = RedisCommand({"HGETALL", key});
    EXPECT_TRUE(hash.ok());
    std::vector<std::string> flat;
    if (!hash.ok()) return flat;
    for (const redis::Reply& element : hash->elements) {
      flat.push_back(element.str);
    }
    return flat;
  }

  // The sum of a counter family's series in the test's registry.
  double Counter(const std::string& name) {
    double sum = 0;
    for (const prometheus::MetricFamily& family : registry_->Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        sum += metric.counter.value;
      }
    }
    return sum;
  }

  grpc::Status Link(std::vector<v1::Identity> identities,
                    v1::LinkIdentitiesResponse* response) {
    v1::LinkIdentitiesRequest request;
    for (v1::Identity& identity : identities) {
      *request.add_identities() = std::move(identity);
    }
    request.set_source("crm/test");
    grpc::ClientContext context;
    return customers_->LinkIdentities(&context, request, response);
  }
};

TEST_F(IdentityResolutionTest,
       AnEventProvingTwoCustomersOneMergesThemIntoTheOlder) {
  // A calls twice from a phone; B browses twice with an e-mail address.
  v1::InteractionEvent call1 =
      Event("call-1", v1::IDENTITY_KIND_PHONE, "020 7183 8750", kBase);
  call1.set_satisfaction(8);
  const std::string a = IngestOne(call1);
  IngestOne(Event("call-2", v1::IDENTITY_KIND_PHONE, "020 7183 8750",
                  kBase + kMinute));
  v1::InteractionEvent web1 =
      Event("web-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
            kBase + 2 * kMinute, v1::CHANNEL_WEB);
  web1.mutable_value()->set_currency("EUR");
  web1.mutable_value()->set_amount_micros(59'900'000);
  web1.set_satisfaction(6);
  const std::string b = IngestOne(web1);
  IngestOne(Event("web-2", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                  kBase + 3 * kMinute, v1::CHANNEL_WEB));
  ASSERT_NE(a, b);
  ASSERT_LT(a, b);  // ids order customers by age

  // A store visit carries both: they are one person.
  v1::IngestResponse response = IngestOk(
      {With(Event("visit-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                  kBase + 4 * kMinute, v1::CHANNEL_IN_PERSON),
            {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")})});
  ASSERT_EQ(response.results(0).status(), IngestResult::STATUS_ACCEPTED);
  EXPECT_EQ(response.results(0).customer_id(), a);
  ASSERT_EQ(response.results(0).merged_customer_ids_size(), 1);
  EXPECT_EQ(response.results(0).merged_customer_ids(0), b);

  // One timeline, every event once; one view with both sides' figures.
  EXPECT_EQ(EventIds(ByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com")),
            (std::multiset<std::string>{"call-1", "call-2", "web-1", "web-2",
                                        "visit-1"}));
  v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  EXPECT_EQ(view.customer_id(), a);
  EXPECT_EQ(view.total_interactions(), 5);
  EXPECT_EQ(view.channels_size(), 3);
  ASSERT_EQ(view.total_value_size(), 1);
  EXPECT_EQ(view.total_value(0).amount_micros(), 59'900'000);
  EXPECT_DOUBLE_EQ(view.average_satisfaction(), 7.0);
  EXPECT_EQ(timeline::ToMicros(view.first_seen()), kBase);
  EXPECT_EQ(view.most_recent_interaction().event_id(), "visit-1");
  EXPECT_EQ(view.identities_size(), 2);
  ASSERT_EQ(view.merged_customer_ids_size(), 1);
  EXPECT_EQ(view.merged_customer_ids(0), b);

  // The merged-away id answers with the survivor and says so.
  v1::GetCustomerResponse by_old_id;
  ASSERT_TRUE(GetCustomer(ById(b), &by_old_id).ok());
  EXPECT_EQ(by_old_id.customer().customer_id(), a);
  EXPECT_EQ(by_old_id.merged_from(), b);
  v1::GetTimelineRequest timeline_request;
  *timeline_request.mutable_customer() = ById(b);
  v1::GetTimelineResponse timeline_response;
  grpc::ClientContext context;
  ASSERT_TRUE(
      stub_->GetTimeline(&context, timeline_request, &timeline_response).ok());
  EXPECT_EQ(timeline_response.customer_id(), a);
  EXPECT_EQ(timeline_response.merged_from(), b);
  EXPECT_EQ(timeline_response.events_size(), 5);

  // Every identity points at the survivor; of B only its alias is left.
  EXPECT_EQ(RedisGet("omnihub:id:{email:ann@example.com}"), a);
  EXPECT_EQ(RedisGet("omnihub:id:{phone:+442071838750}"), a);
  std::vector<std::string> left_of_b;
  for (const std::string& key : AllKeys()) {
    if (absl::StrContains(key, b)) left_of_b.push_back(key);
  }
  EXPECT_EQ(left_of_b,
            std::vector<std::string>{absl::StrCat("omnihub:c:{", b, "}:v")});
  EXPECT_EQ(HashOf(absl::StrCat("omnihub:c:{", b, "}:v")),
            (std::vector<std::string>{"alias", a}));
  const std::vector<std::string> keys = AllKeys();
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "omnihub:{merges}:pending"),
            0);

  // The merge log explains it.
  std::vector<MergeRecord> log = MergeLog(ById(b));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome(), MergeRecord::OUTCOME_MERGED);
  EXPECT_EQ(log[0].trigger(), MergeRecord::TRIGGER_EVENT);
  EXPECT_EQ(log[0].survivor_id(), a);
  EXPECT_EQ(log[0].merged_id(), b);
  EXPECT_EQ(log[0].event_id(), "visit-1");
  EXPECT_EQ(log[0].source(), "integration-test");
  EXPECT_EQ(log[0].linking_identities_size(), 2);
  EXPECT_EQ(log[0].survivor().total_interactions(), 2);
  EXPECT_EQ(log[0].merged().total_interactions(), 2);
  ASSERT_EQ(log[0].merged().identities_size(), 1);
  EXPECT_EQ(log[0].merged().identities(0).value(), "ann@example.com");
  EXPECT_EQ(Counter("omnihub_customer_merges_total"), 1);
}

TEST_F(IdentityResolutionTest, MergingASurvivorRepointsWhatWasMergedIntoIt) {
  // Three customers, oldest first (ids order by creation time in ms).
  const std::string a =
      IngestOne(Event("a-1", v1::IDENTITY_KIND_PHONE, "020 7183 8750", kBase));
  absl::SleepFor(absl::Milliseconds(2));
  const std::string b =
      IngestOne(Event("b-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                      kBase + kMinute, v1::CHANNEL_WEB));
  absl::SleepFor(absl::Milliseconds(2));
  const std::string c =
      IngestOne(Event("c-1", v1::IDENTITY_KIND_LOYALTY_CARD, "L-77",
                      kBase + 2 * kMinute, v1::CHANNEL_IN_PERSON));
  ASSERT_LT(a, b);
  ASSERT_LT(b, c);

  // C goes into B; then B, with C's alias, into A.
  v1::IngestResponse first =
      IngestOk({With(Event("b-2", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                           kBase + 3 * kMinute, v1::CHANNEL_WEB),
                     {Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "L-77")})});
  ASSERT_EQ(first.results(0).customer_id(), b);
  ASSERT_EQ(first.results(0).merged_customer_ids_size(), 1);
  v1::IngestResponse second =
      IngestOk({With(Event("a-2", v1::IDENTITY_KIND_PHONE, "020 7183 8750",
                           kBase + 4 * kMinute),
                     {Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com")})});
  ASSERT_EQ(second.results(0).customer_id(), a);
  ASSERT_EQ(second.results(0).merged_customer_ids_size(), 1);
  EXPECT_EQ(second.results(0).merged_customer_ids(0), b);

  // Both aliases name A directly, and nothing else is left of B or C.
  EXPECT_EQ(HashOf(absl::StrCat("omnihub:c:{", b, "}:v")),
            (std::vector<std::string>{"alias", a}));
  EXPECT_EQ(HashOf(absl::StrCat("omnihub:c:{", c, "}:v")),
            (std::vector<std::string>{"alias", a}));
  for (const std::string& key : AllKeys()) {
    if (absl::StrContains(key, b) || absl::StrContains(key, c)) {
      EXPECT_TRUE(absl::EndsWith(key, ":v")) << key;
    }
  }
  EXPECT_EQ(RedisGet("omnihub:id:{loyalty_card:L-77}"), a);
  v1::GetCustomerResponse by_c;
  ASSERT_TRUE(GetCustomer(ById(c), &by_c).ok());
  EXPECT_EQ(by_c.customer().customer_id(), a);
  EXPECT_EQ(by_c.merged_from(), c);
  EXPECT_EQ(std::set<std::string>(by_c.customer().merged_customer_ids().begin(),
                                  by_c.customer().merged_customer_ids().end()),
            (std::set<std::string>{b, c}));
  EXPECT_EQ(by_c.customer().identities_size(), 3);
  EXPECT_EQ(EventIds(ById(c)),
            (std::multiset<std::string>{"a-1", "a-2", "b-1", "b-2", "c-1"}));
}

TEST_F(IdentityResolutionTest, ResendsAfterAMergeStayDuplicatesOnTheSurvivor) {
  const std::string a = IngestOne(
      Event("call-1", v1::IDENTITY_KIND_PHONE, "+442071838750", kBase));
  IngestOne(Event("web-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                  kBase + kMinute, v1::CHANNEL_WEB));
  IngestOne(With(Event("visit-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                       kBase + 2 * kMinute, v1::CHANNEL_IN_PERSON),
                 {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")}));
  v1::IngestResponse again =
      IngestOk({Event("web-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                      kBase + kMinute, v1::CHANNEL_WEB)});
  EXPECT_EQ(again.results(0).status(), IngestResult::STATUS_DUPLICATE);
  EXPECT_EQ(again.results(0).customer_id(), a);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838750")
                .total_interactions(),
            3);
}

TEST_F(IdentityResolutionTest,
       ConcurrentIngestsTriggeringTheSameMergeMakeOneConsistentCustomer) {
  for (int i = 0; i < 20; ++i) {
    IngestOne(Event(absl::StrCat("a-", i), v1::IDENTITY_KIND_PHONE,
                    "+442071838750", kBase + i));
    IngestOne(Event(absl::StrCat("b-", i), v1::IDENTITY_KIND_EMAIL,
                    "ann@example.com", kBase + 100 + i, v1::CHANNEL_WEB));
  }
  // Eight clients at once, each with an event carrying both identities.
  constexpr int kClients = 8;
  std::vector<std::thread> clients;
  std::vector<std::string> landed(kClients);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      v1::IngestResponse response;
      grpc::Status status =
          Ingest({With(Event(absl::StrCat("both-", c), v1::IDENTITY_KIND_EMAIL,
                             "ann@example.com", kBase + 1000 + c,
                             v1::CHANNEL_IN_PERSON),
                       {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")})},
                 &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      landed[c] = response.results(0).customer_id();
    });
  }
  for (std::thread& client : clients) client.join();
  const v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838750");
  for (const std::string& customer : landed) {
    EXPECT_EQ(customer, view.customer_id());
  }
  EXPECT_EQ(view.total_interactions(), 40 + kClients);
  EXPECT_EQ(EventIds(ById(view.customer_id())).size(), 40u + kClients);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com")
                .customer_id(),
            view.customer_id());
  std::vector<MergeRecord> log = MergeLog(ById(view.customer_id()));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome(), MergeRecord::OUTCOME_MERGED);
  absl::StatusOr<redis::Reply> pending =
      RedisCommand({"ZCARD", "omnihub:{merges}:pending"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->integer, 0);
}

TEST_F(IdentityResolutionTest, PageViewAndIdentifyInOneBatchEndOnOneCustomer) {
  // The usual web flow: a new visitor's page view and the identify call
  // that follows arrive in one batch, stored concurrently.
  v1::InteractionEvent page =
      Event("page-1", v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-7", kBase,
            v1::CHANNEL_WEB);
  v1::InteractionEvent identify =
      With(Event("identify-1", v1::IDENTITY_KIND_LOGIN_ID, "user-42", kBase + 1,
                 v1::CHANNEL_WEB),
           {Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
            Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-7")});
  identify.set_kind(v1::INTERACTION_KIND_IDENTIFIED);
  IngestOk({page, identify});
  const v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-7");
  EXPECT_EQ(view.total_interactions(), 2);
  EXPECT_EQ(view.identities_size(), 3);
  EXPECT_EQ(
      CustomerByIdentity(v1::IDENTITY_KIND_LOGIN_ID, "user-42").customer_id(),
      view.customer_id());
}

// A replica that dies between two steps of a merge leaves it half done;
// another replica finishes it, and nothing is lost or counted twice.
class InterruptedMergeTest : public IdentityResolutionTest,
                             public ::testing::WithParamInterface<std::string> {
 protected:
  InterruptedMergeTest() {
    store_options_.chunk_size = 2;  // several event steps
    store_options_.merge_step_hook = [this](absl::string_view step) {
      if (step == GetParam() && !crashed_.exchange(true)) {
        return absl::AbortedError("simulated crash");
      }
      return absl::OkStatus();
    };
  }
  std::atomic<bool> crashed_{false};
};

TEST_P(InterruptedMergeTest, IsResumedByAnotherReplicaAndEndsConsistent) {
  for (int i = 0; i < 5; ++i) {
    IngestOne(Event(absl::StrCat("a-", i), v1::IDENTITY_KIND_PHONE,
                    "+442071838750", kBase + i * kMinute));
    v1::InteractionEvent web =
        Event(absl::StrCat("b-", i), v1::IDENTITY_KIND_EMAIL, "ann@example.com",
              kBase + (10 + i) * kMinute, v1::CHANNEL_WEB);
    web.mutable_value()->set_currency("EUR");
    web.mutable_value()->set_amount_micros(1'000'000);
    IngestOne(web);
  }
  v1::IngestResponse response;
  grpc::Status status =
      Ingest({With(Event("both", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                         kBase + 30 * kMinute, v1::CHANNEL_IN_PERSON),
                   {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")})},
             &response);
  ASSERT_TRUE(crashed_);
  EXPECT_FALSE(status.ok());  // the sender will resend

  // Meanwhile events keep arriving for both people.
  IngestOne(Event("a-late", v1::IDENTITY_KIND_PHONE, "+442071838750",
                  kBase + 40 * kMinute));
  IngestOne(Event("b-late", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                  kBase + 41 * kMinute, v1::CHANNEL_WEB));

  // Another replica finds the unfinished merge and finishes it.
  timeline::TimelineStore other_replica(store_redis_,
                                        timeline::TimelineStoreOptions{});
  absl::StatusOr<int> resumed =
      other_replica.ResumeStaleMerges(absl::ZeroDuration());
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(*resumed, 1);
  // The sender resends the event that failed.
  IngestOne(With(Event("both", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                       kBase + 30 * kMinute, v1::CHANNEL_IN_PERSON),
                 {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")}));

  const v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838750");
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com")
                .customer_id(),
            view.customer_id());
  EXPECT_EQ(view.total_interactions(), 13);
  ASSERT_EQ(view.total_value_size(), 1);
  EXPECT_EQ(view.total_value(0).amount_micros(), 5'000'000);
  EXPECT_EQ(EventIds(ById(view.customer_id())).size(), 13u);
  EXPECT_EQ(view.most_recent_interaction().event_id(), "b-late");
  ASSERT_EQ(view.merged_customer_ids_size(), 1);
  absl::StatusOr<redis::Reply> pending =
      RedisCommand({"ZCARD", "omnihub:{merges}:pending"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->integer, 0);
  // Of the merged-away customer, only the alias is left.
  const std::string merged = view.merged_customer_ids(0);
  for (const std::string& key : AllKeys()) {
    if (absl::StrContains(key, merged)) {
      EXPECT_TRUE(absl::EndsWith(key, ":v")) << key;
      EXPECT_EQ(HashOf(key),
                (std::vector<std::string>{"alias", view.customer_id()}));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStep, InterruptedMergeTest,
                         ::testing::Values("intent", "marked", "events",
                                           "profile", "repointed"));

// An erasure of the survivor that starts while a merge into it runs: the
// merge gives up, and the customer it was merging stands on its own again.
class SurvivorErasedMidMergeTest : public IdentityResolutionTest {
 protected:
  SurvivorErasedMidMergeTest() {
    store_options_.merge_step_hook = [this](absl::string_view step) {
      if (step == "marked" && !erasing_.exchange(true)) {
        // What ForgetCustomer's first step writes.
        absl::StatusOr<redis::Reply> marked =
            RedisCommand({"HSET", absl::StrCat("omnihub:c:{", survivor_, "}:v"),
                          "alias", "-"});
        EXPECT_TRUE(marked.ok());
      }
      return absl::OkStatus();
    };
  }
  std::string survivor_;
  std::atomic<bool> erasing_{false};
};

TEST_F(SurvivorErasedMidMergeTest, LeavesTheMergedCustomerWhole) {
  survivor_ =
      IngestOne(Event("a-1", v1::IDENTITY_KIND_PHONE, "+442071838750", kBase));
  absl::SleepFor(absl::Milliseconds(2));
  const std::string b =
      IngestOne(Event("b-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                      kBase + kMinute, v1::CHANNEL_WEB));
  IngestOne(Event("b-2", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                  kBase + 2 * kMinute, v1::CHANNEL_WEB));
  ASSERT_LT(survivor_, b);

  // Proves them one person; whatever becomes of this event, B is untouched.
  v1::IngestResponse response;
  Ingest({With(Event("both", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                     kBase + 3 * kMinute, v1::CHANNEL_IN_PERSON),
               {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")})},
         &response);
  ASSERT_TRUE(erasing_);

  const std::vector<std::string> b_view =
      HashOf(absl::StrCat("omnihub:c:{", b, "}:v"));
  for (size_t i = 0; i + 1 < b_view.size(); i += 2) {
    EXPECT_NE(b_view[i], "alias") << b_view[i + 1];
  }
  v1::GetCustomerResponse read;
  ASSERT_TRUE(GetCustomer(ById(b), &read).ok());
  EXPECT_EQ(read.customer().customer_id(), b);
  EXPECT_TRUE(read.merged_from().empty());
  EXPECT_EQ(read.customer().merged_customer_ids_size(), 0);
  EXPECT_TRUE(EventIds(ById(b)).contains("b-1"));
  EXPECT_TRUE(EventIds(ById(b)).contains("b-2"));
  EXPECT_EQ(RedisGet("omnihub:id:{email:ann@example.com}"), b);
  absl::StatusOr<redis::Reply> mark = RedisCommand(
      {"HGET", absl::StrCat("omnihub:c:{", survivor_, "}:v"), "alias"});
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(mark->str, "-");
}

class AttachOnlyPhoneTest : public IdentityResolutionTest {
 protected:
  AttachOnlyPhoneTest() {
    store_options_.identity_rules = *timeline::IdentityRules::Parse(
        {.policies = "phone=attach"}, identity::IdentityNormalizer());
  }
};

TEST_F(AttachOnlyPhoneTest, ASharedLandlineKeepsTwoPeopleApart) {
  // Ann and Bob share the family landline.
  const std::string ann = IngestOne(
      With(Event("ann-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com", kBase),
           {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")}));
  const std::string bob = IngestOne(
      Event("bob-1", v1::IDENTITY_KIND_EMAIL, "bob@example.com", kBase + 1));
  v1::IngestResponse response = IngestOk({With(
      Event("bob-2", v1::IDENTITY_KIND_EMAIL, "bob@example.com", kBase + 2),
      {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")})});
  EXPECT_EQ(response.results(0).customer_id(), bob);
  EXPECT_EQ(response.results(0).merged_customer_ids_size(), 0);
  EXPECT_NE(ann, bob);
  // The landline still finds the customer it was first seen with.
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838750")
                .customer_id(),
            ann);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "bob@example.com")
                .identities_size(),
            1);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "bob@example.com")
                .total_interactions(),
            2);
  EXPECT_TRUE(MergeLog(ById(ann)).empty());
  EXPECT_TRUE(MergeLog(ById(bob)).empty());
  EXPECT_EQ(Counter("omnihub_customer_merges_total"), 0);
}

TEST_F(IdentityResolutionTest, APerKindLimitRefusesTheMergeAndLogsIt) {
  // Two people with their own logins; one of them types the other's e-mail.
  const std::string one =
      IngestOne(With(Event("u1-1", v1::IDENTITY_KIND_LOGIN_ID, "user-1", kBase,
                           v1::CHANNEL_WEB),
                     {Identity(v1::IDENTITY_KIND_EMAIL, "one@example.com")}));
  const std::string two =
      IngestOne(With(Event("u2-1", v1::IDENTITY_KIND_LOGIN_ID, "user-2",
                           kBase + 1, v1::CHANNEL_WEB),
                     {Identity(v1::IDENTITY_KIND_EMAIL, "two@example.com")}));
  for (int i = 0; i < 2; ++i) {
    v1::IngestResponse response = IngestOk(
        {With(Event(absl::StrCat("u2-typo-", i), v1::IDENTITY_KIND_LOGIN_ID,
                    "user-2", kBase + 2 + i, v1::CHANNEL_WEB),
              {Identity(v1::IDENTITY_KIND_EMAIL, "one@example.com")})});
    // The login outranks the e-mail: the event is user 2's.
    EXPECT_EQ(response.results(0).customer_id(), two);
    EXPECT_EQ(response.results(0).merged_customer_ids_size(), 0);
  }
  EXPECT_NE(
      CustomerByIdentity(v1::IDENTITY_KIND_LOGIN_ID, "user-1").customer_id(),
      CustomerByIdentity(v1::IDENTITY_KIND_LOGIN_ID, "user-2").customer_id());
  for (const std::string& customer : {one, two}) {
    std::vector<MergeRecord> log = MergeLog(ById(customer));
    ASSERT_EQ(log.size(), 1u) << customer;
    EXPECT_EQ(log[0].outcome(), MergeRecord::OUTCOME_REFUSED);
    EXPECT_EQ(log[0].survivor_id(), one);
    EXPECT_EQ(log[0].merged_id(), two);
    EXPECT_EQ(log[0].times(), 2);
    EXPECT_EQ(log[0].event_id(), "u2-typo-0");
    EXPECT_TRUE(absl::StrContains(log[0].reason(), "login_id"))
        << log[0].reason();
  }
  EXPECT_EQ(Counter("omnihub_customer_merges_refused_total"), 2);
}

TEST_F(IdentityResolutionTest, APerKindLimitKeepsASecondLoginOffTheCustomer) {
  const std::string customer =
      IngestOne(With(Event("e-1", v1::IDENTITY_KIND_LOGIN_ID, "user-1", kBase,
                           v1::CHANNEL_WEB),
                     {Identity(v1::IDENTITY_KIND_EMAIL, "one@example.com")}));
  v1::IngestResponse response =
      IngestOk({With(Event("e-2", v1::IDENTITY_KIND_EMAIL, "one@example.com",
                           kBase + 1, v1::CHANNEL_WEB),
                     {Identity(v1::IDENTITY_KIND_LOGIN_ID, "user-9")})});
  EXPECT_EQ(response.results(0).customer_id(), customer);
  const v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "one@example.com");
  EXPECT_EQ(view.identities_size(), 2);
  // The refused login is free again, not half-owned.
  EXPECT_EQ(RedisGet("omnihub:id:{login_id:user-9}"), "");
  EXPECT_EQ(Counter("omnihub_identities_refused_total"), 1);
}

class BlockedIdentityTest : public IdentityResolutionTest {
 protected:
  BlockedIdentityTest() {
    store_options_.identity_rules = *timeline::IdentityRules::Parse(
        {.blocked = "phone:+442079460000"},
        identity::IdentityNormalizer({.default_region = "GB"}));
  }
};

TEST_F(BlockedIdentityTest, TheShopsOwnNumberNeverGluesCustomers) {
  // Two customers give the shop's number at the till.
  const std::string ann = IngestOne(
      With(Event("v-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com", kBase),
           {Identity(v1::IDENTITY_KIND_PHONE, "020 7946 0000")}));
  const std::string bob = IngestOne(
      With(Event("v-2", v1::IDENTITY_KIND_EMAIL, "bob@example.com", kBase + 1),
           {Identity(v1::IDENTITY_KIND_PHONE, "020 7946 0000")}));
  EXPECT_NE(ann, bob);
  EXPECT_EQ(RedisGet("omnihub:id:{phone:+442079460000}"), "");
  // An event with nothing but the blocked number belongs to nobody.
  v1::IngestResponse response = IngestOk(
      {Event("v-3", v1::IDENTITY_KIND_PHONE, "020 7946 0000", kBase + 2)});
  EXPECT_EQ(response.results(0).status(), IngestResult::STATUS_REJECTED);
  EXPECT_EQ(response.results(0).field(), "events[0].identities");
  EXPECT_EQ(Counter("omnihub_identities_refused_total"), 3);
}

TEST_F(IdentityResolutionTest, LinkIdentitiesMergesAttachesAndResolves) {
  const std::string a =
      IngestOne(Event("c-1", v1::IDENTITY_KIND_PHONE, "+442071838750", kBase));
  const std::string b =
      IngestOne(Event("w-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                      kBase + 1, v1::CHANNEL_WEB));
  v1::LinkIdentitiesRequest link;
  *link.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL, "Ann@Example.com");
  *link.add_identities() = Identity(v1::IDENTITY_KIND_PHONE, "020 7183 8750");
  *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "L-77");
  link.set_source("crm/agent-maria");
  link.set_reason("customer confirmed on the phone");
  v1::LinkIdentitiesResponse linked;
  {
    grpc::ClientContext context;
    grpc::Status status = customers_->LinkIdentities(&context, link, &linked);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(linked.customer_id(), a);
  ASSERT_EQ(linked.merged_customer_ids_size(), 1);
  EXPECT_EQ(linked.merged_customer_ids(0), b);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_LOYALTY_CARD, "L-77")
                .total_interactions(),
            2);
  std::vector<MergeRecord> log = MergeLog(ById(a));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].trigger(), MergeRecord::TRIGGER_LINK);
  EXPECT_EQ(log[0].source(), "crm/agent-maria");
  EXPECT_EQ(log[0].reason(), "customer confirmed on the phone");

  v1::ResolveCustomerRequest resolve;
  *resolve.mutable_customer() = ById(b);
  v1::ResolveCustomerResponse resolved;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(customers_->ResolveCustomer(&context, resolve, &resolved).ok());
  }
  EXPECT_EQ(resolved.customer_id(), a);
  EXPECT_EQ(resolved.merged_from(), b);
  *resolve.mutable_customer() =
      ByIdentity(v1::IDENTITY_KIND_EMAIL, "nobody@example.com");
  grpc::ClientContext context;
  EXPECT_EQ(
      customers_->ResolveCustomer(&context, resolve, &resolved).error_code(),
      grpc::StatusCode::NOT_FOUND);
  // Resolving never creates anything.
  EXPECT_EQ(RedisGet("omnihub:id:{email:nobody@example.com}"), "");
}

// The most common link: an agent confirms that the customer known by an
// e-mail and the one known by a phone number are one person. Every identity
// is known, so there is nothing to attach; the call used to fail after the
// merge (an HMGET of no fields in attach_identities.lua), and so did every
// retry.
TEST_F(IdentityResolutionTest, LinkingTwoKnownCustomersMergesThemAndRetries) {
  const std::string ana = IngestOne(Event(
      "w-1", v1::IDENTITY_KIND_EMAIL, "ana@x.example", kBase, v1::CHANNEL_WEB));
  const std::string caller = IngestOne(
      Event("c-1", v1::IDENTITY_KIND_PHONE, "+34600555111", kBase + 1));
  ASSERT_NE(ana, caller);
  const std::vector<v1::Identity> both = {
      Identity(v1::IDENTITY_KIND_EMAIL, "ana@x.example"),
      Identity(v1::IDENTITY_KIND_PHONE, "+34600555111")};
  v1::LinkIdentitiesResponse linked;
  grpc::Status status = Link(both, &linked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(linked.customer_id(), ana);  // the older one
  ASSERT_EQ(linked.merged_customer_ids_size(), 1);
  EXPECT_EQ(linked.merged_customer_ids(0), caller);
  EXPECT_FALSE(linked.created_customer());
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+34600555111")
                .total_interactions(),
            2);
  const std::string after = DumpRedis();

  // A retry finds one customer: OK, the same survivor, nothing merged by
  // this call, nothing changed.
  for (int retry = 0; retry < 2; ++retry) {
    v1::LinkIdentitiesResponse again;
    status = Link(both, &again);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(again.customer_id(), ana);
    EXPECT_EQ(again.merged_customer_ids_size(), 0);
    EXPECT_FALSE(again.created_customer());
  }
  EXPECT_EQ(DumpRedis(), after);
  EXPECT_EQ(MergeLog(ById(ana)).size(), 1u);
}

TEST_F(IdentityResolutionTest, LinkingIdentitiesOfOneCustomerChangesNothing) {
  const std::string ana =
      IngestOne(With(Event("w-1", v1::IDENTITY_KIND_EMAIL, "ana@x.example",
                           kBase, v1::CHANNEL_WEB),
                     {Identity(v1::IDENTITY_KIND_PHONE, "+34600555111")}));
  const std::string before = DumpRedis();
  for (int attempt = 0; attempt < 2; ++attempt) {
    v1::LinkIdentitiesResponse linked;
    grpc::Status status =
        Link({Identity(v1::IDENTITY_KIND_PHONE, "+34600555111"),
              Identity(v1::IDENTITY_KIND_EMAIL, "ana@x.example")},
             &linked);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(linked.customer_id(), ana);
    EXPECT_EQ(linked.merged_customer_ids_size(), 0);
    EXPECT_FALSE(linked.created_customer());
  }
  EXPECT_EQ(DumpRedis(), before);
  EXPECT_TRUE(MergeLog(ById(ana)).empty());
}

TEST_F(IdentityResolutionTest, LinkingOneIdentityFindsOrCreatesItsCustomer) {
  const std::string ana = IngestOne(Event(
      "w-1", v1::IDENTITY_KIND_EMAIL, "ana@x.example", kBase, v1::CHANNEL_WEB));
  const std::string before = DumpRedis();
  for (int attempt = 0; attempt < 2; ++attempt) {
    v1::LinkIdentitiesResponse linked;
    grpc::Status status =
        Link({Identity(v1::IDENTITY_KIND_EMAIL, "ana@x.example")}, &linked);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(linked.customer_id(), ana);
    EXPECT_EQ(linked.merged_customer_ids_size(), 0);
    EXPECT_FALSE(linked.created_customer());
  }
  EXPECT_EQ(DumpRedis(), before);

  // An unknown one makes a customer; the retry finds that customer.
  v1::LinkIdentitiesResponse created;
  grpc::Status status =
      Link({Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "L-9")}, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(created.created_customer());
  EXPECT_NE(created.customer_id(), ana);
  const std::string after = DumpRedis();
  v1::LinkIdentitiesResponse found;
  status = Link({Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "L-9")}, &found);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(found.customer_id(), created.customer_id());
  EXPECT_FALSE(found.created_customer());
  EXPECT_EQ(DumpRedis(), after);
}

TEST_F(IdentityResolutionTest, ALinkTheLimitsForbidChangesNothing) {
  IngestOne(Event("u1", v1::IDENTITY_KIND_LOGIN_ID, "user-1", kBase,
                  v1::CHANNEL_WEB));
  IngestOne(Event("u2", v1::IDENTITY_KIND_LOGIN_ID, "user-2", kBase + 1,
                  v1::CHANNEL_WEB));
  const std::string before = DumpRedis();
  auto link = [&](std::vector<v1::Identity> identities, std::string source) {
    v1::LinkIdentitiesRequest request;
    for (v1::Identity& identity : identities) {
      *request.add_identities() = std::move(identity);
    }
    request.set_source(std::move(source));
    v1::LinkIdentitiesResponse response;
    grpc::ClientContext context;
    return customers_->LinkIdentities(&context, request, &response);
  };
  grpc::Status status =
      link({Identity(v1::IDENTITY_KIND_LOGIN_ID, "user-1"),
            Identity(v1::IDENTITY_KIND_LOGIN_ID, "user-2"),
            Identity(v1::IDENTITY_KIND_EMAIL, "new@example.com")},
           "crm");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "login_id"))
      << status.error_message();
  EXPECT_EQ(DumpRedis(), before);

  status = link({Identity(v1::IDENTITY_KIND_EMAIL, "a@example.com")}, "");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "source"));
  status = link({Identity(v1::IDENTITY_KIND_EMAIL, "not an address")}, "crm");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "identities[0].value"))
      << status.error_message();
  EXPECT_EQ(DumpRedis(), before);
}

class DataRightsTest : public IdentityResolutionTest {
 protected:
  DataRightsTest() { store_options_.retention.max_events_per_customer = 3; }

  // Ann: five events over two customers merged into one, one refused merge
  // with Carl (who shares a login conflict), trimmed events included.
  void IngestAnn() {
    ann_events_ = {
        Event("ann-call-1", v1::IDENTITY_KIND_PHONE, "+442071838750", kBase),
        Event("ann-call-2", v1::IDENTITY_KIND_PHONE, "+442071838750",
              kBase + kMinute),
        With(Event("ann-web-1", v1::IDENTITY_KIND_LOGIN_ID, "ann-login",
                   kBase + 2 * kMinute, v1::CHANNEL_WEB),
             {Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com")}),
        With(Event("ann-visit-1", v1::IDENTITY_KIND_EMAIL, "ann@example.com",
                   kBase + 3 * kMinute, v1::CHANNEL_IN_PERSON),
             {Identity(v1::IDENTITY_KIND_PHONE, "+442071838750")}),
        With(Event("carl-web-1", v1::IDENTITY_KIND_LOGIN_ID, "carl-login",
                   kBase + 4 * kMinute, v1::CHANNEL_WEB),
             {Identity(v1::IDENTITY_KIND_EMAIL, "carl@example.com")}),
    };
    for (int i = 0; i < 4; ++i) IngestOne(ann_events_[i]);
    carl_ = IngestOne(ann_events_[4]);
    // Carl's login and Ann's e-mail on one event: refused (two logins).
    IngestOne(With(Event("carl-typo", v1::IDENTITY_KIND_LOGIN_ID, "carl-login",
                         kBase + 5 * kMinute, v1::CHANNEL_WEB),
                   {Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com")}));
    ann_events_.pop_back();  // that one was Carl's
  }

  std::vector<v1::InteractionEvent> ann_events_;
  std::string carl_;
};

TEST_F(DataRightsTest, ForgetLeavesNothingOfThePersonAndReplaysDoNotComeBack) {
  IngestAnn();
  const v1::CustomerView ann =
      CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838750");
  ASSERT_EQ(ann.total_interactions(), 4);
  ASSERT_EQ(ann.merged_customer_ids_size(), 1);
  ASSERT_EQ(MergeLog(ById(carl_)).size(), 1u);  // the refusal

  v1::ForgetCustomerResponse response;
  grpc::Status status =
      Forget(ByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com"), &response,
             "ticket-4711");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.customer_id(), ann.customer_id());
  EXPECT_EQ(response.events_erased(), 4);
  EXPECT_EQ(response.identities_erased(), 3);
  EXPECT_EQ(response.aliases_erased(), 1);

  // Nothing of Ann is left in Redis: no identity, no event id, nothing under
  // either of her customer ids but the short-lived erasure marker. (Carl's
  // own events are his record: one of them carries the e-mail he mistyped.)
  const std::string dump = DumpRedis(absl::StrCat(carl_, "}:ev"));
  for (const char* trace :
       {"+442071838750", "ann@example.com", "ann-login", "ann-call-1",
        "ann-call-2", "ann-web-1", "ann-visit-1"}) {
    EXPECT_FALSE(absl::StrContains(dump, trace)) << trace << " in" << dump;
  }
  for (const std::string& key : AllKeys()) {
    if (absl::StrContains(key, ann.merged_customer_ids(0))) {
      ADD_FAILURE() << key;
    }
    if (absl::StrContains(key, ann.customer_id())) {
      EXPECT_EQ(key, absl::StrCat("omnihub:c:{", ann.customer_id(), "}:v"));
      EXPECT_EQ(HashOf(key), (std::vector<std::string>{"alias", "-"}));
      absl::StatusOr<redis::Reply> ttl = RedisCommand({"TTL", key});
      EXPECT_GT(ttl->integer, 0);
    }
  }
  // Carl is untouched but for the record of the refusal, which named Ann.
  EXPECT_TRUE(MergeLog(ById(carl_)).empty());
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_LOGIN_ID, "carl-login")
                .total_interactions(),
            2);
  EXPECT_EQ(Counter("omnihub_customers_forgotten_total"), 1);

  // A resend of her old events stores nothing.
  v1::IngestResponse replay = IngestOk(ann_events_);
  for (const IngestResult& result : replay.results()) {
    EXPECT_EQ(result.status(), IngestResult::STATUS_FORGOTTEN)
        << result.event_id();
  }
  EXPECT_EQ(DumpRedis(absl::StrCat(carl_, "}:ev")), dump);
  // A new event with her number starts a new customer.
  const std::string fresh = IngestOne(
      Event("new-call", v1::IDENTITY_KIND_PHONE, "+442071838750", kBase + 99));
  EXPECT_NE(fresh, ann.customer_id());
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838750")
                .total_interactions(),
            1);

  // Her old ids are gone for readers too.
  v1::GetCustomerResponse gone;
  EXPECT_EQ(GetCustomer(ById(ann.customer_id()), &gone).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // And asking again finds no one.
  EXPECT_EQ(Forget(ByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                   &response, "ticket-4711")
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(DataRightsTest, ExportHasEverythingStoredAsJson) {
  IngestAnn();
  v1::ExportCustomerRequest request;
  *request.mutable_customer() =
      ByIdentity(v1::IDENTITY_KIND_LOGIN_ID, "ann-login");
  request.set_requested_by("ticket-4712");
  v1::ExportCustomerResponse response;
  grpc::ClientContext context;
  grpc::Status status =
      customers_->ExportCustomer(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::CustomerExport exported;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(response.json(), &exported)
          .ok())
      << response.json();
  EXPECT_TRUE(absl::StrContains(response.json(), "\"merge_log\""));
  EXPECT_EQ(exported.customer().customer_id(), response.customer_id());
  EXPECT_EQ(exported.customer().total_interactions(), 4);
  EXPECT_EQ(exported.customer().identities_size(), 3);
  // All four events, oldest first; retention (3) trimmed the oldest to the
  // fields the store keeps of trimmed events.
  ASSERT_EQ(exported.events_size(), 4);
  EXPECT_EQ(exported.events(0).event_id(), "ann-call-1");
  EXPECT_EQ(exported.events(0).channel(), v1::CHANNEL_PHONE);
  EXPECT_EQ(exported.events(0).identities_size(), 0);
  EXPECT_EQ(exported.events(3).event_id(), "ann-visit-1");
  EXPECT_EQ(exported.events(3).identities_size(), 2);
  // The merge, and the refused merge with Carl.
  ASSERT_EQ(exported.merge_log_size(), 2);
  std::set<MergeRecord::Outcome> outcomes;
  for (const MergeRecord& record : exported.merge_log()) {
    outcomes.insert(record.outcome());
  }
  EXPECT_EQ(outcomes,
            (std::set<MergeRecord::Outcome>{MergeRecord::OUTCOME_MERGED,
                                            MergeRecord::OUTCOME_REFUSED}));
  EXPECT_EQ(Counter("omnihub_customers_exported_total"), 1);

  request.clear_requested_by();
  grpc::ClientContext again;
  EXPECT_EQ(customers_->ExportCustomer(&again, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace omnihub::testing

// User-defined segments against a real redis-server through the real gRPC
// service: time-relative segments entering and leaving by the clock alone,
// membership through upserts, merges and erasure compared with a
// from-scratch evaluation of every customer, a definition changed while
// events keep arriving, pagination stable while members come and go, and
// validation errors naming the field.
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/insights/store/customer_scan.h"
#include "services/insights/store/model_holder.h"
#include "services/insights/store/top_customers.h"
#include "services/segments/store/customer_facts.h"
#include "services/timeline/store_context.h"
#include "services/timeline/stored_event.h"
#include "tests/integration/segment_pages.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;

class SegmentsTest : public TimelineFixture {
 protected:
  void SetUp() override {
    {
      absl::MutexLock lock(&clock_mutex_);
      now_ = absl::FromUnixSeconds(1767268800);  // 2026-01-01 12:00 UTC
    }
    store_options_.clock = [this] {
      absl::MutexLock lock(&clock_mutex_);
      return now_;
    };
    segment_options_.size_interval = absl::ZeroDuration();
    TimelineFixture::SetUp();
  }

  absl::Time Now() {
    absl::MutexLock lock(&clock_mutex_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&clock_mutex_);
    now_ += by;
  }
  int64_t NowMicros() { return absl::ToUnixMicros(Now()); }

  static v1::SegmentCondition Condition(const std::string& text) {
    v1::SegmentCondition condition;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &condition))
        << text;
    return condition;
  }

  grpc::Status Create(const std::string& name, const std::string& condition,
                      v1::Segment* created = nullptr) {
    v1::CreateSegmentRequest request;
    request.mutable_segment()->set_name(name);
    *request.mutable_segment()->mutable_condition() = Condition(condition);
    v1::Segment response;
    grpc::ClientContext context;
    grpc::Status status =
        segments_->CreateSegment(&context, request, &response);
    if (created != nullptr) *created = response;
    return status;
  }

  // Ticks until every customer has been evaluated under the definitions.
  void EvaluateEveryone() {
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(segment_engine_->LoadDefinitions().ok());
      absl::StatusOr<bool> done = segment_engine_->Reevaluate(absl::Seconds(5));
      ASSERT_TRUE(done.ok()) << done.status();
      if (*done) return;
    }
    FAIL() << "the evaluation did not finish";
  }

  // Segment "picked" (customers with an e-mail address), ann (with one)
  // and bob (a phone only): ann is its one member.
  void PickAnnNotBob(std::string* ann, std::string* bob) {
    ASSERT_TRUE(
        Create("picked", "identity_kind { kind: IDENTITY_KIND_EMAIL }").ok());
    IngestOk(
        {Event("e1", v1::IDENTITY_KIND_EMAIL, "a@example.com", NowMicros()),
         Event("p1", v1::IDENTITY_KIND_PHONE, "+442071838750", NowMicros())});
    *ann = CustomerOf(v1::IDENTITY_KIND_EMAIL, "a@example.com");
    *bob = CustomerOf(v1::IDENTITY_KIND_PHONE, "+442071838750");
    ASSERT_EQ(Members("picked"), std::vector<std::string>{*ann});
  }

  std::vector<std::string> Members(const std::string& name,
                                   int page_size = 1000) {
    std::vector<std::string> ids;
    std::string token;
    do {
      const v1::ListSegmentMembersResponse response =
          MembersPage(*segments_, name, page_size, token);
      ids.insert(ids.end(), response.customer_ids().begin(),
                 response.customer_ids().end());
      token = response.next_page_token();
    } while (!token.empty());
    return ids;
  }

  v1::GetCustomerSegmentsResponse SegmentsOf(const std::string& customer_id) {
    v1::GetCustomerSegmentsRequest request;
    request.mutable_customer()->set_customer_id(customer_id);
    v1::GetCustomerSegmentsResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        segments_->GetCustomerSegments(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string CustomerOf(v1::IdentityKind kind, const std::string& value) {
    return CustomerByIdentity(kind, value).customer_id();
  }

  // Every live customer, and for every segment the customers its condition
  // holds for now, evaluated from scratch from their views.
  std::map<std::string, std::set<std::string>> FromScratch(
      std::set<std::string>* live = nullptr) {
    std::map<std::string, std::set<std::string>> expected;
    std::vector<v1::Segment> segments;
    {
      grpc::ClientContext context;
      v1::ListSegmentsResponse listed;
      EXPECT_TRUE(
          segments_->ListSegments(&context, v1::ListSegmentsRequest(), &listed)
              .ok());
      segments.assign(listed.segments().begin(), listed.segments().end());
    }
    for (const v1::Segment& segment : segments) expected[segment.name()];
    std::vector<std::string> ids;
    std::string cursor = "0";
    do {
      absl::StatusOr<insights::CustomerIdsStep> step =
          insights::ScanCustomerIds(store_->context(), engine_->keys(), cursor,
                                    1000);
      EXPECT_TRUE(step.ok());
      if (!step.ok()) break;
      ids.insert(ids.end(), step->ids.begin(), step->ids.end());
      cursor = step->cursor;
    } while (cursor != "0");
    for (const std::string& id : ids) {
      absl::StatusOr<redis::Reply> view = RedisCommand(
          {"HGETALL", store_->context().keys.ForCustomer(id).view});
      EXPECT_TRUE(view.ok());
      absl::StatusOr<segments::ViewFacts> facts =
          segments::FactsOfView(*view, segments::SourcesOf(*engine_), Now());
      EXPECT_TRUE(facts.ok());
      if (facts->gone) continue;
      if (live != nullptr) live->insert(id);
      for (const v1::Segment& segment : segments) {
        if (segments::Evaluate(segment.condition(), facts->facts, Now())
                .member) {
          expected[segment.name()].insert(id);
        }
      }
    }
    return expected;
  }

  // The member indexes, and each customer's own record of its segments,
  // agree with the from-scratch evaluation.
  void ExpectMembershipIsFromScratch() {
    std::set<std::string> live;
    const std::map<std::string, std::set<std::string>> expected =
        FromScratch(&live);
    std::map<std::string, std::set<std::string>> recorded;
    for (const auto& [name, members] : expected) {
      std::vector<std::string> listed = Members(name, 7);
      EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), members)
          << name;
      EXPECT_EQ(listed.size(), members.size()) << name << ": listed twice";
      for (const std::string& id : members) recorded[id].insert(name);
    }
    // Nothing of the segments stays on a customer that is gone.
    for (const std::string& key : AllKeys()) {
      if (!absl::EndsWith(key, "}:sg")) continue;
      const std::string id =
          key.substr(key.find('{') + 1, key.find('}') - key.find('{') - 1);
      EXPECT_TRUE(live.contains(id)) << key << " of a customer gone";
      absl::StatusOr<redis::Reply> fields = RedisCommand({"HKEYS", key});
      ASSERT_TRUE(fields.ok());
      std::set<std::string> names;
      for (const redis::Reply& field : fields->elements) {
        names.insert(field.str);
      }
      EXPECT_EQ(names, recorded[id]) << id;
      recorded.erase(id);
    }
    for (const auto& [id, names] : recorded) {
      EXPECT_TRUE(names.empty()) << id << " has no record of its segments";
    }
  }

  v1::CustomerInsights InsightsOf(const std::string& customer_id) {
    v1::GetCustomerInsightsRequest request;
    request.mutable_customer()->set_customer_id(customer_id);
    v1::CustomerInsights response;
    grpc::ClientContext context;
    grpc::Status status =
        insights_->GetCustomerInsights(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The customers of `ids` whose insights answer `holds`.
  std::vector<std::string> ByInsights(
      const std::vector<std::string>& ids,
      const std::function<bool(const v1::CustomerInsights&)>& holds) {
    std::vector<std::string> chosen;
    for (const std::string& id : ids) {
      if (holds(InsightsOf(id))) chosen.push_back(id);
    }
    std::sort(chosen.begin(), chosen.end());
    return chosen;
  }

  // A purchase of `micros` EUR by loyalty card `card` at noon of `day`.
  static v1::InteractionEvent Purchase(const std::string& event_id,
                                       const std::string& card, int64_t day,
                                       int64_t micros) {
    v1::InteractionEvent event =
        Event(event_id, v1::IDENTITY_KIND_LOYALTY_CARD, card,
              absl::ToUnixMicros(insights::StartOfDay(day) + absl::Hours(12)),
              v1::CHANNEL_WEB);
    event.set_kind(v1::INTERACTION_KIND_PURCHASE);
    event.mutable_value()->set_amount_micros(micros);
    event.mutable_value()->set_currency("EUR");
    return event;
  }

  // Twelve buyers: buyer i bought 1 + i % 5 times, two days apart, the last
  // time i * 3 days ago. Their ids.
  std::vector<std::string> TwelveBuyers() {
    const int64_t today = insights::DayOf(Now());
    std::vector<v1::InteractionEvent> events;
    for (int i = 0; i < 12; ++i) {
      for (int k = 0; k <= i % 5; ++k) {
        events.push_back(Purchase(absl::StrCat("b", i, "-", k),
                                  absl::StrCat("card-", i),
                                  today - i * 3 - k * 2, (10 + i) * 1000000LL));
      }
    }
    IngestOk(events);
    std::vector<std::string> ids;
    for (int i = 0; i < 12; ++i) {
      ids.push_back(
          CustomerOf(v1::IDENTITY_KIND_LOYALTY_CARD, absl::StrCat("card-", i)));
    }
    return ids;
  }

  // A customer's record of its segments and its entries and exits.
  std::string RecordOf(const std::string& id) {
    std::string text;
    for (std::vector<std::string> read :
         {std::vector<std::string>{
              "HGETALL", segment_engine_->keys().CustomerSegments(id)},
          std::vector<std::string>{
              "LRANGE", segment_engine_->keys().CustomerLog(id), "0", "-1"}}) {
      absl::StatusOr<redis::Reply> reply = RedisCommand(read);
      EXPECT_TRUE(reply.ok());
      if (!reply.ok()) continue;
      for (const redis::Reply& element : reply->elements) {
        absl::StrAppend(&text, element.str, ";");
      }
      text += "\n";
    }
    return text;
  }

  // omnihub_segment_membership_changes_total by "trigger/change", e.g.
  // "deadline/exit".
  std::map<std::string, double> Changes() {
    std::map<std::string, double> changes;
    for (const prometheus::MetricFamily& family : registry_->Collect()) {
      if (family.name != "omnihub_segment_membership_changes_total") continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        std::string trigger, change;
        for (const prometheus::ClientMetric::Label& label : metric.label) {
          (label.name == "trigger" ? trigger : change) = label.value;
        }
        changes[absl::StrCat(trigger, "/", change)] = metric.counter.value;
      }
    }
    return changes;
  }

  // How often Redis ran each command so far (INFO commandstats; one
  // redis-server).
  std::map<std::string, int64_t> CommandCalls() {
    absl::StatusOr<redis::Reply> info = RedisCommand({"INFO", "commandstats"});
    EXPECT_TRUE(info.ok());
    std::map<std::string, int64_t> calls;
    if (!info.ok()) return calls;
    for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
      // cmdstat_zadd:calls=3,usec=...
      if (!absl::ConsumePrefix(&line, "cmdstat_")) continue;
      const size_t colon = line.find(":calls=");
      if (colon == absl::string_view::npos) continue;
      absl::string_view count = line.substr(colon + 7);
      count = count.substr(0, count.find(','));
      int64_t n = 0;
      if (absl::SimpleAtoi(count, &n))
        calls[std::string(line.substr(0, colon))] = n;
    }
    return calls;
  }
  // What Redis ran since `before`, of `commands`.
  std::map<std::string, int64_t> CallsSince(
      const std::map<std::string, int64_t>& before,
      const std::vector<std::string>& commands) {
    const std::map<std::string, int64_t> now = CommandCalls();
    std::map<std::string, int64_t> delta;
    for (const std::string& command : commands) {
      const auto was = before.find(command);
      const auto is = now.find(command);
      delta[command] = (is == now.end() ? 0 : is->second) -
                       (was == before.end() ? 0 : was->second);
    }
    return delta;
  }

  // Installs a purchase model as if a fit had stored it.
  void InstallModel(double b, int64_t fitted_at_seconds) {
    v1::PurchaseModel model;
    model.set_r(0.243);
    model.set_alpha(4.414);
    model.set_a(0.793);
    model.set_b(b);
    model.set_time_unit_days(7);
    v1::SpendModel* spend = model.add_spend_models();
    spend->set_currency("EUR");
    spend->set_p(6.25);
    spend->set_q(3.74);
    spend->set_gamma(15.44);
    model.mutable_fitted_at()->set_seconds(fitted_at_seconds);
    ASSERT_TRUE(
        insights::SaveModel(*store_redis_, engine_->keys().Model(), model)
            .ok());
    ASSERT_TRUE(engine_->LoadModel().ok());
  }

  absl::Mutex clock_mutex_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mutex_);
};

TEST_F(SegmentsTest, TimeRelativeSegmentsEnterAndLeaveWithTheClockAlone) {
  ASSERT_TRUE(
      Create("web-quiet-30", R"pb(
        all {
          conditions { channel_count { channel: CHANNEL_WEB at_least: 1 } }
          conditions {
            last_interaction { channel: CHANNEL_WEB not_within_days: 30 }
          }
        })pb")
          .ok());
  ASSERT_TRUE(Create("recent-7", "last_interaction { within_days: 7 }").ok());
  const int64_t visit = NowMicros();
  IngestOk({Event("w1", v1::IDENTITY_KIND_EMAIL, "ann@example.com", visit,
                  v1::CHANNEL_WEB)});
  const std::string ann =
      CustomerOf(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  EXPECT_EQ(Members("web-quiet-30"), std::vector<std::string>{});
  EXPECT_EQ(Members("recent-7"), std::vector<std::string>{ann});

  // Seven days to the microsecond: out of recent-7, with no event.
  Advance(absl::Hours(24 * 7) - absl::Microseconds(1));
  ASSERT_TRUE(segment_engine_->Tick().ok());
  EXPECT_EQ(Members("recent-7"), std::vector<std::string>{ann});
  Advance(absl::Microseconds(1));
  ASSERT_TRUE(segment_engine_->Tick().ok());
  EXPECT_EQ(Members("recent-7"), std::vector<std::string>{});

  // Thirty days: into web-quiet-30, recorded at that moment.
  Advance(absl::Hours(24 * 23) - absl::Seconds(1));
  ASSERT_TRUE(segment_engine_->Tick().ok());
  EXPECT_EQ(Members("web-quiet-30"), std::vector<std::string>{});
  Advance(absl::Seconds(1));
  ASSERT_TRUE(segment_engine_->Tick().ok());
  EXPECT_EQ(Members("web-quiet-30"), std::vector<std::string>{ann});
  v1::GetCustomerSegmentsResponse segments = SegmentsOf(ann);
  ASSERT_EQ(segments.memberships_size(), 1);
  EXPECT_EQ(segments.memberships(0).segment(), "web-quiet-30");
  EXPECT_EQ(timeline::ToMicros(segments.memberships(0).since()),
            visit + 30 * kMicrosPerDay);
  ASSERT_GE(segments.changes_size(), 3);
  EXPECT_EQ(segments.changes(0).segment(), "web-quiet-30");
  EXPECT_TRUE(segments.changes(0).entered());
  EXPECT_EQ(segments.changes(1).segment(), "recent-7");
  EXPECT_FALSE(segments.changes(1).entered());
  EXPECT_EQ(timeline::ToMicros(segments.changes(1).at()),
            visit + 7 * kMicrosPerDay);

  // A visit brings it back into recent-7 and out of web-quiet-30 at once.
  IngestOk({Event("w2", v1::IDENTITY_KIND_EMAIL, "ann@example.com", NowMicros(),
                  v1::CHANNEL_WEB)});
  EXPECT_EQ(Members("web-quiet-30"), std::vector<std::string>{});
  EXPECT_EQ(Members("recent-7"), std::vector<std::string>{ann});
  ExpectMembershipIsFromScratch();
  // Each entry and exit counted once, under what brought it.
  const std::map<std::string, double> expected = {
      {"event/entry", 2},   {"event/exit", 1}, {"deadline/entry", 1},
      {"deadline/exit", 1}, {"pass/entry", 0}, {"pass/exit", 0}};
  EXPECT_EQ(Changes(), expected);
}

TEST_F(SegmentsTest, MembershipThroughUpsertsMergesAndErasureIsFromScratch) {
  ASSERT_TRUE(Create("phone-twice",
                     "channel_count { channel: CHANNEL_PHONE at_least: 2 }")
                  .ok());
  ASSERT_TRUE(Create("eur-spender",
                     R"pb(total_value {
                            at_least { amount_micros: 10000000 currency: "EUR" }
                          })pb")
                  .ok());
  ASSERT_TRUE(
      Create("no-email",
             R"pb(all {
                    conditions {
                      negated { identity_kind { kind: IDENTITY_KIND_EMAIL } }
                    }
                    conditions { last_interaction { within_days: 3 } }
                  })pb")
          .ok());
  const int64_t t = NowMicros() - 3600LL * 1000000;
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 12; ++i) {
    const std::string phone = absl::StrCat("+4420718387", 10 + i);
    for (int n = 0; n <= i % 3; ++n) {
      events.push_back(Event(absl::StrCat("call-", i, "-", n),
                             v1::IDENTITY_KIND_PHONE, phone, t + n));
    }
    if (i % 2 == 0) {
      v1::InteractionEvent purchase =
          Event(absl::StrCat("buy-", i), v1::IDENTITY_KIND_EMAIL,
                absl::StrCat("p", i, "@example.com"), t, v1::CHANNEL_WEB);
      purchase.set_kind(v1::INTERACTION_KIND_PURCHASE);
      purchase.mutable_value()->set_amount_micros(6000000 * (1 + i % 3));
      purchase.mutable_value()->set_currency("EUR");
      events.push_back(purchase);
    }
  }
  IngestOk(events);
  ExpectMembershipIsFromScratch();

  // Upserts: a call becomes a web visit (out of phone-twice), a purchase
  // grows (into eur-spender).
  v1::InteractionEvent moved = Event("call-2-1", v1::IDENTITY_KIND_PHONE,
                                     "+442071838712", t + 1, v1::CHANNEL_WEB);
  moved.set_revision(2);
  v1::InteractionEvent grown = Event("buy-0", v1::IDENTITY_KIND_EMAIL,
                                     "p0@example.com", t, v1::CHANNEL_WEB);
  grown.set_kind(v1::INTERACTION_KIND_PURCHASE);
  grown.mutable_value()->set_amount_micros(20000000);
  grown.mutable_value()->set_currency("EUR");
  grown.set_revision(2);
  IngestOk({moved, grown});
  ExpectMembershipIsFromScratch();

  // Merges: phone 11 and e-mail p4 prove one person; phone 5 and phone 8
  // too.
  const std::string merged_away =
      CustomerOf(v1::IDENTITY_KIND_EMAIL, "p4@example.com");
  v1::InteractionEvent link =
      Event("link-1", v1::IDENTITY_KIND_PHONE, "+442071838721", t + 5);
  *link.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL, "p4@example.com");
  v1::InteractionEvent link2 =
      Event("link-2", v1::IDENTITY_KIND_PHONE, "+442071838715", t + 6);
  *link2.add_identities() = Identity(v1::IDENTITY_KIND_PHONE, "+442071838718");
  IngestOk({link});
  IngestOk({link2});
  EXPECT_NE(CustomerOf(v1::IDENTITY_KIND_EMAIL, "p4@example.com"),
            CustomerOf(v1::IDENTITY_KIND_EMAIL, "p2@example.com"));
  ExpectMembershipIsFromScratch();

  // Erasure.
  ForgetOk(ByIdentity(v1::IDENTITY_KIND_PHONE, "+442071838711"),
           "dpo@example.com");
  ExpectMembershipIsFromScratch();
  (void)merged_away;

  // Time moves on: no-email empties by the deadlines alone.
  EXPECT_FALSE(Members("no-email").empty());
  Advance(absl::Hours(24 * 3));
  ASSERT_TRUE(segment_engine_->Tick().ok());
  EXPECT_TRUE(Members("no-email").empty());
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, DefinitionChangedWhileEventsArrive) {
  const int64_t t = NowMicros() - 1000000;
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 60; ++i) {
    for (int n = 0; n <= i % 4; ++n) {
      events.push_back(Event(absl::StrCat("c", i, "-", n),
                             v1::IDENTITY_KIND_PHONE,
                             absl::StrCat("+4420718380", 10 + i), t + n));
    }
  }
  IngestOk(events);
  ASSERT_TRUE(Create("calls", "channel_count { at_least: 2 }").ok());
  EvaluateEveryone();
  ExpectMembershipIsFromScratch();

  std::atomic<bool> stop{false};
  std::thread sender([&] {
    for (int round = 0; !stop; ++round) {
      IngestOk({Event(absl::StrCat("more-", round), v1::IDENTITY_KIND_PHONE,
                      absl::StrCat("+4420718380", 10 + round % 60),
                      t + 100 + round)});
    }
  });
  v1::UpdateSegmentRequest update;
  update.mutable_segment()->set_name("calls");
  *update.mutable_segment()->mutable_condition() =
      Condition("channel_count { at_least: 4 }");
  update.set_expected_version(1);
  v1::Segment updated;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(segments_->UpdateSegment(&context, update, &updated).ok());
  }
  EXPECT_EQ(updated.version(), 2);
  EXPECT_FALSE(updated.reevaluation().complete());
  // Before and while the evaluation runs, no answer is the old version's.
  for (int i = 0; i < 60; i += 7) {
    const std::string id = CustomerOf(v1::IDENTITY_KIND_PHONE,
                                      absl::StrCat("+4420718380", 10 + i));
    const v1::GetCustomerSegmentsResponse segments = SegmentsOf(id);
    for (const auto& membership : segments.memberships()) {
      EXPECT_EQ(membership.version(), 2);
    }
  }
  EXPECT_EQ(MembersPage(*segments_, "calls", 0, "").version(), 2);
  EvaluateEveryone();
  stop = true;
  sender.join();
  {
    grpc::ClientContext context;
    v1::GetSegmentRequest get;
    get.set_name("calls");
    v1::Segment segment;
    ASSERT_TRUE(segments_->GetSegment(&context, get, &segment).ok());
    EXPECT_TRUE(segment.reevaluation().complete());
    EXPECT_GE(segment.reevaluation().customers_evaluated(), 60);
  }
  ExpectMembershipIsFromScratch();
  // The old version's index is gone.
  for (const std::string& key : AllKeys()) {
    EXPECT_FALSE(absl::EndsWith(key, ":m:calls:1")) << key;
  }
}

TEST_F(SegmentsTest, PaginationStaysCorrectWhileMembersComeAndGo) {
  ASSERT_TRUE(
      Create("callers", "channel_count { channel: CHANNEL_PHONE at_least: 1 }")
          .ok());
  const int64_t t = NowMicros() - 1000000;
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 200; ++i) {
    events.push_back(Event(absl::StrCat("p", i), v1::IDENTITY_KIND_PHONE,
                           absl::StrCat("+44207183", 1000 + i), t));
  }
  IngestOk(events);
  std::vector<std::string> before = Members("callers");
  ASSERT_EQ(before.size(), 200u);
  std::set<std::string> leaving;
  std::vector<std::string> listed;
  std::string token;
  int round = 0;
  do {
    const v1::ListSegmentMembersResponse response =
        MembersPage(*segments_, "callers", 23, token);
    listed.insert(listed.end(), response.customer_ids().begin(),
                  response.customer_ids().end());
    token = response.next_page_token();
    // Between pages: five customers leave (their call becomes a web visit)
    // and five new ones come.
    std::vector<v1::InteractionEvent> changes;
    for (int k = 0; k < 5; ++k) {
      const int i = (round * 37 + k * 11) % 200;
      v1::InteractionEvent moved =
          Event(absl::StrCat("p", i), v1::IDENTITY_KIND_PHONE,
                absl::StrCat("+44207183", 1000 + i), t, v1::CHANNEL_WEB);
      moved.set_revision(2 + round);
      changes.push_back(moved);
      leaving.insert(absl::StrCat("+44207183", 1000 + i));
      changes.push_back(
          Event(absl::StrCat("new", round, "-", k), v1::IDENTITY_KIND_PHONE,
                absl::StrCat("+44207184", round * 5 + k + 100), t));
    }
    IngestOk(changes);
    ++round;
  } while (!token.empty());
  std::set<std::string> left;
  for (const std::string& phone : leaving) {
    left.insert(CustomerOf(v1::IDENTITY_KIND_PHONE, phone));
  }
  // Ascending, no one twice, and everyone who stayed throughout listed.
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(),
            listed.size());
  const std::set<std::string> seen(listed.begin(), listed.end());
  for (const std::string& id : before) {
    if (!left.contains(id)) {
      EXPECT_TRUE(seen.contains(id)) << id;
    }
  }
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, BadDefinitionsAreRefusedNamingTheField) {
  v1::Segment created;
  grpc::Status status = Create("big-spenders", R"pb(
    any {
      conditions { identity_kind { kind: IDENTITY_KIND_EMAIL } }
      conditions { total_value { at_least { amount_micros: 5000000 } } }
    })pb");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "segment.condition.any.conditions[1].total_value.at_least."
            "currency: an amount needs its currency (ISO 4217, e.g. \"EUR\")");
  status =
      Create("Big Spenders", "identity_kind { kind: IDENTITY_KIND_EMAIL }");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "segment.name: "))
      << status.error_message();
  // A field this server does not know, as a newer client would send it.
  v1::CreateSegmentRequest request;
  request.mutable_segment()->set_name("future");
  v1::IdentityKindCondition* leaf =
      request.mutable_segment()->mutable_condition()->mutable_identity_kind();
  leaf->set_kind(v1::IDENTITY_KIND_EMAIL);
  leaf->GetReflection()->MutableUnknownFields(leaf)->AddVarint(9, 1);
  v1::Segment response;
  grpc::ClientContext context;
  status = segments_->CreateSegment(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "segment.condition.identity_kind: has a field this server does "
            "not know (number 9)");
  // Nothing was defined; a good one is, once.
  EXPECT_EQ(
      Create("emails", "identity_kind { kind: IDENTITY_KIND_EMAIL }", &created)
          .error_code(),
      grpc::StatusCode::OK);
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(Create("emails", "identity_kind { kind: IDENTITY_KIND_EMAIL }")
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(SegmentsTest, ASegmentDeletedAndDefinedAgainStartsAfresh) {
  std::string ann, bob;
  ASSERT_NO_FATAL_FAILURE(PickAnnNotBob(&ann, &bob));
  {
    v1::DeleteSegmentRequest request;
    request.set_name("picked");
    v1::DeleteSegmentResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(segments_->DeleteSegment(&context, request, &response).ok());
  }
  v1::Segment again;
  ASSERT_TRUE(
      Create("picked", "identity_kind { kind: IDENTITY_KIND_PHONE }", &again)
          .ok());
  EXPECT_EQ(again.version(), 2);
  EvaluateEveryone();
  EXPECT_EQ(Members("picked"), std::vector<std::string>{bob});
  EXPECT_TRUE(SegmentsOf(ann).memberships().empty());
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, MemberPagesReadTheStoredVersionAndRefuseBadRequests) {
  std::string ann, bob;
  ASSERT_NO_FATAL_FAILURE(PickAnnNotBob(&ann, &bob));

  // Another replica changes the definition; this one has not loaded it yet,
  // and its pages follow the stored version all the same.
  segments::SegmentEngine other(&store_->context(), engine_.get(),
                                segment_options_, nullptr);
  ASSERT_TRUE(other.LoadDefinitions().ok());
  v1::Segment changed;
  changed.set_name("picked");
  *changed.mutable_condition() =
      Condition("identity_kind { kind: IDENTITY_KIND_PHONE }");
  ASSERT_TRUE(other.Update(changed, 1).ok());
  const v1::ListSegmentMembersResponse page =
      MembersPage(*segments_, "picked", 0, "");
  EXPECT_EQ(page.version(), 2);
  EXPECT_FALSE(page.complete());
  EvaluateEveryone();
  EXPECT_EQ(Members("picked"), std::vector<std::string>{bob});

  struct Refused {
    std::string name;
    int page_size;
    std::string token;
    grpc::StatusCode code;
    std::string says;
  };
  for (const Refused& refused : std::vector<Refused>{
           {"picked", -1, "", grpc::StatusCode::INVALID_ARGUMENT, "page_size"},
           {"picked", 1001, "", grpc::StatusCode::INVALID_ARGUMENT,
            "page_size"},
           {"Picked!", 10, "", grpc::StatusCode::INVALID_ARGUMENT, "name"},
           {"picked", 10, "not a token", grpc::StatusCode::INVALID_ARGUMENT,
            "page_token"},
           {"nobody", 10, "", grpc::StatusCode::NOT_FOUND, "nobody"}}) {
    SCOPED_TRACE(refused.says);
    v1::ListSegmentMembersRequest request;
    request.set_name(refused.name);
    request.set_page_size(refused.page_size);
    request.set_page_token(refused.token);
    v1::ListSegmentMembersResponse response;
    grpc::ClientContext context;
    const grpc::Status status =
        segments_->ListSegmentMembers(&context, request, &response);
    EXPECT_EQ(status.error_code(), refused.code);
    EXPECT_TRUE(absl::StrContains(status.error_message(), refused.says))
        << status.error_message();
    EXPECT_EQ(response.customer_ids_size(), 0);
  }
}

TEST_F(SegmentsTest, SizesNowAndByDayAndAsAGauge) {
  ASSERT_TRUE(
      Create("emails", "identity_kind { kind: IDENTITY_KIND_EMAIL }").ok());
  IngestOk(
      {Event("e1", v1::IDENTITY_KIND_EMAIL, "a@example.com", NowMicros()),
       Event("e2", v1::IDENTITY_KIND_EMAIL, "b@example.com", NowMicros())});
  ASSERT_TRUE(segment_engine_->CountSizes().ok());
  Advance(absl::Hours(24));
  IngestOk(
      {Event("e3", v1::IDENTITY_KIND_EMAIL, "c@example.com", NowMicros())});
  ASSERT_TRUE(segment_engine_->CountSizes().ok());
  v1::GetSegmentSizesRequest request;
  request.set_name("emails");
  request.set_days(7);
  v1::GetSegmentSizesResponse sizes;
  grpc::ClientContext context;
  ASSERT_TRUE(segments_->GetSegmentSizes(&context, request, &sizes).ok());
  EXPECT_EQ(sizes.size(), 3);
  ASSERT_EQ(sizes.history_size(), 2);
  EXPECT_EQ(sizes.history(0).size(), 2);
  EXPECT_EQ(sizes.history(1).size(), 3);
  double gauge = -1;
  for (const prometheus::MetricFamily& family : registry_->Collect()) {
    if (family.name != "omnihub_segment_members") continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      if (metric.label.size() == 1 && metric.label[0].value == "emails") {
        gauge = metric.gauge.value;
      }
    }
  }
  EXPECT_EQ(gauge, 3);
}

TEST_F(SegmentsTest, RfmSegmentFollowsTheClockAndTheBoundaries) {
  const std::vector<std::string> buyers = TwelveBuyers();
  ASSERT_TRUE(engine_->RunPopulationPass().ok());
  ASSERT_TRUE(Create("best", R"pb(rfm_segment {
                                    segments: RFM_SEGMENT_CHAMPIONS
                                    segments: RFM_SEGMENT_LOYAL
                                  })pb")
                  .ok());
  ASSERT_TRUE(Create("slipping", R"pb(rfm_segment {
                                        segments: RFM_SEGMENT_AT_RISK
                                        segments: RFM_SEGMENT_CANT_LOSE
                                      })pb")
                  .ok());
  EvaluateEveryone();
  auto in = [](std::set<v1::RfmSegment> segments) {
    return [segments](const v1::CustomerInsights& insights) {
      return insights.has_rfm() && segments.contains(insights.rfm().segment());
    };
  };
  const auto best = in({v1::RFM_SEGMENT_CHAMPIONS, v1::RFM_SEGMENT_LOYAL});
  const auto slipping =
      in({v1::RFM_SEGMENT_AT_RISK, v1::RFM_SEGMENT_CANT_LOSE});
  const std::vector<std::string> best_at_first = Members("best");
  EXPECT_FALSE(best_at_first.empty());
  EXPECT_EQ(best_at_first, ByInsights(buyers, best));
  // Day by day with no event: the deadlines alone keep both segments equal
  // to what the insights say.
  std::set<std::string> ever_slipping;
  for (int day = 1; day <= 45; ++day) {
    Advance(absl::Hours(24));
    ASSERT_TRUE(segment_engine_->Tick().ok());
    ASSERT_EQ(Members("best"), ByInsights(buyers, best)) << "day " << day;
    const std::vector<std::string> now_slipping = Members("slipping");
    ASSERT_EQ(now_slipping, ByInsights(buyers, slipping)) << "day " << day;
    ever_slipping.insert(now_slipping.begin(), now_slipping.end());
  }
  EXPECT_NE(Members("best"), best_at_first);
  EXPECT_FALSE(ever_slipping.empty());
  // New boundaries, measured to today: every customer is evaluated again.
  ASSERT_TRUE(engine_->RunPopulationPass().ok());
  EvaluateEveryone();
  EXPECT_EQ(Members("best"), ByInsights(buyers, best));
  EXPECT_EQ(Members("best"), best_at_first);
  EXPECT_EQ(Members("slipping"), ByInsights(buyers, slipping));
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, ModelConditionsFollowTheClockAndANewModel) {
  const std::vector<std::string> buyers = TwelveBuyers();
  InstallModel(2.426, 1767000000);
  // Between the lowest and the highest predicted value of the buyers today.
  std::vector<int64_t> values;
  for (const std::string& id : buyers) {
    const v1::CustomerInsights insights = InsightsOf(id);
    ASSERT_EQ(insights.value_size(), 1) << insights.model_unavailable();
    values.push_back(insights.value(0).lifetime_value().amount_micros());
  }
  std::sort(values.begin(), values.end());
  const int64_t threshold = values[values.size() / 2];
  ASSERT_TRUE(Create("fading", "probability_active { below: 0.6 }").ok());
  v1::SegmentCondition valuable =
      Condition(R"pb(predicted_value { at_least { currency: "EUR" } })pb");
  valuable.mutable_predicted_value()->mutable_at_least()->set_amount_micros(
      threshold);
  {
    v1::CreateSegmentRequest request;
    request.mutable_segment()->set_name("valuable");
    *request.mutable_segment()->mutable_condition() = valuable;
    v1::Segment response;
    grpc::ClientContext context;
    ASSERT_TRUE(segments_->CreateSegment(&context, request, &response).ok());
  }
  EvaluateEveryone();
  const auto fading = [](const v1::CustomerInsights& insights) {
    return insights.has_probability_alive() &&
           insights.probability_alive() < 0.6;
  };
  const auto worth = [threshold](const v1::CustomerInsights& insights) {
    return insights.value_size() == 1 &&
           insights.value(0).lifetime_value().amount_micros() >= threshold;
  };
  const std::vector<std::string> fading_at_first = Members("fading");
  const std::vector<std::string> valuable_at_first = Members("valuable");
  EXPECT_EQ(fading_at_first, ByInsights(buyers, fading));
  EXPECT_EQ(valuable_at_first, ByInsights(buyers, worth));
  for (int day = 1; day <= 40; ++day) {
    Advance(absl::Hours(24));
    ASSERT_TRUE(segment_engine_->Tick().ok());
    ASSERT_EQ(Members("fading"), ByInsights(buyers, fading)) << "day " << day;
    ASSERT_EQ(Members("valuable"), ByInsights(buyers, worth)) << "day " << day;
  }
  EXPECT_NE(Members("fading"), fading_at_first);
  EXPECT_NE(Members("valuable"), valuable_at_first);
  // A new model (customers drop out far less): every customer evaluated
  // again.
  const std::vector<std::string> fading_before = Members("fading");
  InstallModel(60, 1767100000);
  EvaluateEveryone();
  EXPECT_EQ(Members("fading"), ByInsights(buyers, fading));
  EXPECT_NE(Members("fading"), fading_before);
  EXPECT_EQ(Members("valuable"), ByInsights(buyers, worth));
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, EventKindsThroughUpsertsMergesAndErasure) {
  ASSERT_TRUE(Create("bought-twice",
                     "event_kind { kind: INTERACTION_KIND_PURCHASE "
                     "at_least: 2 }")
                  .ok());
  ASSERT_TRUE(Create("never-called",
                     "event_kind { kind: INTERACTION_KIND_INBOUND_CALL "
                     "at_most: 0 }")
                  .ok());
  const int64_t today = insights::DayOf(Now());
  v1::InteractionEvent call = Event("c-call", v1::IDENTITY_KIND_PHONE,
                                    "+442071838760", NowMicros() - 1000);
  IngestOk({Purchase("a1", "card-a", today - 3, 5000000),
            Purchase("a2", "card-a", today - 2, 5000000),
            Purchase("b1", "card-b", today - 3, 5000000),
            Purchase("c1", "card-c", today - 1, 5000000), call});
  const std::string ann = CustomerOf(v1::IDENTITY_KIND_LOYALTY_CARD, "card-a");
  const std::string bob = CustomerOf(v1::IDENTITY_KIND_LOYALTY_CARD, "card-b");
  const std::string cal = CustomerOf(v1::IDENTITY_KIND_PHONE, "+442071838760");
  auto kinds_of = [&](const std::string& id) {
    absl::StatusOr<redis::Reply> view =
        RedisCommand({"HGETALL", store_->context().keys.ForCustomer(id).view});
    EXPECT_TRUE(view.ok());
    std::map<std::string, std::string> kinds;
    for (size_t i = 0; view.ok() && i + 1 < view->elements.size(); i += 2) {
      if (absl::StartsWith(view->elements[i].str, "k:") &&
          view->elements[i + 1].str != "0") {
        kinds[view->elements[i].str] = view->elements[i + 1].str;
      }
    }
    return kinds;
  };
  EXPECT_EQ(Members("bought-twice"), std::vector<std::string>{ann});
  EXPECT_EQ(kinds_of(ann), (std::map<std::string, std::string>{{"k:30", "2"}}));
  ExpectMembershipIsFromScratch();

  // An upsert turns one of ann's purchases into a page view: out.
  v1::InteractionEvent viewed =
      Event("a2", v1::IDENTITY_KIND_LOYALTY_CARD, "card-a", NowMicros() - 5000,
            v1::CHANNEL_WEB);
  viewed.set_revision(2);
  IngestOk({viewed});
  EXPECT_EQ(Members("bought-twice"), std::vector<std::string>{});
  EXPECT_EQ(kinds_of(ann),
            (std::map<std::string, std::string>{{"k:10", "1"}, {"k:30", "1"}}));
  ExpectMembershipIsFromScratch();

  // The caller is card-b's and card-c's holder: one customer with two
  // purchases and the call.
  v1::InteractionEvent link = Event("link-bc", v1::IDENTITY_KIND_PHONE,
                                    "+442071838760", NowMicros() - 500);
  *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "card-b");
  *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "card-c");
  IngestOk({link});
  const std::string merged =
      CustomerOf(v1::IDENTITY_KIND_PHONE, "+442071838760");
  EXPECT_EQ(CustomerOf(v1::IDENTITY_KIND_LOYALTY_CARD, "card-b"), merged);
  EXPECT_EQ(CustomerOf(v1::IDENTITY_KIND_LOYALTY_CARD, "card-c"), merged);
  EXPECT_EQ(Members("bought-twice"), std::vector<std::string>{merged});
  EXPECT_EQ(kinds_of(merged),
            (std::map<std::string, std::string>{{"k:1", "2"}, {"k:30", "2"}}));
  EXPECT_FALSE(absl::c_linear_search(Members("never-called"), merged));
  EXPECT_TRUE(absl::c_linear_search(Members("never-called"), ann));
  ExpectMembershipIsFromScratch();
  (void)bob;
  (void)cal;

  // Erasure takes it out of every segment.
  ForgetOk(ByIdentity(v1::IDENTITY_KIND_LOYALTY_CARD, "card-b"),
           "dpo@example.com");
  EXPECT_EQ(Members("bought-twice"), std::vector<std::string>{});
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, BadInsightsAndKindConditionsAreRefusedNamingTheField) {
  auto message_of = [&](const std::string& condition) {
    grpc::Status status = Create("bad", condition);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << condition;
    return status.error_message();
  };
  EXPECT_EQ(message_of("probability_active { at_least: 2 }"),
            "segment.condition.probability_active.at_least: must be 0 to 1 "
            "(a probability), not 2");
  EXPECT_EQ(message_of("predicted_value { at_least { amount_micros: 1 } }"),
            "segment.condition.predicted_value.at_least.currency: an amount "
            "needs its currency (ISO 4217, e.g. \"EUR\")");
  EXPECT_EQ(message_of("rfm_segment { segments: RFM_SEGMENT_UNSPECIFIED }"),
            "segment.condition.rfm_segment.segments[0]: 0 is not an RFM "
            "segment");
  EXPECT_EQ(message_of("event_kind { at_least: 1 }"),
            "segment.condition.event_kind.kind: 0 is not an interaction kind");
}

TEST_F(SegmentsTest, MembershipsArePartOfTheInsightsAnswer) {
  ASSERT_TRUE(
      Create("emails", "identity_kind { kind: IDENTITY_KIND_EMAIL }").ok());
  ASSERT_TRUE(Create("buyers",
                     "event_kind { kind: INTERACTION_KIND_PURCHASE "
                     "at_least: 1 }")
                  .ok());
  ASSERT_TRUE(
      Create("callers", "channel_count { channel: CHANNEL_PHONE at_least: 1 }")
          .ok());
  v1::InteractionEvent bought =
      Purchase("p1", "card-1", insights::DayOf(Now()) - 1, 3000000);
  *bought.add_identities() =
      Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  IngestOk({bought});
  const std::string ann =
      CustomerOf(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  const v1::GetCustomerSegmentsResponse segments = SegmentsOf(ann);
  ASSERT_EQ(segments.memberships_size(), 2);
  const v1::CustomerInsights insights = InsightsOf(ann);
  ASSERT_EQ(insights.segments_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(insights.segments(i).segment(),
              segments.memberships(i).segment());
    EXPECT_EQ(insights.segments(i).version(),
              segments.memberships(i).version());
    EXPECT_EQ(timeline::ToMicros(insights.segments(i).since()),
              timeline::ToMicros(segments.memberships(i).since()));
    EXPECT_GT(timeline::ToMicros(insights.segments(i).since()), 0);
  }
  EXPECT_EQ(insights.segments(0).segment(), "buyers");
  EXPECT_EQ(insights.segments(1).segment(), "emails");
}

TEST_F(SegmentsTest, TopCustomersWithinASegment) {
  ASSERT_TRUE(
      Create("callers", "channel_count { channel: CHANNEL_PHONE at_least: 1 }")
          .ok());
  const int64_t today = insights::DayOf(Now());
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 30; ++i) {
    v1::InteractionEvent purchase =
        Purchase(absl::StrCat("t", i), absl::StrCat("card-", i), today - 1,
                 (1 + (i * 7) % 30) * 1000000LL);
    events.push_back(purchase);
    if (i % 3 == 0) {
      v1::InteractionEvent call =
          Event(absl::StrCat("call-", i), v1::IDENTITY_KIND_LOYALTY_CARD,
                absl::StrCat("card-", i), NowMicros() - 1000);
      events.push_back(call);
    }
  }
  IngestOk(events);
  const std::vector<std::string> callers = Members("callers");
  ASSERT_EQ(callers.size(), 10u);
  auto pages = [&](const std::string& segment, int limit) {
    std::vector<v1::TopCustomer> all;
    v1::ListTopCustomersRequest request;
    request.set_currency("EUR");
    request.set_limit(limit);
    request.set_segment(segment);
    for (int page = 0; page < 100; ++page) {
      v1::ListTopCustomersResponse response;
      grpc::ClientContext context;
      grpc::Status status =
          insights_->ListTopCustomers(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      EXPECT_LE(response.customers_size(), limit);
      all.insert(all.end(), response.customers().begin(),
                 response.customers().end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return all;
  };
  // The whole ranking, filtered by membership, in its order.
  std::vector<std::string> expected;
  for (const v1::TopCustomer& top : pages("", 1000)) {
    if (absl::c_linear_search(callers, top.customer_id())) {
      expected.push_back(top.customer_id());
    }
  }
  ASSERT_EQ(expected.size(), 10u);
  std::vector<std::string> listed;
  for (const v1::TopCustomer& top : pages("callers", 4)) {
    listed.push_back(top.customer_id());
  }
  EXPECT_EQ(listed, expected);

  // Looking at five entries at most per page: pages hold fewer, and
  // together the same customers in the same order.
  std::vector<std::string> bounded;
  insights::TopCustomersQuery query;
  query.currency = "EUR";
  query.limit = 4;
  for (int page = 0; page < 100; ++page) {
    absl::StatusOr<v1::ListTopCustomersResponse> response;
    absl::Notification listed;
    insights::ListTopMembers(
        store_->context(), engine_->keys(), engine_->scripts(),
        *segment_engine_, "callers", query, 2, 5,
        [&](absl::StatusOr<v1::ListTopCustomersResponse> answer) {
          response = std::move(answer);
          listed.Notify();
        });
    listed.WaitForNotification();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_LE(response->customers_size(), 4);
    for (const v1::TopCustomer& top : response->customers()) {
      bounded.push_back(top.customer_id());
    }
    if (response->next_page_token().empty()) break;
    absl::StatusOr<insights::TopCursor> after = insights::DecodeTopCursor(
        response->next_page_token(), insights::Ranking::kHistorical, "EUR");
    ASSERT_TRUE(after.ok());
    query.after = *after;
  }
  EXPECT_EQ(bounded, expected);

  v1::ListTopCustomersRequest request;
  request.set_currency("EUR");
  request.set_segment("nobody");
  v1::ListTopCustomersResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(
      insights_->ListTopCustomers(&context, request, &response).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(SegmentsTest, ManyEventsForOneCustomerAndForManyEvaluatedTogether) {
  ASSERT_TRUE(
      Create("calls-3", "channel_count { channel: CHANNEL_PHONE at_least: 3 }")
          .ok());
  ASSERT_TRUE(Create("recent-2", "last_interaction { within_days: 2 }").ok());
  ASSERT_TRUE(
      Create("emails", "identity_kind { kind: IDENTITY_KIND_EMAIL }").ok());
  const int64_t t = NowMicros() - 5 * kMicrosPerDay;
  // One customer with 40 events (an e-mail among them), 150 with 1 to 4,
  // some of them long ago, sent by four senders at once in batches of 50.
  std::vector<v1::InteractionEvent> events;
  for (int n = 0; n < 40; ++n) {
    v1::InteractionEvent call =
        Event(absl::StrCat("one-", n), v1::IDENTITY_KIND_PHONE, "+442071830000",
              t + n * 3 * kMicrosPerDay / 40);
    if (n == 17) {
      *call.add_identities() =
          Identity(v1::IDENTITY_KIND_EMAIL, "one@example.com");
    }
    events.push_back(call);
  }
  for (int i = 0; i < 150; ++i) {
    for (int n = 0; n <= i % 4; ++n) {
      events.push_back(Event(absl::StrCat("many-", i, "-", n),
                             v1::IDENTITY_KIND_PHONE,
                             absl::StrCat("+44207184", 1000 + i),
                             t + (i % 7) * kMicrosPerDay + n));
    }
  }
  std::vector<std::vector<v1::InteractionEvent>> batches(4);
  for (size_t e = 0; e < events.size(); ++e) {
    batches[e % 4].push_back(events[e]);
  }
  std::vector<std::thread> senders;
  for (const auto& batch : batches) {
    senders.emplace_back([this, batch] {
      for (size_t from = 0; from < batch.size(); from += 50) {
        IngestOk(std::vector<v1::InteractionEvent>(
            batch.begin() + from,
            batch.begin() + std::min(batch.size(), from + 50)));
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  ExpectMembershipIsFromScratch();
  EXPECT_EQ(Members("emails").size(), 1u);

  // The keeper told of the same customers many times at once: every
  // waiter answered, all ok, and nothing different.
  const std::string one = CustomerOf(v1::IDENTITY_KIND_PHONE, "+442071830000");
  std::vector<std::string> told(60, one);
  for (int i = 0; i < 150; i += 3) {
    told.push_back(CustomerOf(v1::IDENTITY_KIND_PHONE,
                              absl::StrCat("+44207184", 1000 + i)));
  }
  absl::Mutex mutex;
  std::vector<absl::Status> failures;
  std::atomic<size_t> answered{0};
  absl::Notification all_answered;
  for (const std::string& id : told) {
    segment_engine_->keeper().EventsChanged(id, [&](absl::Status status) {
      if (!status.ok()) {
        absl::MutexLock lock(&mutex);
        failures.push_back(status);
      }
      if (++answered == told.size()) all_answered.Notify();
    });
  }
  ASSERT_TRUE(all_answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  {
    absl::MutexLock lock(&mutex);
    EXPECT_TRUE(failures.empty()) << failures[0];
  }
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, AnEvaluationThatChangesNothingWritesNothing) {
  if (redis_cluster_ != nullptr) GTEST_SKIP() << "counts one redis-server";
  ASSERT_TRUE(
      Create("callers", "channel_count { channel: CHANNEL_PHONE at_least: 1 }")
          .ok());
  ASSERT_TRUE(
      Create("emails", "identity_kind { kind: IDENTITY_KIND_EMAIL }").ok());
  ASSERT_TRUE(Create("recent-7", "last_interaction { within_days: 7 }").ok());
  const int64_t t = NowMicros() - 1000000;
  v1::InteractionEvent with_email =
      Event("e1", v1::IDENTITY_KIND_PHONE, "+442071835001", t);
  *with_email.add_identities() =
      Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  IngestOk({with_email,
            Event("e2", v1::IDENTITY_KIND_PHONE, "+442071835002", t),
            Event("e3", v1::IDENTITY_KIND_EMAIL, "bob@example.com", t - 1,
                  v1::CHANNEL_WEB)});
  std::vector<std::string> ids = {
      CustomerOf(v1::IDENTITY_KIND_PHONE, "+442071835001"),
      CustomerOf(v1::IDENTITY_KIND_PHONE, "+442071835002"),
      CustomerOf(v1::IDENTITY_KIND_EMAIL, "bob@example.com")};
  ExpectMembershipIsFromScratch();
  const std::string log_before = DumpRedis(":m:");

  // Evaluated again, by events, with nothing changed: read, not written.
  const std::map<std::string, int64_t> before = CommandCalls();
  for (const std::string& id : ids) {
    ASSERT_TRUE(segment_engine_->keeper()
                    .Evaluate(id, segments::EvaluationTrigger::kEvent)
                    .ok());
  }
  for (const absl::Status& status : segment_engine_->keeper().EvaluateMany(
           ids, segments::EvaluationTrigger::kEvent)) {
    ASSERT_TRUE(status.ok()) << status;
  }
  const std::map<std::string, int64_t> ran =
      CallsSince(before, {"evalsha", "eval", "zadd", "zrem", "hset", "hdel",
                          "lpush", "del", "hgetall"});
  for (const auto& [command, calls] : ran) {
    if (command == "hgetall") {
      EXPECT_GE(calls, 6 * 2) << "the views and records were read";
    } else {
      EXPECT_EQ(calls, 0) << command;
    }
  }
  EXPECT_EQ(DumpRedis(":m:"), log_before);

  // An event that changes none of their memberships (another call, later:
  // the recency moves along, but the deadline entry ahead stays, and finds
  // nothing changed when it comes) is stored, and the segments write
  // nothing.
  const std::map<std::string, int64_t> before_event = CommandCalls();
  IngestOk({Event("e4", v1::IDENTITY_KIND_PHONE, "+442071835002", t + 500000)});
  EXPECT_EQ(CallsSince(before_event, {"zadd", "zrem"}),
            (std::map<std::string, int64_t>{{"zadd", 1}, {"zrem", 0}}))
      << "only the event's own entry in the customer's timeline";
  ExpectMembershipIsFromScratch();
  // Seven days after the first call: still a member of recent-7 (the
  // second call came later), and the deadline moves to the right moment.
  Advance(absl::Hours(24 * 7) - absl::Seconds(1) + absl::Microseconds(1));
  ASSERT_TRUE(segment_engine_->Tick().ok());
  EXPECT_TRUE(absl::c_linear_search(Members("recent-7"), ids[1]));
  Advance(absl::Microseconds(500000));
  ASSERT_TRUE(segment_engine_->Tick().ok());
  EXPECT_FALSE(absl::c_linear_search(Members("recent-7"), ids[1]));
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, ThePassAfterAnUpdateEvaluatesOnlyTheChangedSegment) {
  if (redis_cluster_ != nullptr) GTEST_SKIP() << "counts one redis-server";
  ASSERT_TRUE(
      Create("callers", "channel_count { channel: CHANNEL_PHONE at_least: 1 }")
          .ok());
  ASSERT_TRUE(
      Create("emails", "identity_kind { kind: IDENTITY_KIND_EMAIL }").ok());
  ASSERT_TRUE(
      Create("heavy", "channel_count { channel: CHANNEL_PHONE at_least: 100 }")
          .ok());
  const int64_t t = NowMicros() - 1000000;
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 30; ++i) {
    const std::string phone = absl::StrCat("+44207183", 6000 + i);
    for (int n = 0; n <= i % 5; ++n) {
      v1::InteractionEvent call = Event(absl::StrCat("h", i, "-", n),
                                        v1::IDENTITY_KIND_PHONE, phone, t + n);
      if (i % 2 == 0 && n == 0) {
        *call.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL,
                                          absl::StrCat("h", i, "@example.com"));
      }
      events.push_back(call);
    }
  }
  IngestOk(events);
  EvaluateEveryone();
  ASSERT_TRUE(Members("heavy").empty());
  // Every customer's record and history as they are now.
  std::map<std::string, std::string> records;
  std::set<std::string> live;
  FromScratch(&live);
  for (const std::string& id : live) {
    records[id] = RecordOf(id);
  }

  v1::UpdateSegmentRequest update;
  update.mutable_segment()->set_name("heavy");
  *update.mutable_segment()->mutable_condition() =
      Condition("channel_count { channel: CHANNEL_PHONE at_least: 4 }");
  v1::Segment updated;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(segments_->UpdateSegment(&context, update, &updated).ok());
  }
  const std::map<std::string, int64_t> before = CommandCalls();
  EvaluateEveryone();
  const std::vector<std::string> heavy = Members("heavy");
  ASSERT_EQ(heavy.size(), 12u);  // i % 5 >= 3
  // One script and one index entry per member of the new version; the
  // other customers and the other segments: not a write.
  EXPECT_EQ(CallsSince(before, {"evalsha", "eval", "zadd", "zrem"}),
            (std::map<std::string, int64_t>{
                {"evalsha", 12}, {"eval", 0}, {"zadd", 12}, {"zrem", 0}}));
  for (const auto& [id, record] : records) {
    if (absl::c_linear_search(heavy, id)) continue;
    EXPECT_EQ(RecordOf(id), record) << id;
  }
  ExpectMembershipIsFromScratch();
}

TEST_F(SegmentsTest, ThePassWritesTheIndexEntryOfEveryMemberItEvaluates) {
  ASSERT_TRUE(
      Create("callers", "channel_count { channel: CHANNEL_PHONE at_least: 1 }")
          .ok());
  const int64_t t = NowMicros() - 1000000;
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 10; ++i) {
    events.push_back(Event(absl::StrCat("r", i), v1::IDENTITY_KIND_PHONE,
                           absl::StrCat("+44207183", 7000 + i), t));
  }
  IngestOk(events);
  // A replica died between recording a membership and writing its index
  // entry: recorded, not listed.
  const std::string lost = CustomerOf(v1::IDENTITY_KIND_PHONE, "+442071837003");
  ASSERT_TRUE(
      RedisCommand(
          {"ZREM", segment_engine_->keys().MembersOf(lost, "callers", 1), lost})
          .ok());
  ASSERT_FALSE(absl::c_linear_search(Members("callers"), lost));
  // The segment's first evaluation over every customer puts it back.
  EvaluateEveryone();
  EXPECT_TRUE(absl::c_linear_search(Members("callers"), lost));
  ExpectMembershipIsFromScratch();
}

}  // namespace
}  // namespace omnihub::testing

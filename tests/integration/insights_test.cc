// Customer insights over real gRPC against a real redis-server: the CDNOW
// results of the papers reproduced through the public API, lifecycles moved
// by time alone (an injected clock, no sleeps), purchase statistics kept
// exact through everything the store does, KPIs of a population known in
// advance, a sweeper that dies half way, and the answers to bad requests.
#include <atomic>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "common/redis/blocking_calls.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/insights/analysis/customer_record.h"
#include "services/timeline/stored_event.h"
#include "tests/integration/timeline_fixture.h"
#include "tests/support/cdnow_purchases.h"

namespace omnihub::testing {
namespace {

using insights::Reason;
using insights::Stage;
using insights::Transition;
using ::testing::DoubleNear;
using ::testing::HasSubstr;
using v1::IngestResult;

int64_t DayNumber(absl::CivilDay day) { return day - absl::CivilDay(1970); }

absl::Time Noon(int64_t day) {
  return insights::StartOfDay(day) + absl::Hours(12);
}

google::protobuf::Timestamp TimestampOf(absl::Time time) {
  return timeline::FromMicros(absl::ToUnixMicros(time));
}

class InsightsTest : public TimelineFixture {
 protected:
  // Each test configures the fixture first (the clock, options), then
  // starts it with Start().
  void SetUp() override {}
  void Start() { TimelineFixture::SetUp(); }

  // Tests that move time set the clock before Start; others use real time.
  void UseClock(absl::Time start) {
    {
      absl::MutexLock lock(&clock_mutex_);
      now_ = start;
    }
    store_options_.clock = [this] {
      absl::MutexLock lock(&clock_mutex_);
      return now_;
    };
  }
  void SetDay(int64_t day) {
    absl::MutexLock lock(&clock_mutex_);
    now_ = Noon(day);
  }

  static v1::InteractionEvent Purchase(const std::string& event_id,
                                       v1::IdentityKind kind,
                                       const std::string& value, int64_t day,
                                       int64_t micros,
                                       const std::string& currency = "USD",
                                       v1::Channel channel = v1::CHANNEL_WEB) {
    v1::InteractionEvent event =
        Event(event_id, kind, value, absl::ToUnixMicros(Noon(day)), channel);
    event.set_kind(v1::INTERACTION_KIND_PURCHASE);
    event.mutable_value()->set_amount_micros(micros);
    event.mutable_value()->set_currency(currency);
    return event;
  }

  // The CDNOW sample through Ingest: each purchase an event, each customer
  // known by the CRM id "cdnow-<sample id>".
  void IngestCdnowSample() {
    absl::StatusOr<std::vector<CdnowPurchase>> purchases =
        ReadCdnowPurchases(CdnowFile::kSample);
    ASSERT_TRUE(purchases.ok()) << purchases.status();
    ASSERT_EQ(purchases->size(), 6919u);
    std::vector<v1::InteractionEvent> batch;
    for (size_t i = 0; i < purchases->size(); ++i) {
      const CdnowPurchase& purchase = (*purchases)[i];
      batch.push_back(
          Purchase(absl::StrCat("cdnow-", i), v1::IDENTITY_KIND_CRM_ID,
                   absl::StrCat("cdnow-", purchase.customer),
                   DayNumber(purchase.day), purchase.dollar_micros));
      if (batch.size() == 1000 || i + 1 == purchases->size()) {
        const v1::IngestResponse response = IngestOk(std::move(batch));
        for (const IngestResult& result : response.results()) {
          ASSERT_EQ(result.status(), IngestResult::STATUS_ACCEPTED)
              << result.reason();
        }
        batch.clear();
      }
    }
  }

  grpc::Status GetInsights(const v1::GetCustomerInsightsRequest& request,
                           v1::CustomerInsights* response) {
    grpc::ClientContext context;
    return insights_->GetCustomerInsights(&context, request, response);
  }
  v1::CustomerInsights InsightsOf(v1::CustomerSelector selector) {
    v1::GetCustomerInsightsRequest request;
    *request.mutable_customer() = std::move(selector);
    v1::CustomerInsights response;
    grpc::Status status = GetInsights(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  grpc::Status Fit(const v1::FitPurchaseModelRequest& request,
                   v1::PurchaseModel* model) {
    grpc::ClientContext context;
    return insights_->FitPurchaseModel(&context, request, model);
  }
  grpc::Status Kpis(const v1::GetKpisRequest& request,
                    v1::GetKpisResponse* response) {
    grpc::ClientContext context;
    return insights_->GetKpis(&context, request, response);
  }

  static std::vector<Transition> HistoryOf(
      const v1::CustomerInsights& insights) {
    std::vector<Transition> history;
    for (const v1::LifecycleTransition& transition : insights.history()) {
      history.push_back({.day = insights::DayOf(
                             absl::FromUnixSeconds(transition.at().seconds())),
                         .from = static_cast<Stage>(transition.from()),
                         .to = static_cast<Stage>(transition.to()),
                         .reason = static_cast<Reason>(transition.reason())});
    }
    return history;
  }

  // The day of the customer's entry in the deadline index, if any.
  std::optional<int64_t> Deadline(const std::string& customer_id) {
    absl::StatusOr<redis::Reply> score = RedisCommand(
        {"ZSCORE", engine_->keys().DeadlineShardOf(customer_id), customer_id});
    EXPECT_TRUE(score.ok());
    if (!score.ok() || score->type != redis::Reply::Type::kString) {
      return std::nullopt;
    }
    return std::stoll(score->str);
  }

  static double Counter(const std::string& name,
                        const std::map<std::string, std::string>& labels,
                        prometheus::Registry& registry) {
    for (const prometheus::MetricFamily& family : registry.Collect()) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        bool all = true;
        for (const auto& [key, value] : labels) {
          bool found = false;
          for (const prometheus::ClientMetric::Label& label : metric.label) {
            found |= label.name == key && label.value == value;
          }
          all &= found;
        }
        if (all) return metric.counter.value;
      }
    }
    return -1;
  }

  absl::Mutex clock_mutex_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mutex_);
};

// The CDNOW sample, each purchase an event sent through Ingest, fitted as of
// 1997-10-01 through FitPurchaseModel, finds the parameters and the
// per-customer values published for it (tests/data/cdnow/README.md).
TEST_F(InsightsTest, CdnowThroughTheApiGivesThePublishedResults) {
  Start();
  IngestCdnowSample();

  v1::FitPurchaseModelRequest request;
  *request.mutable_as_of() = TimestampOf(
      absl::FromCivil(absl::CivilDay(1997, 10, 1), absl::UTCTimeZone()));
  request.set_holdout_days(273);
  v1::PurchaseModel model;
  grpc::Status status = Fit(request, &model);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(model.r(), DoubleNear(0.2426, 0.005));
  EXPECT_THAT(model.alpha(), DoubleNear(4.4136, 0.005));
  EXPECT_THAT(model.a(), DoubleNear(0.7929, 0.005));
  EXPECT_THAT(model.b(), DoubleNear(2.4259, 0.005));
  EXPECT_THAT(model.log_likelihood(), DoubleNear(-9582.43, 0.1));
  EXPECT_EQ(model.time_unit_days(), 7);
  EXPECT_EQ(model.customers(), 2357);
  EXPECT_EQ(model.repeat_customers(), 946);
  ASSERT_EQ(model.spend_models_size(), 1);
  const v1::SpendModel& spend = model.spend_models(0);
  EXPECT_EQ(spend.currency(), "USD");
  EXPECT_THAT(spend.p(), DoubleNear(6.25, 0.05));
  EXPECT_THAT(spend.q(), DoubleNear(3.74, 0.05));
  EXPECT_THAT(spend.gamma(), DoubleNear(15.44, 0.05));
  EXPECT_THAT(spend.log_likelihood(), DoubleNear(-4055.92, 0.1));
  EXPECT_EQ(spend.customers(), 946);
  EXPECT_EQ(model.as_of().seconds(), request.as_of().seconds());
  EXPECT_EQ(model.backtest().customers(), 2357);
  EXPECT_EQ(model.backtest().holdout_days(), 273);
  EXPECT_GT(model.backtest().actual_purchases(), 0);
  EXPECT_GT(model.backtest().correlation(), 0.5);

  // The model in use is the one just fitted, whole.
  v1::PurchaseModel in_use;
  grpc::ClientContext context;
  ASSERT_TRUE(insights_->GetPurchaseModel(&context, {}, &in_use).ok());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(in_use, model));

  // Customers 1 to 10 as of the end of calibration: customer 1's expected
  // purchases over the next 39 weeks, and everyone's expected spend.
  const double expected_spend[] = {24.65, 18.91, 35.17, 35.17, 35.17,
                                   71.46, 18.91, 35.17, 27.28, 35.17};
  for (int customer = 1; customer <= 10; ++customer) {
    v1::GetCustomerInsightsRequest ask;
    *ask.mutable_customer() =
        ByIdentity(v1::IDENTITY_KIND_CRM_ID, absl::StrCat("cdnow-", customer));
    *ask.mutable_as_of() = request.as_of();
    ask.add_horizon_days(273);
    v1::CustomerInsights insights;
    status = GetInsights(ask, &insights);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(insights.value_size(), 1) << insights.model_unavailable();
    EXPECT_THAT(
        insights.value(0).expected_average_spend().amount_micros() / 1e6,
        DoubleNear(expected_spend[customer - 1], 0.02))
        << "customer " << customer;
    if (customer == 1) {
      EXPECT_EQ(insights.purchases().repeat_occasions(), 2);
      EXPECT_THAT(insights.purchases().recency_weeks(),
                  DoubleNear(30.43, 0.01));
      EXPECT_THAT(insights.purchases().age_weeks(), DoubleNear(38.86, 0.01));
      ASSERT_EQ(insights.expected_purchases_size(), 4);
      EXPECT_EQ(insights.expected_purchases(3).days(), 273);
      EXPECT_THAT(insights.expected_purchases(3).purchases(),
                  DoubleNear(1.226, 0.001));
    }
  }
}

// A customer who stops buying becomes at risk, then lapsed, with no event:
// the sweeper finds it in the deadline index on the day.
TEST_F(InsightsTest, LifecycleMovesWithTimeAlone) {
  const int64_t day0 = DayNumber(absl::CivilDay(2026, 3, 2));
  UseClock(Noon(day0));
  Start();
  const std::string customer =
      IngestOk({Purchase("p-1", v1::IDENTITY_KIND_EMAIL, "ana@x.example", day0,
                         20'000'000)})
          .results(0)
          .customer_id();
  const v1::CustomerSelector ana =
      ByIdentity(v1::IDENTITY_KIND_EMAIL, "ana@x.example");
  EXPECT_EQ(InsightsOf(ana).stage(), v1::LIFECYCLE_STAGE_NEW_CUSTOMER);
  EXPECT_EQ(Deadline(customer), day0 + 90);

  SetDay(day0 + 89);
  ASSERT_TRUE(engine_->Tick().ok());
  EXPECT_EQ(InsightsOf(ana).stage(), v1::LIFECYCLE_STAGE_NEW_CUSTOMER);

  SetDay(day0 + 90);
  ASSERT_TRUE(engine_->Tick().ok());
  v1::CustomerInsights at_risk = InsightsOf(ana);
  EXPECT_EQ(at_risk.stage(), v1::LIFECYCLE_STAGE_AT_RISK);
  EXPECT_EQ(at_risk.stage_since().seconds(),
            absl::ToUnixSeconds(insights::StartOfDay(day0 + 90)));
  EXPECT_EQ(Deadline(customer), day0 + 180);

  // Days later than the deadline: the change is dated on its day.
  SetDay(day0 + 200);
  ASSERT_TRUE(engine_->Tick().ok());
  EXPECT_EQ(Deadline(customer), std::nullopt);  // nothing more by time
  v1::CustomerInsights lapsed = InsightsOf(ana);
  EXPECT_EQ(lapsed.stage(), v1::LIFECYCLE_STAGE_LAPSED);
  EXPECT_EQ(
      HistoryOf(lapsed),
      (std::vector<Transition>{
          {day0, Stage::kProspect, Stage::kNewCustomer, Reason::kFirstPurchase},
          {day0 + 90, Stage::kNewCustomer, Stage::kAtRisk, Reason::kInactivity},
          {day0 + 180, Stage::kAtRisk, Stage::kLapsed, Reason::kInactivity}}));

  // She buys again: reactivated, recorded as the purchase is stored.
  IngestOk({Purchase("p-2", v1::IDENTITY_KIND_EMAIL, "ana@x.example",
                     day0 + 200, 5'000'000)});
  v1::CustomerInsights back = InsightsOf(ana);
  EXPECT_EQ(back.stage(), v1::LIFECYCLE_STAGE_ACTIVE);
  ASSERT_EQ(back.history_size(), 4);
  EXPECT_EQ(back.history(3).reason(),
            v1::LifecycleTransition::REASON_REACTIVATED);
  EXPECT_EQ(Deadline(customer), day0 + 290);
  EXPECT_EQ(Counter("omnihub_lifecycle_transitions_total",
                    {{"from", "lapsed"}, {"to", "active"}}, *registry_),
            1);
  EXPECT_EQ(Counter("omnihub_lifecycle_transitions_total",
                    {{"from", "at_risk"}, {"to", "lapsed"}}, *registry_),
            1);
}

// Purchases stay exact through out-of-order events, updates by revision
// (value, day, kind), retention trimming, merges and erasure: each customer's
// statistics equal those worked out from what was sent, and its recorded
// lifecycle the one computed from them.
TEST_F(InsightsTest, PurchaseStatisticsStayExact) {
  const int64_t today = DayNumber(absl::CivilDay(2026, 6, 1));
  UseClock(Noon(today));
  store_options_.retention.max_events_per_customer = 4;
  Start();

  struct Sent {
    int person = 0;
    int64_t day = 0;
    int64_t micros = 0;
    std::string currency;
    bool purchase = true;
  };
  // Each person is known by two identities, used apart at first (two
  // customers), linked at the end.
  constexpr int kPeople = 12;
  std::mt19937_64 random(20261130);  // fixed: a failure can be replayed
  std::map<std::string, std::vector<Sent>> versions;  // by event id
  std::vector<std::string> sends;  // event ids, one per revision to send
  for (int person = 0; person < kPeople; ++person) {
    const int events = absl::Uniform(random, 0, 9);
    for (int e = 0; e < events; ++e) {
      const std::string id = absl::StrCat("ev-", person, "-", e);
      const int revisions = absl::Uniform(random, 1, 4);
      for (int r = 0; r < revisions; ++r) {
        Sent sent;
        sent.person = person;
        sent.day = today - absl::Uniform(random, 1, 120);
        sent.micros = absl::Uniform<int64_t>(random, 0, 5) * 1'000'000;
        sent.currency = absl::Bernoulli(random, 0.8) ? "EUR" : "GBP";
        sent.purchase = absl::Bernoulli(random, 0.8);
        // A purchase on one day on each of the person's two identities.
        if (e == 1 && r == 0) {
          sent.day = versions[absl::StrCat("ev-", person, "-0")][0].day;
        }
        versions[id].push_back(sent);
        sends.push_back(id);
      }
    }
  }
  // Any order across events; each event's revisions in their order.
  std::shuffle(sends.begin(), sends.end(), random);
  std::map<std::string, int> sent_revisions;
  for (const std::string& id : sends) {
    const int revision = sent_revisions[id]++;
    const Sent& sent = versions[id][revision];
    const int e = std::stoi(id.substr(id.rfind('-') + 1));
    const std::string identity = absl::StrCat("p", sent.person, "-", e % 2);
    v1::InteractionEvent event =
        Purchase(id, v1::IDENTITY_KIND_LOYALTY_CARD, identity, sent.day,
                 sent.micros, sent.currency, v1::CHANNEL_IN_PERSON);
    if (!sent.purchase) event.set_kind(v1::INTERACTION_KIND_STORE_VISIT);
    event.set_revision(revision + 1);
    const IngestResult result = IngestOk({event}).results(0);
    ASSERT_NE(result.status(), IngestResult::STATUS_REJECTED)
        << result.reason();
  }
  // Link each person's two identities: one customer.
  for (int person = 0; person < kPeople; ++person) {
    v1::LinkIdentitiesRequest link;
    *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD,
                                      absl::StrCat("p", person, "-0"));
    *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD,
                                      absl::StrCat("p", person, "-1"));
    link.set_source("test");
    v1::LinkIdentitiesResponse linked;
    grpc::ClientContext context;
    grpc::Status status = customers_->LinkIdentities(&context, link, &linked);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // Erase one person: its deadline entry goes with it.
  {
    const v1::ForgetCustomerResponse forgotten =
        ForgetOk(ByIdentity(v1::IDENTITY_KIND_LOYALTY_CARD, "p0-0"));
    EXPECT_EQ(Deadline(forgotten.customer_id()), std::nullopt);
  }

  const insights::LifecycleRules rules = insights_options_.rules;
  for (int person = 1; person < kPeople; ++person) {
    SCOPED_TRACE(absl::StrCat("person ", person));
    // What was sent: the last revision of each event.
    std::map<int64_t, std::map<std::string, int64_t>> days;
    int64_t first_seen = std::numeric_limits<int64_t>::max();
    for (const auto& [id, sent_versions] : versions) {
      if (sent_versions[0].person != person) continue;
      for (const Sent& sent : sent_versions) {
        first_seen = std::min(first_seen, sent.day);
      }
      const Sent& last = sent_versions.back();
      if (last.purchase) days[last.day][last.currency] += last.micros;
    }
    v1::GetCustomerInsightsRequest ask;
    *ask.mutable_customer() = ByIdentity(v1::IDENTITY_KIND_LOYALTY_CARD,
                                         absl::StrCat("p", person, "-1"));
    v1::CustomerInsights insights;
    grpc::Status status = GetInsights(ask, &insights);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(insights.purchases().occasions(),
              static_cast<int64_t>(days.size()));
    if (days.empty()) {
      // No event, or none a purchase: a prospect.
      EXPECT_EQ(insights.stage(), v1::LIFECYCLE_STAGE_PROSPECT);
      continue;
    }
    EXPECT_EQ(insights.purchases().first_purchase().seconds(),
              absl::ToUnixSeconds(insights::StartOfDay(days.begin()->first)));
    EXPECT_EQ(insights.purchases().last_purchase().seconds(),
              absl::ToUnixSeconds(insights::StartOfDay(days.rbegin()->first)));
    std::map<std::string, int64_t> total, repeat, repeat_days;
    for (const auto& [day, spend] : days) {
      for (const auto& [currency, micros] : spend) {
        if (micros == 0) continue;
        total[currency] += micros;
        if (day != days.begin()->first) {
          repeat[currency] += micros;
          ++repeat_days[currency];
        }
      }
    }
    std::map<std::string, int64_t> got_total, got_average, average;
    for (const v1::Money& money : insights.purchases().spend()) {
      got_total[money.currency()] = money.amount_micros();
    }
    for (const v1::Money& money : insights.purchases().average_repeat_spend()) {
      got_average[money.currency()] = money.amount_micros();
    }
    for (const auto& [currency, micros] : repeat) {
      average[currency] =
          std::llround(static_cast<double>(micros) / repeat_days.at(currency));
    }
    EXPECT_EQ(got_total, total);
    EXPECT_EQ(got_average, average);
    std::vector<int64_t> purchase_days;
    for (const auto& [day, spend] : days) purchase_days.push_back(day);
    EXPECT_EQ(
        HistoryOf(insights),
        insights::LifecycleHistory(purchase_days, first_seen, today, rules));
    const std::optional<int64_t> next =
        insights::NextChangeByTime(purchase_days, today, rules);
    if (next.has_value()) {
      // Never later than the next change; earlier only costs a look.
      const std::optional<int64_t> entry = Deadline(insights.customer_id());
      ASSERT_TRUE(entry.has_value());
      EXPECT_LE(*entry, *next);
    }
  }
}

// The KPIs of a period, for a base whose answers are worked out by hand
// (the same base as KpiReportTest, on real dates and channels).
TEST_F(InsightsTest, KpisOfAKnownBase) {
  Start();
  const int64_t base = DayNumber(absl::CivilDay(2026, 1, 1));
  auto visit = [&](const std::string& who, int64_t day, v1::Channel channel) {
    const IngestResult result =
        IngestOk({Event(absl::StrCat(who, "-visit"), v1::IDENTITY_KIND_EMAIL,
                        who, absl::ToUnixMicros(Noon(day)), channel)})
            .results(0);
    EXPECT_EQ(result.status(), IngestResult::STATUS_ACCEPTED)
        << result.field() << ": " << result.reason();
  };
  auto buy = [&](const std::string& who, int64_t day, v1::Channel channel) {
    const IngestResult result =
        IngestOk({Purchase(absl::StrCat(who, "-", day), v1::IDENTITY_KIND_EMAIL,
                           who, day, 10'000'000, "EUR", channel)})
            .results(0);
    EXPECT_EQ(result.status(), IngestResult::STATUS_ACCEPTED)
        << result.field() << ": " << result.reason();
  };
  visit("c1@x.example", base + 50, v1::CHANNEL_WEB);  // retained
  buy("c1@x.example", base + 60, v1::CHANNEL_WEB);
  buy("c1@x.example", base + 150, v1::CHANNEL_WEB);
  buy("c2@x.example", base + 10, v1::CHANNEL_PHONE);   // churned
  visit("c3@x.example", base + 80, v1::CHANNEL_WEB);   // a prospect all along
  visit("c4@x.example", base + 120, v1::CHANNEL_WEB);  // converted
  buy("c4@x.example", base + 130, v1::CHANNEL_WEB);
  buy("c5@x.example", base + 150, v1::CHANNEL_IN_PERSON);  // never a prospect
  buy("c6@x.example", base - 100, v1::CHANNEL_IN_PERSON);  // reactivated
  buy("c6@x.example", base + 160, v1::CHANNEL_IN_PERSON);

  v1::GetKpisRequest request;
  request.set_start_date("2026-04-11");  // base + 100
  request.set_end_date("2026-07-19");    // base + 199
  v1::GetKpisResponse response;
  grpc::Status status = Kpis(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Kpis& all = response.kpis();
  EXPECT_EQ(response.customers_scanned(), 6);
  EXPECT_EQ(all.customers_active_at_start(), 2);
  EXPECT_EQ(all.churned_customers(), 1);
  EXPECT_EQ(all.retained_customers(), 1);
  EXPECT_DOUBLE_EQ(all.churn_rate(), 0.5);
  EXPECT_DOUBLE_EQ(all.retention_rate(), 0.5);
  EXPECT_EQ(all.prospects(), 2);
  EXPECT_EQ(all.converted_prospects(), 1);
  EXPECT_DOUBLE_EQ(all.conversion_rate(), 0.5);
  EXPECT_EQ(all.new_customers(), 2);
  EXPECT_EQ(all.reactivated_customers(), 1);
  EXPECT_EQ(all.lapsed_customers(), 1);
  EXPECT_EQ(all.customers_active_at_end(), 4);
  EXPECT_EQ(all.average_lifetime_value_size(), 0);  // no model yet
  std::map<int, v1::Kpis> by_channel;
  for (const v1::ChannelKpis& entry : response.by_acquisition_channel()) {
    by_channel[entry.channel()] = entry.kpis();
  }
  ASSERT_EQ(by_channel.size(), 3u);
  EXPECT_EQ(by_channel[v1::CHANNEL_WEB].prospects(), 2);
  EXPECT_EQ(by_channel[v1::CHANNEL_WEB].retained_customers(), 1);
  EXPECT_EQ(by_channel[v1::CHANNEL_PHONE].churned_customers(), 1);
  EXPECT_EQ(by_channel[v1::CHANNEL_IN_PERSON].reactivated_customers(), 1);

  request.set_acquisition_channel(v1::CHANNEL_WEB);
  ASSERT_TRUE(Kpis(request, &response).ok());
  EXPECT_EQ(response.kpis().new_customers(), 1);
  EXPECT_EQ(response.by_acquisition_channel_size(), 0);

  v1::GetCohortsRequest cohorts;
  cohorts.set_start_month("2026-01");
  cohorts.set_end_month("2026-03");
  v1::GetCohortsResponse table;
  grpc::ClientContext context;
  ASSERT_TRUE(insights_->GetCohorts(&context, cohorts, &table).ok());
  ASSERT_EQ(table.cohorts_size(), 3);
  EXPECT_EQ(table.cohorts(0).month(), "2026-01");
  EXPECT_EQ(table.cohorts(0).customers(), 1);  // c2: first purchase base+10
  EXPECT_EQ(table.cohorts(2).customers(), 1);  // c1: base+60, March 2
}

// A refresh after a purchase that loses its compare-and-set to a later
// write of the customer's purchases leaves the recording to that write's
// own refresh instead of starting again: here every read is followed by
// such a write, which before made the refresh start again until it gave up
// (ABORTED after 8 tries). The next purchase's refresh then records what a
// customer with the same purchases and no interference has.
TEST_F(InsightsTest, APurchaseRefreshOutrunByALaterWriteLeavesItToThatWrite) {
  const int64_t day0 = DayNumber(absl::CivilDay(2026, 3, 2));
  UseClock(Noon(day0));
  std::atomic<bool> interfere{false};
  std::atomic<int> reads{0};
  std::string view_key;
  absl::Mutex view_key_mutex;
  insights_options_.keeper.step_hook = [&](absl::string_view step) {
    if (step != "read") return absl::OkStatus();
    ++reads;
    if (interfere) {
      absl::MutexLock lock(&view_key_mutex);
      // Another connection, as another replica's purchase would be.
      EXPECT_TRUE(
          redis_server_->Command({"HINCRBY", view_key, "pv", "1"}).ok());
    }
    return absl::OkStatus();
  };
  Start();
  auto buy = [&](const std::string& who, const std::string& id, int64_t day) {
    return IngestOk(
               {Purchase(id, v1::IDENTITY_KIND_EMAIL, who, day, 20'000'000)})
        .results(0)
        .customer_id();
  };
  const std::string ana = buy("ana@x.example", "a-1", day0);
  buy("bo@x.example", "b-1", day0);
  {
    absl::MutexLock lock(&view_key_mutex);
    view_key = store_->context().keys.ForCustomer(ana).view;
  }
  interfere = true;
  reads = 0;
  SetDay(day0 + 100);
  buy("ana@x.example", "a-2", day0 + 100);  // IngestOk: answered OK
  EXPECT_EQ(reads, 1);                      // and not tried again
  interfere = false;
  buy("bo@x.example", "b-2", day0 + 100);
  SetDay(day0 + 101);
  buy("ana@x.example", "a-3", day0 + 101);
  buy("bo@x.example", "b-3", day0 + 101);

  const v1::CustomerInsights ana_now =
      InsightsOf(ByIdentity(v1::IDENTITY_KIND_EMAIL, "ana@x.example"));
  const v1::CustomerInsights bo_now =
      InsightsOf(ByIdentity(v1::IDENTITY_KIND_EMAIL, "bo@x.example"));
  EXPECT_EQ(ana_now.stage(), bo_now.stage());
  EXPECT_EQ(HistoryOf(ana_now), HistoryOf(bo_now));
  // New customer, at risk by day0 + 90, and back on day0 + 100.
  EXPECT_GE(bo_now.history_size(), 3);
}

// A replica that dies half way through a sweep leaves its deadlines due; the
// next replica finishes them, and no change is lost or recorded twice.
TEST_F(InsightsTest, SweepInterruptedIsFinishedByAnotherReplica) {
  const int64_t day0 = DayNumber(absl::CivilDay(2026, 2, 1));
  UseClock(Noon(day0));
  constexpr int kCustomers = 140;
  std::atomic<int> recorded{0};
  std::atomic<bool> dead{false};
  insights_options_.keeper.step_hook = [&](absl::string_view step) {
    if (dead) return absl::UnavailableError("the replica died");
    if (step == "recorded" && ++recorded > kCustomers + 60) {
      dead = true;
      return absl::UnavailableError("the replica died");
    }
    return absl::OkStatus();
  };
  Start();
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < kCustomers; ++i) {
    events.push_back(Purchase(absl::StrCat("e", i), v1::IDENTITY_KIND_CRM_ID,
                              absl::StrCat("crm-", i), day0, 1'000'000));
  }
  std::vector<std::string> ids;
  const v1::IngestResponse response = IngestOk(events);
  for (const IngestResult& result : response.results()) {
    ids.push_back(result.customer_id());
  }
  ASSERT_EQ(recorded, kCustomers);  // the first purchases, recorded
  // Every customer evaluated under these rules already, so the next ticks
  // only sweep deadlines.
  ASSERT_TRUE(engine_->Tick().ok());
  ASSERT_EQ(recorded, kCustomers);

  SetDay(day0 + 95);
  EXPECT_FALSE(engine_->Tick().ok());  // dies after 60 of the 140
  ASSERT_TRUE(dead);

  auto other_registry = std::make_shared<prometheus::Registry>();
  insights::InsightsMetrics other_metrics(*other_registry);
  insights::InsightsEngine other(&store_->context(),
                                 insights::InsightsOptions{}, &other_metrics);
  ASSERT_TRUE(other.Tick().ok());

  for (const std::string& id : ids) {
    v1::GetCustomerInsightsRequest ask;
    ask.mutable_customer()->set_customer_id(id);
    v1::CustomerInsights insights;
    ASSERT_TRUE(GetInsights(ask, &insights).ok());
    EXPECT_EQ(
        HistoryOf(insights),
        (std::vector<Transition>{{day0, Stage::kProspect, Stage::kNewCustomer,
                                  Reason::kFirstPurchase},
                                 {day0 + 90, Stage::kNewCustomer,
                                  Stage::kAtRisk, Reason::kInactivity}}));
    EXPECT_EQ(Deadline(id), day0 + 180);
  }
  const std::map<std::string, std::string> at_risk = {{"from", "new_customer"},
                                                      {"to", "at_risk"}};
  const double first =
      Counter("omnihub_lifecycle_transitions_total", at_risk, *registry_);
  const double second =
      Counter("omnihub_lifecycle_transitions_total", at_risk, *other_registry);
  EXPECT_GE(first, 60);
  EXPECT_GT(second, 0);
  EXPECT_EQ(first + second, kCustomers);
}

// The census and the lifecycle pass read every customer, wherever its keys
// are: on a Redis Cluster (run as cluster:*) each master in turn, the pass
// resuming from its cursor in Redis between slices.
TEST_F(InsightsTest, CensusAndLifecyclePassSeeEveryCustomer) {
  const int64_t day0 = DayNumber(absl::CivilDay(2026, 5, 4));
  UseClock(Noon(day0));
  constexpr int kCustomers = 45;
  std::atomic<int> reads{0};
  insights_options_.keeper.step_hook = [&](absl::string_view step) {
    if (step == "read") ++reads;
    return absl::OkStatus();
  };
  insights_options_.scan.scan_count = 4;  // many SCAN calls per node
  Start();
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < kCustomers; ++i) {
    events.push_back(Purchase(absl::StrCat("e", i), v1::IDENTITY_KIND_CRM_ID,
                              absl::StrCat("crm-", i), day0, 1'000'000));
  }
  IngestOk(events);

  ASSERT_TRUE(engine_->TakeCensus().ok());
  absl::StatusOr<redis::Reply> census =
      RedisCommand({"HGET", engine_->keys().Census(),
                    std::string(insights::StageName(Stage::kNewCustomer))});
  ASSERT_TRUE(census.ok()) << census.status();
  EXPECT_EQ(census->str, absl::StrCat(kCustomers));

  // No slice of time: one SCAN call per Reevaluate, the cursor kept in
  // Redis in between.
  reads = 0;
  int slices = 0;
  for (;;) {
    absl::StatusOr<bool> done = engine_->Reevaluate(absl::ZeroDuration());
    ASSERT_TRUE(done.ok()) << done.status();
    ++slices;
    if (*done || slices > 1000) break;
  }
  EXPECT_GT(slices, 3);
  // SCAN may return a key twice, never skips one that stays.
  EXPECT_GE(reads, kCustomers);
  reads = 0;
  absl::StatusOr<bool> again = engine_->Reevaluate(absl::ZeroDuration());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again);  // nothing more under the same rules
  EXPECT_EQ(reads, 0);
}

TEST_F(InsightsTest, BadRequestsAndEdgeCases) {
  Start();
  // No model yet: insights still answer, saying why the model's are unset.
  IngestOk({Purchase("b-1", v1::IDENTITY_KIND_EMAIL, "bo@x.example",
                     DayNumber(absl::CivilDay(2026, 1, 5)), 1'000'000)});
  v1::CustomerInsights bo =
      InsightsOf(ByIdentity(v1::IDENTITY_KIND_EMAIL, "bo@x.example"));
  EXPECT_EQ(bo.purchases().occasions(), 1);
  EXPECT_FALSE(bo.has_probability_alive());
  EXPECT_THAT(bo.model_unavailable(), HasSubstr("no purchase model"));
  // A prospect: a stage, no error.
  IngestOk({Event("v-1", v1::IDENTITY_KIND_EMAIL, "cy@x.example",
                  absl::ToUnixMicros(absl::Now() - absl::Hours(1)),
                  v1::CHANNEL_WEB)});
  v1::CustomerInsights cy =
      InsightsOf(ByIdentity(v1::IDENTITY_KIND_EMAIL, "cy@x.example"));
  EXPECT_EQ(cy.stage(), v1::LIFECYCLE_STAGE_PROSPECT);
  EXPECT_THAT(cy.model_unavailable(), HasSubstr("prospect"));

  grpc::ClientContext model_context;
  v1::PurchaseModel none;
  EXPECT_EQ(insights_->GetPurchaseModel(&model_context, {}, &none).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::PurchaseModel model;
  grpc::Status status = Fit({}, &model);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("0 of 1 customers"));

  const google::protobuf::Timestamp tomorrow =
      TimestampOf(absl::Now() + absl::Hours(24));
  auto expect_invalid = [](const grpc::Status& status,
                           const std::string& field) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  };
  v1::GetCustomerInsightsRequest ask;
  *ask.mutable_customer() = ByIdentity(v1::IDENTITY_KIND_EMAIL, "bo@x.example");
  *ask.mutable_as_of() = tomorrow;
  v1::CustomerInsights ignored;
  expect_invalid(GetInsights(ask, &ignored), "as_of");
  ask.clear_as_of();
  ask.add_horizon_days(0);
  expect_invalid(GetInsights(ask, &ignored), "horizon_days[0]");
  ask.clear_horizon_days();
  ask.set_currency("usd");
  expect_invalid(GetInsights(ask, &ignored), "currency");
  ask.set_currency("JPY");
  expect_invalid(GetInsights(ask, &ignored), "currency");

  v1::FitPurchaseModelRequest fit;
  *fit.mutable_as_of() = tomorrow;
  expect_invalid(Fit(fit, &model), "as_of");
  *fit.mutable_as_of() = TimestampOf(absl::Now() - absl::Hours(24 * 10));
  fit.set_holdout_days(30);
  expect_invalid(Fit(fit, &model), "holdout_days");
  fit.set_holdout_days(-1);
  expect_invalid(Fit(fit, &model), "holdout_days");

  v1::GetKpisRequest kpis;
  v1::GetKpisResponse answer;
  kpis.set_start_date("2026-02-01");
  kpis.set_end_date("2026-01-01");
  expect_invalid(Kpis(kpis, &answer), "end_date");
  kpis.set_start_date("");
  expect_invalid(Kpis(kpis, &answer), "start_date");
  kpis.set_start_date("2026-01-01");
  kpis.set_end_date("2999-01-01");
  expect_invalid(Kpis(kpis, &answer), "end_date");
  kpis.set_end_date("2026-01-31");
  kpis.set_currency("EUR");
  expect_invalid(Kpis(kpis, &answer), "currency");
  kpis.set_currency("");
  kpis.set_acquisition_channel(static_cast<v1::Channel>(99));
  expect_invalid(Kpis(kpis, &answer), "acquisition_channel");

  v1::GetCohortsRequest cohorts;
  cohorts.set_start_month("2026-13");
  cohorts.set_end_month("2026-01");
  v1::GetCohortsResponse table;
  grpc::ClientContext context;
  expect_invalid(insights_->GetCohorts(&context, cohorts, &table),
                 "start_month");
  // The rejected requests changed nothing.
  grpc::ClientContext after;
  EXPECT_EQ(insights_->GetPurchaseModel(&after, {}, &none).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Two replicas refitting at once leave one model, whole: the stored one is
// exactly one of the two fits.
// A base too small to fit is tried again when the lease lapses (an hour),
// not on every tick: the replica that holds the lease must not take it back
// at once (it did, and logged the failure every second).
TEST_F(InsightsTest, AScheduledFitThatFailsWaitsForItsLeaseToLapse) {
  Start();
  auto registry = std::make_shared<prometheus::Registry>();
  insights::InsightsMetrics metrics(*registry);
  insights::InsightsOptions options = insights_options_;
  options.refit_interval = absl::Hours(24);
  options.replica = "scheduled-fit-test";
  insights::InsightsEngine engine(&store_->context(), options, &metrics);
  for (int tick = 0; tick < 5; ++tick) {
    ASSERT_TRUE(engine.Tick().ok());
    // Time for a scheduled fit of the empty base to end.
    for (int wait = 0; wait < 50 && metrics.fits(false).Value() < 1; ++wait) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(metrics.fits(false).Value(), 1);
  EXPECT_EQ(metrics.fits(true).Value(), 0);
}

TEST_F(InsightsTest, ConcurrentRefitsLeaveOneWholeModel) {
  Start();
  IngestCdnowSample();
  insights::InsightsEngine other(&store_->context(), insights_options_,
                                 nullptr);
  absl::StatusOr<v1::PurchaseModel> first, second;
  std::thread a([&] { first = engine_->Fit(std::nullopt, 0, "request"); });
  std::thread b([&] {
    second = other.Fit(
        absl::FromCivil(absl::CivilDay(1997, 10, 1), absl::UTCTimeZone()), 0,
        "request");
  });
  a.join();
  b.join();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(first->as_of().seconds(), second->as_of().seconds());
  ASSERT_TRUE(engine_->LoadModel().ok());
  const v1::PurchaseModel& stored = *engine_->model().Get()->proto;
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(stored, *first) ||
      google::protobuf::util::MessageDifferencer::Equals(stored, *second));
}

}  // namespace
}  // namespace omnihub::testing

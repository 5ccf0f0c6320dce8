// RFM segments and the top-customer rankings over real gRPC against a real
// redis-server: quintiles of a synthetic population with known answers
// (ties, fewer than five customers, several currencies), scores that follow
// time and purchases between two computations of the boundaries, and
// rankings exact across shards, through merges and erasure, paginated while
// customers come and go, compared with the customers' own insights.
#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <tuple>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "services/insights/analysis/customer_record.h"
#include "services/timeline/stored_event.h"
#include "tests/integration/timeline_fixture.h"
#include "tests/support/cdnow_purchases.h"

namespace omnihub::testing {
namespace {

using ::testing::HasSubstr;
using v1::IngestResult;
using v1::ListTopCustomersRequest;

absl::Time Noon(int64_t day) {
  return insights::StartOfDay(day) + absl::Hours(12);
}

constexpr int64_t kToday = 20000;

class RfmTopTest : public TimelineFixture {
 protected:
  void SetUp() override {
    {
      absl::MutexLock lock(&clock_mutex_);
      now_ = Noon(kToday);
    }
    store_options_.clock = [this] {
      absl::MutexLock lock(&clock_mutex_);
      return now_;
    };
    TimelineFixture::SetUp();
  }

  void SetDay(int64_t day) {
    absl::MutexLock lock(&clock_mutex_);
    now_ = Noon(day);
  }

  static v1::InteractionEvent Purchase(const std::string& event_id,
                                       const std::string& crm_id, int64_t day,
                                       int64_t micros,
                                       const std::string& currency = "EUR") {
    v1::InteractionEvent event =
        Event(event_id, v1::IDENTITY_KIND_LOYALTY_CARD, crm_id,
              absl::ToUnixMicros(Noon(day)), v1::CHANNEL_WEB);
    event.set_kind(v1::INTERACTION_KIND_PURCHASE);
    event.mutable_value()->set_amount_micros(micros);
    event.mutable_value()->set_currency(currency);
    return event;
  }

  void Buy(const std::string& crm_id, int64_t day, int64_t micros,
           const std::string& currency = "EUR") {
    const IngestResult result =
        IngestOk({Purchase(absl::StrCat(crm_id, "-", day, "-", currency, "-",
                                        ++purchases_),
                           crm_id, day, micros, currency)})
            .results(0);
    ASSERT_EQ(result.status(), IngestResult::STATUS_ACCEPTED)
        << result.reason();
  }

  std::string IdOf(const std::string& crm_id) {
    return CustomerByIdentity(v1::IDENTITY_KIND_LOYALTY_CARD, crm_id)
        .customer_id();
  }

  v1::CustomerInsights InsightsOf(const std::string& crm_id) {
    v1::GetCustomerInsightsRequest request;
    *request.mutable_customer()->mutable_identity() =
        Identity(v1::IDENTITY_KIND_LOYALTY_CARD, crm_id);
    v1::CustomerInsights response;
    grpc::ClientContext context;
    grpc::Status status =
        insights_->GetCustomerInsights(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::RfmSummary Summary() {
    v1::RfmSummary summary;
    grpc::ClientContext context;
    grpc::Status status = insights_->GetRfmSummary(
        &context, v1::GetRfmSummaryRequest(), &summary);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return summary;
  }

  grpc::Status Top(const ListTopCustomersRequest& request,
                   v1::ListTopCustomersResponse* response) {
    grpc::ClientContext context;
    return insights_->ListTopCustomers(&context, request, response);
  }

  // Every page, `limit` at a time: (customer, value) in ranking order.
  std::vector<std::pair<std::string, int64_t>> WholeRanking(
      const std::string& currency, ListTopCustomersRequest::RankedBy by,
      int limit) {
    std::vector<std::pair<std::string, int64_t>> ranking;
    ListTopCustomersRequest request;
    request.set_currency(currency);
    request.set_by(by);
    request.set_limit(limit);
    for (int page = 0; page < 1000; ++page) {
      v1::ListTopCustomersResponse response;
      grpc::Status status = Top(request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      EXPECT_LE(response.customers_size(), limit);
      for (const v1::TopCustomer& customer : response.customers()) {
        EXPECT_EQ(customer.rank(), static_cast<int64_t>(ranking.size()) + 1);
        EXPECT_EQ(customer.value().currency(), currency);
        ranking.emplace_back(customer.customer_id(),
                             customer.value().amount_micros());
      }
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return ranking;
  }

  // Value descending, then id descending: the ranking's order.
  static void SortRanking(std::vector<std::pair<std::string, int64_t>>& all) {
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second, a.first) > std::tie(b.second, b.first);
    });
  }

  void Forget(const std::string& card) {
    ForgetOk(ByIdentity(v1::IDENTITY_KIND_LOYALTY_CARD, card));
  }

  void Link(const std::string& a, const std::string& b) {
    v1::LinkIdentitiesRequest link;
    *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD, a);
    *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD, b);
    link.set_source("test");
    v1::LinkIdentitiesResponse linked;
    grpc::ClientContext context;
    grpc::Status status = customers_->LinkIdentities(&context, link, &linked);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  absl::Mutex clock_mutex_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mutex_);
  int purchases_ = 0;
};

TEST_F(RfmTopTest, QuintilesOfAKnownPopulationAndScoresThatFollowTime) {
  // Customer i (1 to 10) bought on i days, 30 days apart, the last i days
  // ago, i * 10 EUR each time: recency days, occasions and spend each split
  // the base two by two into the five quintiles.
  for (int i = 1; i <= 10; ++i) {
    for (int d = 0; d < i; ++d) {
      Buy(absl::StrCat("k", i), kToday - i - 30 * d, i * 10'000'000);
    }
  }
  // A prospect: not in the base.
  IngestOk({Event("visit-1", v1::IDENTITY_KIND_LOYALTY_CARD, "prospect",
                  absl::ToUnixMicros(Noon(kToday - 1)))});
  EXPECT_THAT(InsightsOf("k1").rfm_unavailable(),
              HasSubstr("not been computed"));
  {
    grpc::ClientContext context;
    v1::RfmSummary summary;
    EXPECT_EQ(
        insights_->GetRfmSummary(&context, v1::GetRfmSummaryRequest(), &summary)
            .error_code(),
        grpc::StatusCode::NOT_FOUND);
  }

  // Through the API, as an operator would after an import.
  v1::RfmSummary computed;
  {
    grpc::ClientContext context;
    grpc::Status status =
        insights_->ComputeRfm(&context, v1::ComputeRfmRequest(), &computed);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const v1::RfmSummary summary = Summary();
  EXPECT_EQ(computed.customers(), 10);
  EXPECT_EQ(computed.computed_at().seconds(), summary.computed_at().seconds());
  EXPECT_EQ(summary.customers(), 10);
  EXPECT_THAT(summary.recency_days(), ::testing::ElementsAre(2, 4, 6, 8));
  EXPECT_THAT(summary.occasions(), ::testing::ElementsAre(2, 4, 6, 8));
  ASSERT_EQ(summary.monetary_size(), 1);
  EXPECT_EQ(summary.monetary(0).currency(), "EUR");
  EXPECT_EQ(summary.monetary(0).customers(), 10);
  // Totals i * i * 10 EUR: the 2nd, 4th, 6th and 8th.
  EXPECT_THAT(summary.monetary(0).amount_micros(),
              ::testing::ElementsAre(40'000'000, 160'000'000, 360'000'000,
                                     640'000'000));
  std::map<v1::RfmSegment, int64_t> counts;
  for (const v1::RfmSegmentCount& count : summary.segments()) {
    counts[count.segment()] = count.customers();
  }
  EXPECT_EQ(counts.size(), 10u);
  EXPECT_EQ(counts[v1::RFM_SEGMENT_NEW], 2);
  EXPECT_EQ(counts[v1::RFM_SEGMENT_POTENTIAL_LOYALISTS], 2);
  EXPECT_EQ(counts[v1::RFM_SEGMENT_NEED_ATTENTION], 2);
  EXPECT_EQ(counts[v1::RFM_SEGMENT_AT_RISK], 2);
  EXPECT_EQ(counts[v1::RFM_SEGMENT_CANT_LOSE], 2);
  EXPECT_EQ(counts[v1::RFM_SEGMENT_CHAMPIONS], 0);

  const v1::RfmSegment expected[] = {
      v1::RFM_SEGMENT_NEW, v1::RFM_SEGMENT_POTENTIAL_LOYALISTS,
      v1::RFM_SEGMENT_NEED_ATTENTION, v1::RFM_SEGMENT_AT_RISK,
      v1::RFM_SEGMENT_CANT_LOSE};
  for (int i = 1; i <= 10; ++i) {
    SCOPED_TRACE(absl::StrCat("customer k", i));
    const v1::CustomerInsights insights = InsightsOf(absl::StrCat("k", i));
    ASSERT_TRUE(insights.has_rfm()) << insights.rfm_unavailable();
    const int quintile = (i + 1) / 2;
    EXPECT_EQ(insights.rfm().recency(), 6 - quintile);
    EXPECT_EQ(insights.rfm().frequency(), quintile);
    EXPECT_EQ(insights.rfm().monetary(), quintile);
    EXPECT_EQ(insights.rfm().segment(), expected[quintile - 1]);
    EXPECT_EQ(insights.rfm().main_currency(), "EUR");
    EXPECT_EQ(insights.rfm().recency_days(), i);
    EXPECT_EQ(insights.rfm().occasions(), i);
    EXPECT_EQ(insights.rfm().spend().amount_micros(),
              int64_t{i} * i * 10'000'000);
  }
  EXPECT_THAT(InsightsOf("prospect").rfm_unavailable(), HasSubstr("prospect"));

  // Time alone, no new boundaries: 5 days on, k1 is 6 days from its purchase
  // (quintile 3 of recency days), and k10 still in the last.
  SetDay(kToday + 5);
  EXPECT_EQ(InsightsOf("k1").rfm().recency(), 3);
  EXPECT_EQ(InsightsOf("k1").rfm().segment(), v1::RFM_SEGMENT_ABOUT_TO_SLEEP);
  // A purchase: k9 is recent again, and a champion.
  Buy("k9", kToday + 5, 10'000'000);
  EXPECT_EQ(InsightsOf("k9").rfm().recency(), 5);
  EXPECT_EQ(InsightsOf("k9").rfm().frequency(), 5);
  EXPECT_EQ(InsightsOf("k9").rfm().segment(), v1::RFM_SEGMENT_CHAMPIONS);
  // The engine's function other code uses gives the same answer.
  EXPECT_TRUE(engine_->rfm().Get()->proto.has_value());
}

TEST_F(RfmTopTest, TiesFewCustomersAndSeveralCurrencies) {
  // Two identical customers and one in another currency.
  Buy("a", kToday - 1, 5'000'000);
  Buy("b", kToday - 1, 5'000'000);
  Buy("c", kToday - 10, 7'000'000, "USD");
  Buy("c", kToday - 3, 7'000'000, "USD");
  // d bought on more days in GBP than in EUR: GBP is its main currency,
  // however much it spent in EUR.
  Buy("d", kToday - 3, 900'000'000);
  Buy("d", kToday - 2, 1'000'000, "GBP");
  Buy("d", kToday - 1, 1'000'000, "GBP");
  ASSERT_TRUE(engine_->RunPopulationPass().ok());
  const v1::RfmSummary summary = Summary();
  EXPECT_EQ(summary.customers(), 4);
  // Recency days {1, 1, 3, 1}, occasions {1, 1, 2, 3}: nearest ranks 1, 2,
  // 3 and 4 of four.
  EXPECT_THAT(summary.recency_days(), ::testing::ElementsAre(1, 1, 1, 3));
  EXPECT_THAT(summary.occasions(), ::testing::ElementsAre(1, 1, 2, 3));
  ASSERT_EQ(summary.monetary_size(), 3);  // EUR, GBP, USD
  EXPECT_EQ(summary.monetary(0).currency(), "EUR");
  EXPECT_EQ(summary.monetary(0).customers(), 2);
  EXPECT_THAT(
      summary.monetary(0).amount_micros(),
      ::testing::ElementsAre(5'000'000, 5'000'000, 5'000'000, 5'000'000));
  for (const char* tied : {"a", "b"}) {
    const v1::RfmScores rfm = InsightsOf(tied).rfm();
    EXPECT_EQ(rfm.recency(), 5);
    EXPECT_EQ(rfm.frequency(), 1);
    EXPECT_EQ(rfm.monetary(), 1);  // ties share the lower quintile
    EXPECT_EQ(rfm.segment(), v1::RFM_SEGMENT_NEW);
  }
  const v1::RfmScores c = InsightsOf("c").rfm();
  EXPECT_EQ(c.main_currency(), "USD");
  EXPECT_EQ(c.recency(), 2);
  EXPECT_EQ(c.frequency(), 3);
  EXPECT_EQ(c.monetary(), 1);  // alone in USD
  EXPECT_EQ(c.segment(), v1::RFM_SEGMENT_AT_RISK);
  const v1::RfmScores d = InsightsOf("d").rfm();
  EXPECT_EQ(d.main_currency(), "GBP");
  EXPECT_EQ(d.spend().amount_micros(), 2'000'000);
  EXPECT_EQ(d.frequency(), 4);
  EXPECT_EQ(d.segment(), v1::RFM_SEGMENT_CHAMPIONS);
}

TEST_F(RfmTopTest, TopCustomersAcrossShardsPaginatedThroughMergesAndErasure) {
  std::mt19937 random(13);
  // 80 customers with spends drawn from few values (many ties), some in
  // USD too.
  for (int i = 0; i < 80; ++i) {
    const std::string crm = absl::StrCat("t", i);
    const int purchases = absl::Uniform(random, 1, 4);
    for (int p = 0; p < purchases; ++p) {
      Buy(crm, kToday - absl::Uniform(random, 1, 60),
          absl::Uniform(random, 1, 6) * 10'000'000);
    }
    if (i % 4 == 0) Buy(crm, kToday - 2, (i + 1) * 1'000'000, "USD");
  }
  // t5 bought once more, in EUR; the purchase is amended to GBP later.
  v1::InteractionEvent moving =
      Purchase("t5-moving", "t5", kToday - 4, 70'000'000);
  moving.set_revision(1);
  IngestOk({moving});
  // From scratch: each live customer's total, from its own insights; and
  // who is who.
  std::map<std::string, std::string> crm_of;
  auto expected_of = [&](const std::string& currency) {
    std::vector<std::pair<std::string, int64_t>> all;
    crm_of.clear();
    for (int i = 0; i < 80; ++i) {
      v1::GetCustomerInsightsRequest request;
      *request.mutable_customer()->mutable_identity() =
          Identity(v1::IDENTITY_KIND_LOYALTY_CARD, absl::StrCat("t", i));
      v1::CustomerInsights insights;
      grpc::ClientContext context;
      if (!insights_->GetCustomerInsights(&context, request, &insights).ok()) {
        continue;  // erased
      }
      if (!crm_of.emplace(insights.customer_id(), absl::StrCat("t", i))
               .second) {
        continue;  // merged: counted once
      }
      for (const v1::Money& spend : insights.purchases().spend()) {
        if (spend.currency() == currency) {
          all.emplace_back(insights.customer_id(), spend.amount_micros());
        }
      }
    }
    SortRanking(all);
    return all;
  };
  for (const int limit : {1, 7, 100}) {
    SCOPED_TRACE(absl::StrCat("pages of ", limit));
    EXPECT_EQ(
        WholeRanking("EUR", ListTopCustomersRequest::RANKED_BY_HISTORICAL_VALUE,
                     limit),
        expected_of("EUR"));
  }
  EXPECT_EQ(
      WholeRanking("USD", ListTopCustomersRequest::RANKED_BY_UNSPECIFIED, 3),
      expected_of("USD"));
  EXPECT_EQ(expected_of("USD").size(), 20u);

  // Merges: t1 and t2 become one customer with both totals, ranked once.
  const std::string t1 = IdOf("t1");
  const std::string t2 = IdOf("t2");
  Link("t1", "t2");
  const std::string survivor = IdOf("t1");
  EXPECT_TRUE(survivor == t1 || survivor == t2);
  const std::string merged_away = survivor == t1 ? t2 : t1;
  // Erasure: t3 leaves every ranking.
  const std::string t3 = IdOf("t3");
  Forget("t3");
  // t4 buys big; t5's purchase is amended to another currency.
  Buy("t4", kToday - 1, 999'000'000);
  moving.set_revision(2);
  moving.mutable_value()->set_currency("GBP");
  IngestOk({moving});
  EXPECT_EQ(WholeRanking(
                "GBP", ListTopCustomersRequest::RANKED_BY_HISTORICAL_VALUE, 5),
            expected_of("GBP"));
  ASSERT_EQ(expected_of("GBP").size(), 1u);
  const std::vector<std::pair<std::string, int64_t>> eur = WholeRanking(
      "EUR", ListTopCustomersRequest::RANKED_BY_HISTORICAL_VALUE, 9);
  EXPECT_EQ(eur, expected_of("EUR"));
  EXPECT_EQ(eur.front().first, IdOf("t4"));
  EXPECT_EQ(WholeRanking(
                "USD", ListTopCustomersRequest::RANKED_BY_HISTORICAL_VALUE, 3),
            expected_of("USD"));
  for (const auto& [id, value] : eur) {
    EXPECT_NE(id, merged_away);
    EXPECT_NE(id, t3);
  }
  // Nothing of the erased or merged-away customer is left in Redis.
  for (const std::string& key : AllKeys()) {
    // Only their alias (the erased one's for a while) is left.
    for (const std::string& gone : {t3, merged_away}) {
      if (absl::StrContains(key, gone)) {
        EXPECT_EQ(key, absl::StrCat("omnihub:c:{", gone, "}:v"));
      }
    }
    if (absl::StartsWith(key, "omnihub:top:")) {
      absl::StatusOr<redis::Reply> members =
          RedisCommand({"ZRANGE", key, "0", "-1"});
      ASSERT_TRUE(members.ok());
      for (const redis::Reply& member : members->elements) {
        EXPECT_NE(member.str, t3);
        EXPECT_NE(member.str, merged_away);
      }
    }
  }

  // Pagination stays exact while customers come and go: after the first
  // page, a new customer enters above it, one of the next page is erased,
  // one moves below the cursor: the next page goes on right after the
  // first page's last entry.
  ListTopCustomersRequest request;
  request.set_currency("EUR");
  request.set_limit(10);
  v1::ListTopCustomersResponse first;
  ASSERT_TRUE(Top(request, &first).ok());
  ASSERT_EQ(first.customers_size(), 10);
  const v1::TopCustomer last = first.customers(9);
  const int64_t last_micros = last.value().amount_micros();
  Buy("newcomer", kToday, 5'000'000'000);
  // The 12th entry of the ranking (on the next page) goes.
  const std::vector<std::pair<std::string, int64_t>> before =
      expected_of("EUR");
  ASSERT_GT(before.size(), 12u);
  const std::string erased = crm_of[before[11].first];
  ASSERT_FALSE(erased.empty());
  Forget(erased);
  request.set_page_token(first.next_page_token());
  v1::ListTopCustomersResponse second;
  ASSERT_TRUE(Top(request, &second).ok());
  std::vector<std::pair<std::string, int64_t>> after;
  for (const auto& entry : expected_of("EUR")) {
    if (std::tie(entry.second, entry.first) <
        std::tie(last_micros, last.customer_id())) {
      after.push_back(entry);
    }
  }
  ASSERT_GE(after.size(), 10u);
  ASSERT_EQ(second.customers_size(), 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(second.customers(i).customer_id(), after[i].first) << i;
    EXPECT_EQ(second.customers(i).rank(), 11 + i);
  }
}

TEST_F(RfmTopTest, PredictedValueRankingFollowsTheModel) {
  absl::StatusOr<std::vector<CdnowPurchase>> purchases =
      ReadCdnowPurchases(CdnowFile::kSample);
  ASSERT_TRUE(purchases.ok()) << purchases.status();
  std::vector<v1::InteractionEvent> batch;
  int64_t last_day = 0;
  for (size_t i = 0; i < purchases->size(); ++i) {
    const CdnowPurchase& purchase = (*purchases)[i];
    // Half the sample's customers: enough to fit, half the time.
    if (purchase.customer % 2 == 1 && i + 1 != purchases->size()) continue;
    const int64_t day = purchase.day - absl::CivilDay(1970);
    last_day = std::max(last_day, day);
    batch.push_back(Purchase(absl::StrCat("cdnow-", i),
                             absl::StrCat("cdnow-", purchase.customer), day,
                             purchase.dollar_micros, "USD"));
    if (batch.size() == 1000 || i + 1 == purchases->size()) {
      const v1::IngestResponse ingested = IngestOk(std::move(batch));
      for (const IngestResult& result : ingested.results()) {
        ASSERT_EQ(result.status(), IngestResult::STATUS_ACCEPTED);
      }
      batch.clear();
    }
  }
  SetDay(last_day + 1);
  ListTopCustomersRequest request;
  request.set_currency("USD");
  request.set_by(ListTopCustomersRequest::RANKED_BY_PREDICTED_VALUE);
  v1::ListTopCustomersResponse response;
  EXPECT_EQ(Top(request, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::PurchaseModel model;
  {
    grpc::ClientContext context;
    grpc::Status status = insights_->FitPurchaseModel(
        &context, v1::FitPurchaseModelRequest(), &model);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // The pass after the fit puts every customer in the ranking.
  ASSERT_TRUE(engine_->RunPopulationPass().ok());
  request.set_limit(25);
  ASSERT_TRUE(Top(request, &response).ok());
  ASSERT_EQ(response.customers_size(), 25);
  int64_t previous = std::numeric_limits<int64_t>::max();
  for (const v1::TopCustomer& top : response.customers()) {
    EXPECT_LE(top.value().amount_micros(), previous);
    previous = top.value().amount_micros();
    v1::GetCustomerInsightsRequest ask;
    ask.mutable_customer()->set_customer_id(top.customer_id());
    v1::CustomerInsights insights;
    grpc::ClientContext context;
    ASSERT_TRUE(insights_->GetCustomerInsights(&context, ask, &insights).ok());
    ASSERT_EQ(insights.value_size(), 1);
    EXPECT_EQ(insights.value(0).lifetime_value().amount_micros(),
              top.value().amount_micros());
  }
  // Time moves the predicted values: a pass 200 days on ranks by the new
  // ones (the customers' own insights agree again).
  SetDay(last_day + 200);
  ASSERT_TRUE(engine_->RunPopulationPass().ok());
  ASSERT_TRUE(Top(request, &response).ok());
  for (const v1::TopCustomer& top : response.customers()) {
    v1::GetCustomerInsightsRequest ask;
    ask.mutable_customer()->set_customer_id(top.customer_id());
    v1::CustomerInsights insights;
    grpc::ClientContext context;
    ASSERT_TRUE(insights_->GetCustomerInsights(&context, ask, &insights).ok());
    EXPECT_EQ(insights.value(0).lifetime_value().amount_micros(),
              top.value().amount_micros());
  }
  // Every customer with spend in USD is ranked (customers whose purchases
  // all had no value have no spend to predict from).
  EXPECT_EQ(
      WholeRanking("USD", ListTopCustomersRequest::RANKED_BY_PREDICTED_VALUE,
                   1000)
          .size(),
      WholeRanking("USD", ListTopCustomersRequest::RANKED_BY_HISTORICAL_VALUE,
                   1000)
          .size());
  EXPECT_GT(model.population(), 500);
}

// The script runs Redis counted, from INFO commandstats.
int64_t ScriptRuns(const redis::Reply& info) {
  for (absl::string_view line : absl::StrSplit(info.str, "\r\n")) {
    if (!absl::ConsumePrefix(&line, "cmdstat_evalsha:calls=")) continue;
    int64_t calls = 0;
    EXPECT_TRUE(absl::SimpleAtoi(line.substr(0, line.find(',')), &calls));
    return calls;
  }
  return 0;
}

TEST_F(RfmTopTest, NoticesAboutOneCustomerShareRefreshes) {
  Buy("burst", kToday - 1, 10'000'000);
  const std::string id = IdOf("burst");
  // As a batch of purchases by one customer notifies: all at once. Each
  // refresh runs one script to read the customer.
  constexpr int kNotices = 300;
  absl::StatusOr<redis::Reply> before = RedisCommand({"INFO", "commandstats"});
  ASSERT_TRUE(before.ok());
  absl::BlockingCounter answered(kNotices);
  std::atomic<int> failed{0};
  for (int i = 0; i < kNotices; ++i) {
    engine_->ranking().PurchasesChanged(id, [&](absl::Status status) {
      if (!status.ok()) ++failed;
      answered.DecrementCount();
    });
  }
  answered.Wait();
  EXPECT_EQ(failed.load(), 0);
  absl::StatusOr<redis::Reply> after = RedisCommand({"INFO", "commandstats"});
  ASSERT_TRUE(after.ok());
  const int64_t refreshes = ScriptRuns(*after) - ScriptRuns(*before);
  // Two when the notices are all queued while the first refresh runs; a
  // few more if this thread is held up meanwhile. One each without the
  // coalescing.
  EXPECT_GE(refreshes, 1);
  EXPECT_LE(refreshes, kNotices / 10) << "of " << kNotices << " notices";

  ListTopCustomersRequest request;
  request.set_currency("EUR");
  v1::ListTopCustomersResponse response;
  ASSERT_TRUE(Top(request, &response).ok());
  ASSERT_EQ(response.customers_size(), 1);
  EXPECT_EQ(response.customers(0).customer_id(), id);
  EXPECT_EQ(response.customers(0).value().amount_micros(), 10'000'000);
}

TEST_F(RfmTopTest, BadRequestsNameTheField) {
  auto code_of = [&](const ListTopCustomersRequest& request,
                     std::string* message) {
    v1::ListTopCustomersResponse response;
    grpc::Status status = Top(request, &response);
    *message = status.error_message();
    return status.error_code();
  };
  std::string message;
  ListTopCustomersRequest request;
  EXPECT_EQ(code_of(request, &message), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(message, HasSubstr("currency"));
  request.set_currency("eur");
  EXPECT_EQ(code_of(request, &message), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(message, HasSubstr("currency"));
  request.set_currency("EUR");
  request.set_limit(1001);
  EXPECT_EQ(code_of(request, &message), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(message, HasSubstr("limit"));
  request.set_limit(-1);
  EXPECT_EQ(code_of(request, &message), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_limit(10);
  request.set_by(static_cast<ListTopCustomersRequest::RankedBy>(7));
  EXPECT_EQ(code_of(request, &message), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(message, HasSubstr("by"));
  request.set_by(ListTopCustomersRequest::RANKED_BY_HISTORICAL_VALUE);
  request.set_page_token("garbage!");
  EXPECT_EQ(code_of(request, &message), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(message, HasSubstr("page_token"));
  // A token of another currency.
  Buy("x", kToday - 1, 1'000'000, "USD");
  Buy("y", kToday - 1, 2'000'000, "USD");
  ListTopCustomersRequest usd;
  usd.set_currency("USD");
  usd.set_limit(1);
  v1::ListTopCustomersResponse page;
  ASSERT_TRUE(Top(usd, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  EXPECT_EQ(code_of(request, &message), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(message, HasSubstr("page_token"));
  // An empty ranking is an empty page.
  request.clear_page_token();
  request.set_currency("JPY");
  EXPECT_EQ(code_of(request, &message), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace omnihub::testing

// Cross-selling over real gRPC against a real redis-server: a basket
// population with planted associations that must come out on top and a
// planted non-association (a product everyone buys anyway) that must not;
// the counts kept at ingest equal a count from scratch of what was sent,
// through upserts, merges and erasure; and the answers to bad requests.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "services/recommendations/basket.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

using ::testing::HasSubstr;
using Lines = std::vector<std::pair<std::string, std::string>>;  // sku, cat

class CrossSellTest : public TimelineFixture {
 protected:
  static v1::InteractionEvent Purchase(const std::string& event_id,
                                       const std::string& card,
                                       const Lines& lines) {
    v1::InteractionEvent event =
        Event(event_id, v1::IDENTITY_KIND_LOYALTY_CARD, card,
              absl::ToUnixMicros(absl::Now() - absl::Hours(1)),
              v1::CHANNEL_IN_PERSON);
    event.set_kind(v1::INTERACTION_KIND_PURCHASE);
    for (const auto& [sku, category] : lines) {
      v1::LineItem* item = event.add_line_items();
      item->set_sku(sku);
      item->set_category(category);
      item->set_quantity(1);
    }
    return event;
  }

  static v1::CustomerSelector ByCard(const std::string& card) {
    v1::CustomerSelector selector;
    *selector.mutable_identity() =
        Identity(v1::IDENTITY_KIND_LOYALTY_CARD, card);
    return selector;
  }

  grpc::Status Candidates(const v1::GetCrossSellCandidatesRequest& request,
                          v1::GetCrossSellCandidatesResponse* response) {
    grpc::ClientContext context;
    return recommendations_->GetCrossSellCandidates(&context, request,
                                                    response);
  }

  v1::GetCrossSellCandidatesResponse CandidatesOk(
      const std::string& card,
      v1::CrossSellLevel level = v1::CROSS_SELL_LEVEL_PRODUCT) {
    v1::GetCrossSellCandidatesRequest request;
    *request.mutable_customer() = ByCard(card);
    request.set_level(level);
    request.set_limit(5);
    v1::GetCrossSellCandidatesResponse response;
    grpc::Status status = Candidates(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // What the keeper counted: item -> customers, "a|b" -> customers with
  // both (both orders), and N per level ("p", "c").
  struct Counts {
    std::map<std::string, int64_t> items;
    std::map<std::string, int64_t> pairs;
    std::map<std::string, int64_t> customers;
    bool operator==(const Counts&) const = default;
  };

  static std::map<std::string, int64_t> HashOf(const redis::Reply& reply) {
    std::map<std::string, int64_t> out;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      int64_t value = 0;
      EXPECT_TRUE(absl::SimpleAtoi(reply.elements[i + 1].str, &value));
      out[reply.elements[i].str] = value;
    }
    return out;
  }

  Counts StoredCounts() {
    const recommendations::CrossSellKeys& keys = cross_sell_->keys();
    Counts counts;
    for (int shard = 0; shard < recommendations::kCrossSellShards; ++shard) {
      absl::StatusOr<redis::Reply> items =
          RedisCommand({"HGETALL", keys.ItemCounts(shard)});
      EXPECT_TRUE(items.ok());
      for (const auto& [item, n] : HashOf(*items)) counts.items[item] = n;
      absl::StatusOr<redis::Reply> customers =
          RedisCommand({"HGETALL", keys.Customers(shard)});
      EXPECT_TRUE(customers.ok());
      for (const auto& [level, n] : HashOf(*customers)) {
        if (n != 0) counts.customers[level] += n;
      }
    }
    for (const auto& [item, n] : counts.items) {
      absl::StatusOr<redis::Reply> pairs = RedisCommand(
          {"ZRANGE", keys.Partners(item), "0", "-1", "WITHSCORES"});
      EXPECT_TRUE(pairs.ok());
      for (const auto& [other, both] : HashOf(*pairs)) {
        counts.pairs[absl::StrCat(item, "|", other)] = both;
      }
    }
    // No partners of an item that is not counted.
    const std::string kPartners = "}:partners:";
    for (const std::string& key : AllKeys()) {
      if (!absl::StrContains(key, kPartners)) continue;
      const std::string item =
          key.substr(key.find(kPartners) + kPartners.size());
      EXPECT_TRUE(counts.items.contains(item)) << key;
    }
    return counts;
  }

  static Counts CountFromScratch(
      const std::vector<recommendations::Basket>& baskets) {
    Counts counts;
    for (const recommendations::Basket& basket : baskets) {
      bool products = false, categories = false;
      for (const std::string& a : basket) {
        ++counts.items[a];
        (absl::StartsWith(a, "p:") ? products : categories) = true;
        for (const std::string& b : basket) {
          if (a != b && a.substr(0, 2) == b.substr(0, 2)) {
            ++counts.pairs[absl::StrCat(a, "|", b)];
          }
        }
      }
      if (products) ++counts.customers["p"];
      if (categories) ++counts.customers["c"];
    }
    return counts;
  }
};

TEST_F(CrossSellTest,
       PlantedAssociationsComeOutOnTopAndAPopularProductDoesNot) {
  // 200 customers. Planted: of the 40 camera buyers, 32 buy a memory card
  // and 20 a tripod; 8 others buy a memory card, nobody else a tripod.
  // Planted non-association: milk, bought by 70% of everyone, camera
  // buyers alike. Noise: two of 30 other products each, at random.
  std::mt19937_64 random(20261130);  // fixed: a failure can be replayed
  std::vector<v1::InteractionEvent> events;
  for (int i = 0; i < 200; ++i) {
    Lines lines;
    if (i < 40) lines.push_back({"camera", "photo"});
    if (i < 32 || (i >= 40 && i < 48))
      lines.push_back({"memory-card", "photo"});
    if (i < 20) lines.push_back({"tripod", "photo"});
    if (i % 10 < 7) lines.push_back({"milk", "grocery"});
    for (int n = 0; n < 2; ++n) {
      lines.push_back({absl::StrCat("noise-", absl::Uniform(random, 0, 30)),
                       absl::StrCat("misc-", absl::Uniform(random, 0, 5))});
    }
    if (lines.empty()) continue;
    // Split in two purchases: the basket is the customer's, not an order's.
    const size_t half = lines.size() / 2;
    events.push_back(Purchase(absl::StrCat("o-", i, "-a"),
                              absl::StrCat("card-", i),
                              Lines(lines.begin(), lines.begin() + half)));
    events.push_back(Purchase(absl::StrCat("o-", i, "-b"),
                              absl::StrCat("card-", i),
                              Lines(lines.begin() + half, lines.end())));
  }
  for (size_t start = 0; start < events.size(); start += 100) {
    IngestOk({events.begin() + start,
              events.begin() + std::min(events.size(), start + 100)});
  }
  // A new customer who bought a camera (and milk).
  IngestOk({Purchase("o-new", "card-new",
                     {{"camera", "photo"}, {"milk", "grocery"}})});

  const v1::GetCrossSellCandidatesResponse answer = CandidatesOk("card-new");
  EXPECT_THAT(answer.bought(),
              ::testing::UnorderedElementsAre("camera", "milk"));
  ASSERT_GE(answer.candidates_size(), 2);
  std::set<std::string> top = {answer.candidates(0).item(),
                               answer.candidates(1).item()};
  EXPECT_EQ(top, (std::set<std::string>{"memory-card", "tripod"}));
  for (const v1::CrossSellCandidate& candidate : answer.candidates()) {
    EXPECT_NE(candidate.item(), "milk");  // bought
    EXPECT_NE(candidate.item(), "camera");
  }
  // The evidence of camera -> memory-card, by the definitions.
  const v1::CrossSellCandidate& card =
      answer.candidates(answer.candidates(0).item() == "memory-card" ? 0 : 1);
  EXPECT_EQ(card.because_of(), "camera");
  EXPECT_EQ(card.customers_with_both(), 32);
  EXPECT_EQ(card.customers_with_antecedent(), 41);
  EXPECT_EQ(card.customers_with_item(), 40);
  EXPECT_EQ(card.customers_counted(), 201);
  EXPECT_DOUBLE_EQ(card.support(), 32.0 / 201);
  EXPECT_DOUBLE_EQ(card.confidence(), 32.0 / 41);
  EXPECT_DOUBLE_EQ(card.lift(), (32.0 / 41) / (40.0 / 201));
  EXPECT_GT(card.lift(), 3.5);

  // A camera buyer without milk: milk, with a high confidence (about 0.7)
  // but no lift, is not among the top candidates.
  const v1::GetCrossSellCandidatesResponse buyer = CandidatesOk("card-7");
  for (int i = 0; i < std::min(3, buyer.candidates_size()); ++i) {
    EXPECT_NE(buyer.candidates(i).item(), "milk") << i;
  }
  for (const v1::CrossSellCandidate& candidate : buyer.candidates()) {
    if (candidate.item() == "milk") {
      EXPECT_LT(candidate.lift(), 1.3);
    }
  }

  // By category: what is left for a photo-and-grocery buyer is misc.
  const v1::GetCrossSellCandidatesResponse categories =
      CandidatesOk("card-new", v1::CROSS_SELL_LEVEL_CATEGORY);
  EXPECT_THAT(categories.bought(),
              ::testing::UnorderedElementsAre("photo", "grocery"));
  for (const v1::CrossSellCandidate& candidate : categories.candidates()) {
    EXPECT_TRUE(absl::StartsWith(candidate.item(), "misc-"))
        << candidate.item();
  }
}

// A query reads only the top partners of each bought item: with 3 read,
// an item with 10 partners still yields its 3 with the most customers in
// common, best first, with their full counts, and none of the others.
class CrossSellTopPartnersTest : public CrossSellTest {
 protected:
  CrossSellTopPartnersTest() { cross_sell_options_.top_partners = 3; }
};

TEST_F(CrossSellTopPartnersTest, TheBestPartnersOfAnItemWithManyComeOut) {
  // 40 customers buy "anchor"; of them 12 also buy "z-best", 6 "m-second",
  // 4 "b-third" and 2 each of "a-0" … "a-6" (first in a hash's or the
  // alphabet's order, last by customers in common). Every partner is bought
  // with the anchor only, so all share one lift and rank by confidence.
  std::vector<v1::InteractionEvent> events;
  auto buys = [](int customer) {
    Lines lines = {{"anchor", "x"}};
    if (customer < 12) lines.push_back({"z-best", "x"});
    if (customer >= 12 && customer < 18) lines.push_back({"m-second", "x"});
    if (customer >= 18 && customer < 22) lines.push_back({"b-third", "x"});
    if (customer >= 22 && customer < 36) {
      lines.push_back({absl::StrCat("a-", (customer - 22) / 2), "x"});
    }
    return lines;
  };
  for (int i = 0; i < 40; ++i) {
    // The partners first seen first, so insertion order is not the answer.
    Lines lines = buys(i);
    std::reverse(lines.begin(), lines.end());
    events.push_back(
        Purchase(absl::StrCat("o-", i), absl::StrCat("card-", i), lines));
  }
  std::reverse(events.begin(), events.end());
  IngestOk(events);
  IngestOk({Purchase("o-new", "card-new", {{"anchor", "x"}})});

  const v1::GetCrossSellCandidatesResponse answer = CandidatesOk("card-new");
  std::vector<std::string> items;
  for (const v1::CrossSellCandidate& candidate : answer.candidates()) {
    items.push_back(candidate.item());
  }
  EXPECT_THAT(items, ::testing::ElementsAre("z-best", "m-second", "b-third"));
  ASSERT_GE(answer.candidates_size(), 1);
  const v1::CrossSellCandidate& best = answer.candidates(0);
  EXPECT_EQ(best.because_of(), "anchor");
  EXPECT_EQ(best.customers_with_both(), 12);
  EXPECT_EQ(best.customers_with_antecedent(), 41);
  EXPECT_EQ(best.customers_with_item(), 12);
  EXPECT_EQ(best.customers_counted(), 41);
  // What is kept is every partner (the bound is max_pairs_per_item), not
  // only those read.
  absl::StatusOr<redis::Reply> partners =
      RedisCommand({"ZCARD", cross_sell_->keys().Partners("p:anchor")});
  ASSERT_TRUE(partners.ok());
  EXPECT_EQ(partners->integer, 10);
}

// Lift's denominator, the customers counted, is read from its 64 shards
// by one query and reused by the next ones for customers_max_age of the
// store's clock; a query after that reads it again.
class CrossSellCustomersMaxAgeTest : public CrossSellTest {
 protected:
  CrossSellCustomersMaxAgeTest() {
    cross_sell_options_.customers_max_age = absl::Seconds(10);
    store_options_.clock = [this] {
      absl::MutexLock lock(&clock_mutex_);
      return now_;
    };
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&clock_mutex_);
    now_ += by;
  }

  absl::Mutex clock_mutex_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mutex_) = absl::Now();
};

TEST_F(CrossSellCustomersMaxAgeTest, IsReadAgainOnceOlderThanItsMaxAge) {
  IngestOk({Purchase("o-1", "card-1", {{"kettle", "kitchen"}, {"mug", "x"}}),
            Purchase("o-2", "card-2", {{"kettle", "kitchen"}, {"mug", "x"}}),
            Purchase("o-3", "card-3", {{"kettle", "kitchen"}})});
  auto counted = [&] {
    const v1::GetCrossSellCandidatesResponse answer = CandidatesOk("card-3");
    EXPECT_EQ(answer.candidates_size(), 1);
    return answer.candidates_size() == 0
               ? int64_t{-1}
               : answer.candidates(0).customers_counted();
  };
  EXPECT_EQ(counted(), 3);

  // A product without a category: counted at one level only.
  IngestOk({Purchase("o-4", "card-4", {{"toaster", ""}})});
  Advance(absl::Seconds(9));
  EXPECT_EQ(counted(), 3);  // reused
  Advance(absl::Seconds(2));
  EXPECT_EQ(counted(), 4);  // read again
  // Each level keeps its own number.
  const v1::GetCrossSellCandidatesResponse categories =
      CandidatesOk("card-3", v1::CROSS_SELL_LEVEL_CATEGORY);
  ASSERT_EQ(categories.candidates_size(), 1);
  EXPECT_EQ(categories.candidates(0).item(), "x");
  EXPECT_EQ(categories.candidates(0).customers_counted(), 3);
}

// Random purchases with line items, several revisions each (an upsert
// replaces the line items; some revisions are no purchase at all), sent in
// any order on two identities per person, then linked (merges) and one
// person erased: the counts equal a count from scratch of what was sent.
TEST_F(CrossSellTest, CountsStayRightThroughUpsertsMergesAndErasure) {
  constexpr int kPeople = 12;
  std::mt19937_64 random(20261201);
  struct Sent {
    int person = 0;
    bool purchase = true;
    Lines lines;
  };
  std::map<std::string, std::vector<Sent>> versions;
  std::vector<std::string> sends;
  for (int person = 0; person < kPeople; ++person) {
    const int events = absl::Uniform(random, 1, 6);
    for (int e = 0; e < events; ++e) {
      const std::string id = absl::StrCat("ev-", person, "-", e);
      const int revisions = absl::Uniform(random, 1, 4);
      for (int r = 0; r < revisions; ++r) {
        Sent sent;
        sent.person = person;
        sent.purchase = absl::Bernoulli(random, 0.85);
        const int lines = sent.purchase ? absl::Uniform(random, 0, 4) : 0;
        for (int l = 0; l < lines; ++l) {
          const int product = absl::Uniform(random, 0, 8);
          sent.lines.push_back({absl::StrCat("sku-", product),
                                absl::StrCat("cat-", product % 3)});
        }
        versions[id].push_back(sent);
        sends.push_back(id);
      }
    }
  }
  std::shuffle(sends.begin(), sends.end(), random);
  std::map<std::string, int> sent_revisions;
  for (const std::string& id : sends) {
    const int revision = sent_revisions[id]++;
    const Sent& sent = versions[id][revision];
    const int e = std::stoi(id.substr(id.rfind('-') + 1));
    v1::InteractionEvent event =
        Purchase(id, absl::StrCat("p", sent.person, "-", e % 2), sent.lines);
    if (!sent.purchase) event.set_kind(v1::INTERACTION_KIND_STORE_VISIT);
    event.set_revision(revision + 1);
    const v1::IngestResult result = IngestOk({event}).results(0);
    ASSERT_NE(result.status(), v1::IngestResult::STATUS_REJECTED)
        << result.reason();
  }
  auto baskets = [&](int first_person, bool linked) {
    std::vector<recommendations::Basket> out;
    for (int person = first_person; person < kPeople; ++person) {
      for (int half = 0; half < (linked ? 1 : 2); ++half) {
        std::vector<v1::InteractionEvent> purchases;
        for (const auto& [id, sent] : versions) {
          const int e = std::stoi(id.substr(id.rfind('-') + 1));
          if (sent[0].person != person || !sent.back().purchase) continue;
          if (!linked && e % 2 != half) continue;
          purchases.push_back(Purchase(id, "x", sent.back().lines));
        }
        recommendations::Basket basket =
            recommendations::BasketOf(purchases, 200);
        if (!basket.empty()) out.push_back(std::move(basket));
      }
    }
    return out;
  };
  EXPECT_EQ(StoredCounts(), CountFromScratch(baskets(0, false)));

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
  EXPECT_EQ(StoredCounts(), CountFromScratch(baskets(0, true)));

  const v1::ForgetCustomerResponse forgotten = ForgetOk(ByCard("p0-0"));
  ASSERT_FALSE(forgotten.customer_id().empty());
  EXPECT_EQ(StoredCounts(), CountFromScratch(baskets(1, true)));
  // Its basket is gone.
  for (const std::string& key : AllKeys()) {
    EXPECT_FALSE(absl::StrContains(key, forgotten.customer_id()) &&
                 absl::EndsWith(key, ":xs"))
        << key;
  }
}

// Asked by a customer id, merged away or not, the answer is the
// survivor's; an id nobody has is NOT_FOUND.
TEST_F(CrossSellTest, AMergedAwayCustomerIdIsFollowedToTheSurvivor) {
  IngestOk({Purchase("o-1", "card-1", {{"kettle", "kitchen"}, {"mug", "x"}}),
            Purchase("o-2", "card-2", {{"kettle", "kitchen"}, {"mug", "x"}})});
  const std::vector<std::string> ids = {
      IngestOk({Purchase("o-3", "card-3a", {{"kettle", "kitchen"}})})
          .results(0)
          .customer_id(),
      IngestOk({Purchase("o-4", "card-3b", {{"spoon", "kitchen"}})})
          .results(0)
          .customer_id()};
  ASSERT_NE(ids[0], ids[1]);
  v1::LinkIdentitiesRequest link;
  *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "card-3a");
  *link.add_identities() = Identity(v1::IDENTITY_KIND_LOYALTY_CARD, "card-3b");
  link.set_source("test");
  v1::LinkIdentitiesResponse linked;
  grpc::ClientContext context;
  ASSERT_TRUE(customers_->LinkIdentities(&context, link, &linked).ok());
  ASSERT_EQ(linked.merged_customer_ids_size(), 1);

  for (const std::string& id : ids) {
    SCOPED_TRACE(id);
    v1::GetCrossSellCandidatesRequest request;
    request.mutable_customer()->set_customer_id(id);
    v1::GetCrossSellCandidatesResponse response;
    grpc::Status status = Candidates(request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.customer_id(), linked.customer_id());
    EXPECT_THAT(response.bought(),
                ::testing::UnorderedElementsAre("kettle", "spoon"));
    ASSERT_EQ(response.candidates_size(), 1);
    EXPECT_EQ(response.candidates(0).item(), "mug");
  }
  v1::GetCrossSellCandidatesRequest request;
  request.mutable_customer()->set_customer_id("c000000000000000000000000");
  v1::GetCrossSellCandidatesResponse response;
  EXPECT_EQ(Candidates(request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CrossSellTest, LineItemsAreStoredShownAndReplacedByARevision) {
  v1::InteractionEvent first =
      Purchase("o-1", "card-1", {{"A", "x"}, {"B", "y"}});
  first.mutable_line_items(0)->set_name("Boots");
  first.mutable_line_items(0)->mutable_unit_price()->set_currency("EUR");
  first.mutable_line_items(0)->mutable_unit_price()->set_amount_micros(
      25'500'000);
  first.set_revision(1);
  IngestOk({first});
  v1::GetTimelineRequest request;
  *request.mutable_customer() = ByCard("card-1");
  std::vector<v1::InteractionEvent> timeline = WholeTimeline(request, 10);
  ASSERT_EQ(timeline.size(), 1u);
  ASSERT_EQ(timeline[0].line_items_size(), 2);
  EXPECT_EQ(timeline[0].line_items(0).name(), "Boots");
  EXPECT_EQ(timeline[0].line_items(0).unit_price().amount_micros(), 25'500'000);
  // A higher revision replaces the line items, and what is counted.
  v1::InteractionEvent second = Purchase("o-1", "card-1", {{"C", "x"}});
  second.set_revision(2);
  IngestOk({second});
  timeline = WholeTimeline(request, 10);
  ASSERT_EQ(timeline.size(), 1u);
  ASSERT_EQ(timeline[0].line_items_size(), 1);
  EXPECT_EQ(timeline[0].line_items(0).sku(), "C");
  EXPECT_EQ(StoredCounts(), CountFromScratch({{"p:C", "c:x"}}));
  // A bad line item is refused naming it.
  v1::InteractionEvent bad = Purchase("o-2", "card-1", {{"A", "x"}});
  bad.mutable_line_items(0)->set_quantity(0);
  v1::IngestResponse response;
  grpc::Status status = Ingest({bad}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).status(), v1::IngestResult::STATUS_REJECTED);
  EXPECT_EQ(response.results(0).field(), "events[0].line_items[0].quantity");
}

TEST_F(CrossSellTest, OneCustomersBatchOfPurchasesIsCountedInAFewRefreshes) {
  // A hundred purchases of one customer in one call: the notices about it
  // wait for one refresh rather than racing a hundred basket swaps.
  std::vector<v1::InteractionEvent> batch;
  recommendations::Basket basket = {"c:x"};
  for (int i = 0; i < 100; ++i) {
    const std::string sku = absl::StrCat("S", i);
    batch.push_back(Purchase(absl::StrCat("o-", i), "card-1", {{sku, "x"}}));
    basket.insert(absl::StrCat("p:", sku));
  }
  const v1::IngestResponse response = IngestOk(batch);
  for (const v1::IngestResult& result : response.results()) {
    ASSERT_EQ(result.status(), v1::IngestResult::STATUS_ACCEPTED)
        << result.reason();
  }
  EXPECT_EQ(StoredCounts(), CountFromScratch({basket}));
  EXPECT_EQ(cross_sell_metrics_->refreshes(false).Value(), 0);
  EXPECT_LT(cross_sell_metrics_->refreshes(true).Value(), 20);
}

TEST_F(CrossSellTest, BadRequestsNameTheField) {
  IngestOk({Purchase("o-1", "card-1", {{"a", "x"}})});
  v1::GetCrossSellCandidatesRequest request;
  v1::GetCrossSellCandidatesResponse response;
  grpc::Status status = Candidates(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("customer"));
  *request.mutable_customer() = ByCard("card-1");
  request.set_limit(101);
  status = Candidates(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("limit"));
  request.set_limit(0);
  request.set_level(static_cast<v1::CrossSellLevel>(9));
  status = Candidates(request, &response);
  EXPECT_THAT(status.error_message(), HasSubstr("level"));
  request.set_level(v1::CROSS_SELL_LEVEL_PRODUCT);
  request.set_min_customers(-1);
  status = Candidates(request, &response);
  EXPECT_THAT(status.error_message(), HasSubstr("min_customers"));
  request.set_min_customers(0);
  ASSERT_TRUE(Candidates(request, &response).ok());
  EXPECT_THAT(response.bought(), ::testing::ElementsAre("a"));
  EXPECT_EQ(response.candidates_size(), 0);
  *request.mutable_customer() = ByCard("nobody");
  EXPECT_EQ(Candidates(request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace omnihub::testing

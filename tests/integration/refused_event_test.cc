// An event the ingest script cannot store whole is refused before its first
// write, over real gRPC against a real redis-server: a total of the view that
// would leave 64 bits (value per currency, a purchase day's spend), a key of
// the wrong type, a view field that is no number. After each, the stored view
// equals a recomputation from the events stored, nothing else changed, and a
// resend is not taken for a duplicate.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/timeline/stored_event.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

using v1::IngestResult;

constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14, in us
constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kMicrosPerDay = 86'400'000'000;
// The largest amount the validator allows (one billion units, 1e15 micros);
// 9223 of them come within 0.004% of 64 bits.
constexpr int64_t kLargest = 1'000'000'000'000'000;
constexpr int64_t kInt64Max = 9'223'372'036'854'775'807;

std::string Decimal(absl::int128 value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

class RefusedEventTest : public TimelineFixture {
 protected:
  // A call (or, with `purchase`, a purchase) of `amount_micros` USD by Ann.
  static v1::InteractionEvent Paid(
      const std::string& event_id, int64_t amount_micros, int64_t occurred,
      bool purchase = false, const std::string& email = "ann@example.com") {
    v1::InteractionEvent event =
        Event(event_id, v1::IDENTITY_KIND_EMAIL, email, occurred);
    if (purchase) event.set_kind(v1::INTERACTION_KIND_PURCHASE);
    event.mutable_value()->set_currency("USD");
    event.mutable_value()->set_amount_micros(amount_micros);
    return event;
  }

  // `count` events of `amount_micros` each, ids "<prefix>-<i>", in batches.
  void IngestMany(const std::string& prefix, int count, int64_t amount_micros,
                  bool purchase) {
    for (int start = 0; start < count; start += 1000) {
      std::vector<v1::InteractionEvent> batch;
      for (int i = start; i < std::min(count, start + 1000); ++i) {
        batch.push_back(Paid(absl::StrCat(prefix, "-", i), amount_micros,
                             kBase + i, purchase));
      }
      v1::IngestResponse response = IngestOk(std::move(batch));
      for (const IngestResult& result : response.results()) {
        ASSERT_EQ(result.status(), IngestResult::STATUS_ACCEPTED)
            << result.event_id() << ": " << result.reason();
        customer_ = result.customer_id();
      }
    }
  }

  std::string Key(const std::string& suffix) const {
    return absl::StrCat("omnihub:c:{", customer_, "}:", suffix);
  }

  std::vector<std::string> Flat(const std::vector<std::string>& command) {
    absl::StatusOr<redis::Reply> reply = redis_server_->Command(command);
    EXPECT_TRUE(reply.ok()) << reply.status();
    std::vector<std::string> flat;
    if (!reply.ok()) return flat;
    if (reply->type == redis::Reply::Type::kString ||
        reply->type == redis::Reply::Type::kStatus) {
      flat.push_back(reply->str);
    }
    for (const redis::Reply& element : reply->elements) {
      flat.push_back(element.str);
    }
    return flat;
  }

  // Every key and what it holds, to compare before and after.
  std::string Dump() {
    std::string dump;
    for (const std::string& key : AllKeys()) {
      const std::string type = Flat({"TYPE", key}).at(0);
      std::vector<std::string> read = {"GET", key};
      if (type == "hash") read = {"HGETALL", key};
      if (type == "set") read = {"SMEMBERS", key};
      if (type == "zset") read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
      std::vector<std::string> value = Flat(read);
      if (type == "hash" || type == "set")
        std::sort(value.begin(), value.end());
      absl::StrAppend(&dump, key, " = ", absl::StrJoin(value, " "), "\n");
    }
    return dump;
  }

  // The view's fields that add up what the events hold.
  std::map<std::string, std::string> StoredTotals() {
    std::map<std::string, std::string> totals;
    const std::vector<std::string> view = Flat({"HGETALL", Key("v")});
    for (size_t i = 0; i + 1 < view.size(); i += 2) {
      const std::string& field = view[i];
      const std::string& value = view[i + 1];
      const bool counter = absl::StartsWith(field, "n:") ||
                           absl::StartsWith(field, "val:") ||
                           absl::StartsWith(field, "sat_");
      if (counter && value == "0") continue;  // taken out again by an update
      if (counter || field == "total" || field == "first" || field == "last" ||
          absl::StartsWith(field, "t:") || absl::StartsWith(field, "p:")) {
        totals[field] = value;
      }
    }
    return totals;
  }

  // The same fields recomputed from the events stored (their headers), in
  // 128 bits so that a total the view should not hold shows.
  std::map<std::string, std::string> RecomputedTotals() {
    std::map<std::string, absl::int128> sums;
    std::map<std::string, int64_t> latest;
    int64_t first = 0, last = 0;
    std::map<int64_t, std::pair<int64_t, std::map<std::string, absl::int128>>>
        days;
    const std::vector<std::string> events = Flat({"HGETALL", Key("ev")});
    for (size_t i = 0; i + 1 < events.size(); i += 2) {
      std::vector<std::string> header = absl::StrSplit(events[i + 1], '|');
      EXPECT_GE(header.size(), 8u) << events[i];
      if (header.size() < 8) continue;
      int64_t occurred = 0, amount = 0, satisfaction = 0;
      EXPECT_TRUE(absl::SimpleAtoi(header[1], &occurred));
      const std::string& channel = header[2];
      const std::string& currency = header[4];
      sums["total"] += 1;
      sums[absl::StrCat("n:", channel)] += 1;
      latest[absl::StrCat("t:", channel)] =
          std::max(latest[absl::StrCat("t:", channel)], occurred);
      first = first == 0 ? occurred : std::min(first, occurred);
      last = std::max(last, occurred);
      if (!currency.empty()) {
        EXPECT_TRUE(absl::SimpleAtoi(header[5], &amount));
        sums[absl::StrCat("val:", currency)] += amount;
        if (header[3] == "30") {
          auto& day = days[occurred / kMicrosPerDay];
          day.first += 1;
          day.second[currency] += amount;
        }
      }
      if (!header[6].empty()) {
        EXPECT_TRUE(absl::SimpleAtoi(header[6], &satisfaction));
        sums["sat_sum"] += satisfaction;
        sums["sat_n"] += 1;
      }
    }
    std::map<std::string, std::string> totals;
    for (const auto& [field, sum] : sums) {
      if (sum != 0) totals[field] = Decimal(sum);
    }
    for (const auto& [field, at] : latest) totals[field] = absl::StrCat(at);
    if (first != 0) {
      totals["first"] = absl::StrCat(first);
      totals["last"] = absl::StrCat(last);
    }
    for (const auto& [day, purchases] : days) {
      std::string text = absl::StrCat(purchases.first);
      for (const auto& [currency, amount] : purchases.second) {
        if (amount != 0)
          absl::StrAppend(&text, ";", currency, "=", Decimal(amount));
      }
      totals[absl::StrCat("p:", day)] = text;
    }
    return totals;
  }

  void ExpectViewMatchesEvents() {
    EXPECT_EQ(StoredTotals(), RecomputedTotals());
  }

  std::string customer_;
};

TEST_F(RefusedEventTest,
       AValueTotalThatWouldOverflowIsRefusedAndNotADuplicate) {
  // 9223 events of one billion dollars, then what is left to 2^63 - 1: the
  // total is exact up to the last micro.
  IngestMany("big", 9223, kLargest, /*purchase=*/false);
  const int64_t rest = kInt64Max - 9223 * kLargest;
  EXPECT_EQ(IngestOne(Paid("rest", rest, kBase + kMinute)).status(),
            IngestResult::STATUS_ACCEPTED);
  EXPECT_EQ(Flat({"HGET", Key("v"), "val:USD"}),
            std::vector<std::string>{absl::StrCat(kInt64Max)});

  const std::string before = Dump();
  for (int attempt = 0; attempt < 2; ++attempt) {
    // The resend gets the same answer: it was never stored.
    const IngestResult one_more =
        IngestOne(Paid("one-more", 1, kBase + 2 * kMinute));
    EXPECT_EQ(one_more.status(), IngestResult::STATUS_REJECTED);
    EXPECT_EQ(one_more.field(), "events[0].value.amount_micros");
    EXPECT_TRUE(absl::StrContains(one_more.reason(), "overflow"))
        << one_more.reason();
    EXPECT_TRUE(absl::StrContains(one_more.reason(), "USD"))
        << one_more.reason();
    EXPECT_TRUE(absl::StrContains(one_more.reason(), absl::StrCat(kInt64Max)))
        << one_more.reason();
    EXPECT_EQ(Dump(), before);
    ExpectViewMatchesEvents();
  }
  // A refund makes room: the same event is then stored.
  EXPECT_EQ(IngestOne(Paid("refund", -kLargest, kBase + 3 * kMinute)).status(),
            IngestResult::STATUS_ACCEPTED);
  EXPECT_EQ(IngestOne(Paid("one-more", 1, kBase + 2 * kMinute)).status(),
            IngestResult::STATUS_ACCEPTED);
  ExpectViewMatchesEvents();
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com")
                .total_value(0)
                .amount_micros(),
            kInt64Max - kLargest + 1);
}

TEST_F(RefusedEventTest, AnUpdateThatWouldOverflowKeepsTheStoredRevision) {
  EXPECT_EQ(IngestOne(Paid("small", 1, kBase - 1)).status(),
            IngestResult::STATUS_ACCEPTED);
  IngestMany("big", 9223, kLargest, /*purchase=*/false);
  v1::InteractionEvent update = Paid("small", kLargest, kBase - 1);
  update.set_revision(2);
  const std::string before = Dump();
  for (int attempt = 0; attempt < 2; ++attempt) {
    const IngestResult result = IngestOne(update);
    EXPECT_EQ(result.status(), IngestResult::STATUS_REJECTED);
    EXPECT_EQ(result.field(), "events[0].value.amount_micros");
    EXPECT_TRUE(absl::StrContains(result.reason(), "overflow"))
        << result.reason();
    EXPECT_EQ(Dump(), before);
    ExpectViewMatchesEvents();
  }
  // A smaller update fits, and the refused one still is no duplicate of it.
  update.mutable_value()->set_amount_micros(1000);
  EXPECT_EQ(IngestOne(update).status(), IngestResult::STATUS_UPDATED);
  ExpectViewMatchesEvents();
}

TEST_F(RefusedEventTest, APurchaseDaysSpendThatWouldOverflowIsRefused) {
  // Refunds on another day keep the customer's total low; the purchases of
  // one day alone reach 64 bits.
  IngestOne(Paid("refund", -kLargest, kBase - 2 * kMicrosPerDay));
  IngestMany("buy", 9223, kLargest, /*purchase=*/true);
  const std::string before = Dump();
  const IngestResult result =
      IngestOne(Paid("buy-more", kLargest, kBase + kMinute, /*purchase=*/true));
  EXPECT_EQ(result.status(), IngestResult::STATUS_REJECTED);
  EXPECT_EQ(result.field(), "events[0].value.amount_micros");
  EXPECT_TRUE(absl::StrContains(result.reason(), "overflow"))
      << result.reason();
  EXPECT_TRUE(absl::StrContains(result.reason(), "day")) << result.reason();
  EXPECT_EQ(Dump(), before);
  ExpectViewMatchesEvents();
  // On another day it fits.
  EXPECT_EQ(IngestOne(Paid("buy-more", kLargest, kBase + kMicrosPerDay,
                           /*purchase=*/true))
                .status(),
            IngestResult::STATUS_ACCEPTED);
  ExpectViewMatchesEvents();
}

TEST_F(RefusedEventTest, ARefusedEventLetsGoOfTheIdentitiesItClaimed) {
  IngestMany("call", 1, kLargest, /*purchase=*/false);
  // A total at the limit (written here: reaching it takes 9223 events).
  ASSERT_TRUE(
      redis_server_
          ->Command({"HSET", Key("v"), "val:USD", absl::StrCat(kInt64Max)})
          .ok());
  v1::InteractionEvent event = Paid("more", kLargest, kBase + 1);
  *event.add_identities() = Identity(v1::IDENTITY_KIND_PHONE, "+442071838750");
  const std::string before = Dump();
  const IngestResult result = IngestOne(event);
  EXPECT_EQ(result.status(), IngestResult::STATUS_REJECTED);
  EXPECT_TRUE(absl::StrContains(result.reason(), "overflow"))
      << result.reason();
  // The phone was claimed for the customer before the script refused the
  // event, and is free again.
  EXPECT_EQ(Dump(), before);
}

TEST_F(RefusedEventTest, AKeyOfTheWrongTypeFailsTheEventBeforeAnyWrite) {
  IngestMany("call", 3, 1'000'000, /*purchase=*/false);
  // Something else wrote the customer's timeline key as a string.
  ASSERT_TRUE(redis_server_->Command({"DEL", Key("tl")}).ok());
  ASSERT_TRUE(redis_server_->Command({"SET", Key("tl"), "oops"}).ok());
  const std::string before = Dump();
  v1::IngestResponse response;
  grpc::Status status =
      Ingest({Paid("after", 1'000'000, kBase + kMinute)}, &response);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(Dump(), before);
  ExpectViewMatchesEvents();
  // Repaired, the resend is stored: it is not taken for a duplicate.
  ASSERT_TRUE(redis_server_->Command({"DEL", Key("tl")}).ok());
  EXPECT_EQ(IngestOne(Paid("after", 1'000'000, kBase + kMinute)).status(),
            IngestResult::STATUS_ACCEPTED);
  ExpectViewMatchesEvents();
}

TEST_F(RefusedEventTest, AViewFieldThatIsNoNumberFailsTheEventBeforeAnyWrite) {
  IngestMany("call", 3, 1'000'000, /*purchase=*/false);
  const std::vector<std::string> total = Flat({"HGET", Key("v"), "val:USD"});
  for (const auto& [field, junk] :
       std::vector<std::pair<std::string, std::string>>{
           {"val:USD", "lots"},
           {"total", "1e3"},
           {"last", "soon"},
           {"val:USD", "99999999999999999999"}}) {
    const std::vector<std::string> was = Flat({"HGET", Key("v"), field});
    ASSERT_TRUE(redis_server_->Command({"HSET", Key("v"), field, junk}).ok());
    const std::string before = Dump();
    v1::IngestResponse response;
    grpc::Status status =
        Ingest({Paid("after", 1'000'000, kBase + kMinute)}, &response);
    EXPECT_FALSE(status.ok()) << field << " = " << junk;
    EXPECT_EQ(Dump(), before) << field << " = " << junk;
    ASSERT_TRUE(
        redis_server_->Command({"HSET", Key("v"), field, was.at(0)}).ok());
    ExpectViewMatchesEvents();
  }
  // The resend, with the view repaired, is stored.
  EXPECT_EQ(IngestOne(Paid("after", 1'000'000, kBase + kMinute)).status(),
            IngestResult::STATUS_ACCEPTED);
  ExpectViewMatchesEvents();
}

TEST_F(RefusedEventTest,
       AStoredEventWithoutAHeaderFailsItsUpdateBeforeAnyWrite) {
  IngestMany("call", 3, 1'000'000, /*purchase=*/false);
  ASSERT_TRUE(
      redis_server_->Command({"HSET", Key("ev"), "call-1", "not an event"})
          .ok());
  const std::string before = Dump();
  v1::InteractionEvent update = Paid("call-1", 2'000'000, kBase + 1);
  update.set_revision(2);
  v1::IngestResponse response;
  EXPECT_FALSE(Ingest({update}, &response).ok());
  EXPECT_EQ(Dump(), before);
}

TEST_F(RefusedEventTest,
       AMergeWhoseTotalsWouldOverflowIsRefusedBeforeItStarts) {
  IngestMany("ann", 9223, kLargest, /*purchase=*/false);
  const std::string ann = customer_;
  absl::SleepFor(absl::Milliseconds(2));
  const IngestResult bob_first = IngestOne(
      Paid("bob-1", kLargest, kBase + kMinute, false, "bob@example.com"));
  ASSERT_EQ(bob_first.status(), IngestResult::STATUS_ACCEPTED);
  const std::string bob = bob_first.customer_id();
  ASSERT_NE(ann, bob);

  // One event names both: one person, but their dollars cannot be one view.
  v1::InteractionEvent both = Event("both", v1::IDENTITY_KIND_EMAIL,
                                    "ann@example.com", kBase + 2 * kMinute);
  *both.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL, "bob@example.com");
  const IngestResult result = IngestOne(both);
  EXPECT_EQ(result.status(), IngestResult::STATUS_ACCEPTED);
  EXPECT_EQ(result.merged_customer_ids_size(), 0);
  v1::GetMergeLogRequest request;
  request.mutable_customer()->set_customer_id(bob);
  v1::GetMergeLogResponse log;
  grpc::ClientContext context;
  ASSERT_TRUE(customers_->GetMergeLog(&context, request, &log).ok());
  ASSERT_EQ(log.records_size(), 1);
  EXPECT_EQ(log.records(0).outcome(), v1::MergeRecord::OUTCOME_REFUSED);
  EXPECT_TRUE(absl::StrContains(log.records(0).reason(), "overflow"))
      << log.records(0).reason();
  // Nothing half done: no merge pending, each view its own events' sum.
  absl::StatusOr<redis::Reply> pending =
      redis_server_->Command({"ZCARD", "omnihub:{merges}:pending"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->integer, 0);
  for (const std::string& customer : {ann, bob}) {
    customer_ = customer;
    ExpectViewMatchesEvents();
  }

  // A link of the two is refused as a whole.
  v1::LinkIdentitiesRequest link;
  *link.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  *link.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL, "bob@example.com");
  link.set_source("crm/test");
  v1::LinkIdentitiesResponse linked;
  grpc::ClientContext link_context;
  grpc::Status status =
      customers_->LinkIdentities(&link_context, link, &linked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "overflow"))
      << status.error_message();
}

}  // namespace
}  // namespace omnihub::testing

// The per-kind identity limits hold when writes race a merge, over real gRPC
// against a real redis-server: a merge is allowed on snapshots of both
// customers, and an identity either of them takes before the merge writes
// must not give the survivor two of a limited kind (one crm_id). The test
// hook between the check and the writes makes the interleaving certain; a
// second test races links and ingests from several threads.
#include <atomic>
#include <functional>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

using v1::IngestResult;

constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14, in us

class IdentityLimitRaceTest : public TimelineFixture {
 protected:
  IdentityLimitRaceTest() {
    store_options_.merge_step_hook = [this](absl::string_view step) {
      if (step == "checked" && race_ && !raced_.exchange(true)) race_();
      return absl::OkStatus();
    };
  }

  static v1::InteractionEvent WithIdentities(
      const std::string& event_id, int64_t occurred,
      const std::vector<v1::Identity>& identities) {
    v1::InteractionEvent event =
        Event(event_id, identities[0].kind(), identities[0].value(), occurred);
    for (size_t i = 1; i < identities.size(); ++i) {
      *event.add_identities() = identities[i];
    }
    return event;
  }

  std::string IngestOne(const std::string& event_id,
                        const std::vector<v1::Identity>& identities) {
    v1::IngestResponse response =
        IngestOk({WithIdentities(event_id, kBase + ++events_, identities)});
    EXPECT_EQ(response.results_size(), 1);
    if (response.results_size() != 1) return "";
    EXPECT_NE(response.results(0).status(), IngestResult::STATUS_REJECTED)
        << response.results(0).reason();
    return response.results(0).customer_id();
  }

  grpc::Status Link(const std::vector<v1::Identity>& identities) {
    v1::LinkIdentitiesRequest request;
    for (const v1::Identity& identity : identities) {
      *request.add_identities() = identity;
    }
    request.set_source("crm/test");
    v1::LinkIdentitiesResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    return customers_->LinkIdentities(&context, request, &response);
  }

  std::string Command(const std::vector<std::string>& command) {
    absl::StatusOr<redis::Reply> reply = redis_server_->Command(command);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? reply->str : "";
  }

  // Every live customer holds at most one crm_id and one login_id (the
  // default limits), and every identity key names a customer (following
  // its aliases) that holds the identity.
  void ExpectLimitsHold() {
    for (const std::string& key : AllKeys()) {
      if (absl::StartsWith(key, "omnihub:c:") && absl::EndsWith(key, ":v")) {
        absl::StatusOr<redis::Reply> fields =
            redis_server_->Command({"HKEYS", key});
        ASSERT_TRUE(fields.ok());
        std::map<std::string, int> per_kind;
        for (const redis::Reply& field : fields->elements) {
          if (absl::StartsWith(field.str, "i:crm_id:")) ++per_kind["crm_id"];
          if (absl::StartsWith(field.str, "i:login_id:")) {
            ++per_kind["login_id"];
          }
        }
        EXPECT_LE(per_kind["crm_id"], 1) << key;
        EXPECT_LE(per_kind["login_id"], 1) << key;
      }
      if (absl::StartsWith(key, "omnihub:id:{")) {
        const std::string member =
            key.substr(12, key.size() - 13);  // "kind:value"
        std::string customer = Command({"GET", key});
        for (int hop = 0; hop < 8; ++hop) {
          const std::string alias = Command(
              {"HGET", absl::StrCat("omnihub:c:{", customer, "}:v"), "alias"});
          if (alias.empty()) break;
          customer = alias;
        }
        absl::StatusOr<redis::Reply> holds = redis_server_->Command(
            {"HEXISTS", absl::StrCat("omnihub:c:{", customer, "}:v"),
             absl::StrCat("i:", member)});
        ASSERT_TRUE(holds.ok());
        EXPECT_EQ(holds->integer, 1) << key << " names " << customer;
      }
    }
  }

  std::function<void()> race_;
  std::atomic<bool> raced_{false};
  int events_ = 0;
};

const v1::Identity kCrm1 = [] {
  v1::Identity identity;
  identity.set_kind(v1::IDENTITY_KIND_CRM_ID);
  identity.set_value("crm-1");
  return identity;
}();

// Which customer takes a second crm_id while the merge waits between its
// check and its writes, and what proves the two customers one person.
struct Race {
  bool survivor_takes_it;
  bool by_link;
};

class LimitBetweenCheckAndWriteTest
    : public IdentityLimitRaceTest,
      public ::testing::WithParamInterface<Race> {};

TEST_P(LimitBetweenCheckAndWriteTest, TheSurvivorKeepsOneCrmId) {
  const v1::Identity email_a =
      Identity(v1::IDENTITY_KIND_EMAIL, "a@example.com");
  const v1::Identity email_b =
      Identity(v1::IDENTITY_KIND_EMAIL, "b@example.com");
  const v1::Identity crm_2 = Identity(v1::IDENTITY_KIND_CRM_ID, "crm-2");
  // The survivor is the older customer: A, created first.
  const std::string a = IngestOne("a-1", {email_a});
  absl::SleepFor(absl::Milliseconds(2));
  const std::string b = IngestOne("b-1", {email_b});
  ASSERT_LT(a, b);
  // One of them has crm-1 from the start, the other takes crm-2 in the race.
  const v1::Identity& taker = GetParam().survivor_takes_it ? email_a : email_b;
  const v1::Identity& holder = GetParam().survivor_takes_it ? email_b : email_a;
  IngestOne("crm-1", {holder, kCrm1});
  race_ = [&] { IngestOne("crm-2", {taker, crm_2}); };

  if (GetParam().by_link) {
    grpc::Status status = Link({email_a, email_b});
    EXPECT_TRUE(status.ok()) << status.error_message();
  } else {
    IngestOne("both", {email_a, email_b});
  }
  ASSERT_TRUE(raced_);

  // The two are one customer now, with one crm_id: the one it had before
  // the merge wrote; the other was let go, as if the merge had come first.
  const v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "a@example.com");
  EXPECT_EQ(view.customer_id(), a);
  int crm_ids = 0;
  for (const v1::Identity& identity : view.identities()) {
    if (identity.kind() == v1::IDENTITY_KIND_CRM_ID) ++crm_ids;
  }
  EXPECT_EQ(crm_ids, 1);
  EXPECT_EQ(view.total_interactions(), GetParam().by_link ? 4 : 5);
  ExpectLimitsHold();
}

INSTANTIATE_TEST_SUITE_P(
    EitherSideEitherTrigger, LimitBetweenCheckAndWriteTest,
    ::testing::Values(Race{false, true}, Race{true, true}, Race{false, false},
                      Race{true, false}),
    [](const ::testing::TestParamInfo<Race>& info) {
      return absl::StrCat(info.param.survivor_takes_it ? "Survivor" : "Merged",
                          "TakesOne_",
                          info.param.by_link ? "ByLink" : "ByEvent");
    });

// Links and ingests from several threads at once: in each round three
// people, each known by an e-mail, are linked into one while each of them
// gets a crm_id of their own. Whatever interleaving Redis sees, no customer
// ends with two.
TEST_F(IdentityLimitRaceTest, ConcurrentLinksAndIngestsKeepTheLimits) {
  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    auto email = [round](int i) {
      return Identity(v1::IDENTITY_KIND_EMAIL,
                      absl::StrCat("r", round, "p", i, "@example.com"));
    };
    for (int i = 0; i < 3; ++i) {
      IngestOne(absl::StrCat("e-", round, "-", i), {email(i)});
    }
    std::latch start(4);
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
      start.arrive_and_wait();
      Link({email(0), email(1)});
      Link({email(1), email(2)});
    });
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        v1::IngestResponse response;
        Ingest({WithIdentities(
                   absl::StrCat("crm-", round, "-", i), kBase + i,
                   {email(i), Identity(v1::IDENTITY_KIND_CRM_ID,
                                       absl::StrCat("crm-", round, "-", i))})},
               &response);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  // Merges cut short (an operation gave up after too many rounds) are
  // finished first, as a replica's sweep would.
  ASSERT_TRUE(store_->ResumeStaleMerges(absl::ZeroDuration()).ok());
  ExpectLimitsHold();
}

}  // namespace
}  // namespace omnihub::testing

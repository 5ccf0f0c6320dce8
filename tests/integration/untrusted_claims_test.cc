// Unverified identities (claims, v1::Identity.unverified) over real gRPC
// against a real redis-server: a claim never merges two customers, never
// takes an identity another customer has, never moves an event off the
// customer its verified identities stand for, and every conflict is a
// refused merge in the merge log ("untrusted source") that an agent can
// confirm with LinkIdentities. A claim of an identity nobody had is no
// ownership a verified event trusts: the verified event takes it over
// (pre-claiming). A caller not allowed to vouch for identities gets all of
// its identities taken as claims, and its events never land on a customer
// whose identities were verified.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

using v1::IngestResult;
using v1::MergeRecord;

constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14, in us

// The metadata by which a test call says its caller may not vouch for
// identities (standing in for a token without the scope ingest-verified).
constexpr char kMayNotVerify[] = "x-test-may-not-verify";

class UntrustedClaimsTest : public TimelineFixture {
 protected:
  UntrustedClaimsTest() {
    caller_may_verify_ = [](const grpc::CallbackServerContext& context) {
      return context.client_metadata().find(kMayNotVerify) ==
             context.client_metadata().end();
    };
  }

  static v1::Identity Claim(v1::IdentityKind kind, const std::string& value) {
    v1::Identity identity = Identity(kind, value);
    identity.set_unverified(true);
    return identity;
  }

  static v1::InteractionEvent WebEvent(const std::string& event_id,
                                       std::vector<v1::Identity> identities,
                                       int64_t occurred_micros = kBase) {
    v1::InteractionEvent event =
        Event(event_id, identities[0].kind(), identities[0].value(),
              occurred_micros, v1::CHANNEL_WEB);
    event.set_kind(v1::INTERACTION_KIND_IDENTIFIED);
    event.set_source("web-adapter/shop");
    event.clear_identities();
    for (v1::Identity& identity : identities) {
      *event.add_identities() = std::move(identity);
    }
    return event;
  }

  IngestResult IngestOne(v1::InteractionEvent event, bool may_verify = true) {
    v1::IngestRequest request;
    *request.add_events() = std::move(event);
    grpc::ClientContext context;
    if (!may_verify) context.AddMetadata(kMayNotVerify, "1");
    v1::IngestResponse response;
    grpc::Status status = stub_->Ingest(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (response.results_size() != 1) return IngestResult();
    EXPECT_NE(response.results(0).status(), IngestResult::STATUS_REJECTED)
        << response.results(0).reason();
    return response.results(0);
  }

  std::vector<MergeRecord> MergeLog(const std::string& customer_id) {
    v1::GetMergeLogRequest request;
    request.mutable_customer()->set_customer_id(customer_id);
    v1::GetMergeLogResponse response;
    grpc::ClientContext context;
    grpc::Status status = customers_->GetMergeLog(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.records().begin(), response.records().end()};
  }

  static std::set<std::string> IdentitiesOf(const v1::CustomerView& view) {
    std::set<std::string> values;
    for (const v1::Identity& identity : view.identities()) {
      values.insert(identity.value());
    }
    return values;
  }

  // Ann (known by e-mail) and Bob (known by phone), two customers.
  void TwoCustomers() {
    ann_ = IngestOne(WebEvent("ann-1", {Identity(v1::IDENTITY_KIND_EMAIL,
                                                 "ann@example.com")}))
               .customer_id();
    bob_ =
        IngestOne(WebEvent("bob-1",
                           {Identity(v1::IDENTITY_KIND_PHONE, "+447700900123")},
                           kBase + 1))
            .customer_id();
    ASSERT_FALSE(ann_.empty());
    ASSERT_FALSE(bob_.empty());
    ASSERT_NE(ann_, bob_);
  }

  void ExpectApart() {
    const v1::CustomerView ann =
        CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
    const v1::CustomerView bob =
        CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+447700900123");
    EXPECT_EQ(ann.customer_id(), ann_);
    EXPECT_EQ(bob.customer_id(), bob_);
    EXPECT_EQ(IdentitiesOf(ann), std::set<std::string>{"ann@example.com"});
    EXPECT_EQ(IdentitiesOf(bob), std::set<std::string>{"+447700900123"});
    EXPECT_EQ(ann.total_interactions(), 1);
    EXPECT_EQ(bob.total_interactions(), 1);
  }

  // The customer's events, newest first.
  std::set<std::string> EventIdsOf(const std::string& customer_id) {
    v1::GetTimelineRequest request;
    request.mutable_customer()->set_customer_id(customer_id);
    std::set<std::string> ids;
    for (const v1::InteractionEvent& event : WholeTimeline(request, 50)) {
      ids.insert(event.event_id());
    }
    return ids;
  }

  // A purchase the shop's backend reports (a server key: verified).
  static v1::InteractionEvent Purchase(const std::string& event_id,
                                       std::vector<v1::Identity> identities,
                                       int64_t occurred_micros) {
    v1::InteractionEvent event =
        WebEvent(event_id, std::move(identities), occurred_micros);
    event.set_kind(v1::INTERACTION_KIND_PURCHASE);
    event.set_source("web-adapter/shop-backend");
    event.mutable_value()->set_amount_micros(59'900'000);
    event.mutable_value()->set_currency("EUR");
    return event;
  }

  std::string ann_, bob_;
};

TEST_F(UntrustedClaimsTest, ClaimsOfTwoCustomersMergeNothingAndAreLogged) {
  ASSERT_NO_FATAL_FAILURE(TwoCustomers());
  // A visitor (a verified anonymous id) claims Ann's e-mail and Bob's phone.
  const IngestResult result = IngestOne(
      WebEvent("poison-1",
               {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil"),
                Claim(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                Claim(v1::IDENTITY_KIND_PHONE, "+447700900123")},
               kBase + 2));
  EXPECT_EQ(result.status(), IngestResult::STATUS_ACCEPTED);
  EXPECT_EQ(result.merged_customer_ids_size(), 0);
  const std::string visitor = result.customer_id();
  EXPECT_NE(visitor, ann_);
  EXPECT_NE(visitor, bob_);
  ASSERT_NO_FATAL_FAILURE(ExpectApart());
  const v1::CustomerView evil =
      CustomerByIdentity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil");
  EXPECT_EQ(evil.customer_id(), visitor);
  EXPECT_EQ(IdentitiesOf(evil), std::set<std::string>{"anon-evil"});

  // Both conflicts are refused merges, on both sides' logs.
  std::vector<MergeRecord> log = MergeLog(visitor);
  ASSERT_EQ(log.size(), 2u);
  std::set<std::string> others;
  for (const MergeRecord& record : log) {
    EXPECT_EQ(record.outcome(), MergeRecord::OUTCOME_REFUSED);
    EXPECT_EQ(record.reason(), "untrusted source");
    EXPECT_EQ(record.event_id(), "poison-1");
    EXPECT_EQ(record.source(), "web-adapter/shop");
    EXPECT_EQ(record.trigger(), MergeRecord::TRIGGER_EVENT);
    ASSERT_EQ(record.linking_identities_size(), 1);
    others.insert(record.survivor_id() == visitor ? record.merged_id()
                                                  : record.survivor_id());
  }
  EXPECT_EQ(others, (std::set<std::string>{ann_, bob_}));
  std::vector<MergeRecord> ann_log = MergeLog(ann_);
  ASSERT_EQ(ann_log.size(), 1u);
  EXPECT_EQ(ann_log[0].reason(), "untrusted source");
  EXPECT_EQ(ann_log[0].survivor_id(), ann_);  // the older
  EXPECT_EQ(ann_log[0].merged_id(), visitor);
  ASSERT_EQ(ann_log[0].linking_identities_size(), 1);
  EXPECT_EQ(ann_log[0].linking_identities(0).value(), "ann@example.com");
  EXPECT_EQ(ann_log[0].survivor().identities_size(), 1);

  // Sent again, the same refusals are counted, not written twice.
  IngestOne(WebEvent("poison-2",
                     {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil"),
                      Claim(v1::IDENTITY_KIND_EMAIL, "ann@example.com")},
                     kBase + 3));
  ann_log = MergeLog(ann_);
  ASSERT_EQ(ann_log.size(), 1u);
  EXPECT_EQ(ann_log[0].times(), 2);
  ASSERT_NO_FATAL_FAILURE(ExpectApart());

  // An agent who knows it is Ann confirms it: then they are one.
  v1::LinkIdentitiesRequest link;
  *link.add_identities() =
      Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil");
  *link.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  link.set_source("agent/maria");
  link.set_reason("confirmed on the phone");
  v1::LinkIdentitiesResponse linked;
  grpc::ClientContext context;
  grpc::Status status = customers_->LinkIdentities(&context, link, &linked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(linked.customer_id(), ann_);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil")
                .customer_id(),
            ann_);
}

TEST_F(UntrustedClaimsTest, TheSameIdentitiesVerifiedMergeAsBefore) {
  ASSERT_NO_FATAL_FAILURE(TwoCustomers());
  const IngestResult result = IngestOne(
      WebEvent("login-1",
               {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-ann"),
                Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                Identity(v1::IDENTITY_KIND_PHONE, "+447700900123")},
               kBase + 2));
  EXPECT_EQ(result.customer_id(), ann_);
  ASSERT_EQ(result.merged_customer_ids_size(), 1);
  EXPECT_EQ(result.merged_customer_ids(0), bob_);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+447700900123")
                .customer_id(),
            ann_);
}

TEST_F(UntrustedClaimsTest, AClaimOfAnIdentityNobodyHasJoinsTheVisitor) {
  // A known visitor, then a new one, each claiming a new e-mail.
  const std::string visitor =
      IngestOne(WebEvent("page-1", {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID,
                                             "anon-1")}))
          .customer_id();
  IngestResult claimed = IngestOne(
      WebEvent("identify-1",
               {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-1"),
                Claim(v1::IDENTITY_KIND_EMAIL, "new@example.com"),
                Claim(v1::IDENTITY_KIND_LOGIN_ID, "user-new")},
               kBase + 1));
  EXPECT_EQ(claimed.customer_id(), visitor);
  const v1::CustomerView view =
      CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "new@example.com");
  EXPECT_EQ(view.customer_id(), visitor);
  EXPECT_EQ(IdentitiesOf(view),
            (std::set<std::string>{"anon-1", "new@example.com", "user-new"}));
  EXPECT_TRUE(MergeLog(visitor).empty());

  IngestResult fresh = IngestOne(
      WebEvent("identify-2",
               {Claim(v1::IDENTITY_KIND_EMAIL, "other@example.com"),
                Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-2")},
               kBase + 2));
  EXPECT_NE(fresh.customer_id(), visitor);
  EXPECT_EQ(IdentitiesOf(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL,
                                            "other@example.com")),
            (std::set<std::string>{"anon-2", "other@example.com"}));
}

TEST_F(UntrustedClaimsTest, AKnownVisitorKeepsItsEventWhateverItClaims) {
  ASSERT_NO_FATAL_FAILURE(TwoCustomers());
  // The claim outranks the anonymous id, but the event stays the visitor's.
  const std::string visitor =
      IngestOne(WebEvent("page-1", {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID,
                                             "anon-1")}))
          .customer_id();
  const IngestResult result = IngestOne(
      WebEvent("identify-1",
               {Claim(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                Claim(v1::IDENTITY_KIND_LOGIN_ID, "user-1"),
                Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-1")},
               kBase + 2));
  EXPECT_EQ(result.customer_id(), visitor);
  ASSERT_NO_FATAL_FAILURE(ExpectApart());
  // The login nobody had is the visitor's now; Ann's e-mail stays Ann's.
  EXPECT_EQ(IdentitiesOf(CustomerByIdentity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID,
                                            "anon-1")),
            (std::set<std::string>{"anon-1", "user-1"}));
  EXPECT_EQ(MergeLog(visitor).size(), 1u);
}

TEST_F(UntrustedClaimsTest, AnEventOfClaimsOnlyNeverLandsOnAVerifiedOwner) {
  ASSERT_NO_FATAL_FAILURE(TwoCustomers());
  // Ann's and Bob's identities were verified: a claims-only event naming
  // them is not theirs. It starts a customer of its own, which gets the
  // claim nobody had.
  const IngestResult result =
      IngestOne(WebEvent("claims-only",
                         {Claim(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                          Claim(v1::IDENTITY_KIND_LOGIN_ID, "user-x"),
                          Claim(v1::IDENTITY_KIND_PHONE, "+447700900123")},
                         kBase + 2));
  const std::string claimer = result.customer_id();
  EXPECT_NE(claimer, ann_);
  EXPECT_NE(claimer, bob_);
  EXPECT_EQ(result.merged_customer_ids_size(), 0);
  ASSERT_NO_FATAL_FAILURE(ExpectApart());
  EXPECT_EQ(EventIdsOf(ann_), std::set<std::string>{"ann-1"});
  const v1::CustomerView claimed =
      CustomerByIdentity(v1::IDENTITY_KIND_LOGIN_ID, "user-x");
  EXPECT_EQ(claimed.customer_id(), claimer);
  EXPECT_EQ(IdentitiesOf(claimed), std::set<std::string>{"user-x"});
  ASSERT_EQ(MergeLog(bob_).size(), 1u);
  EXPECT_EQ(MergeLog(bob_)[0].reason(), "untrusted source");

  // The next claims-only event follows the claim its own customer holds.
  const IngestResult again =
      IngestOne(WebEvent("claims-only-2",
                         {Claim(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                          Claim(v1::IDENTITY_KIND_LOGIN_ID, "user-x")},
                         kBase + 3));
  EXPECT_EQ(again.customer_id(), claimer);
  EXPECT_EQ(EventIdsOf(claimer),
            (std::set<std::string>{"claims-only", "claims-only-2"}));

  // Claims only, all of them verified elsewhere: a customer with no
  // identity to be found by, never Ann's.
  const IngestResult orphan = IngestOne(
      WebEvent("claims-only-3",
               {Claim(v1::IDENTITY_KIND_EMAIL, "ann@example.com")}, kBase + 4));
  EXPECT_NE(orphan.customer_id(), ann_);
  EXPECT_NE(orphan.customer_id(), claimer);
  EXPECT_EQ(EventIdsOf(ann_), std::set<std::string>{"ann-1"});
  EXPECT_EQ(EventIdsOf(orphan.customer_id()),
            std::set<std::string>{"claims-only-3"});
}

TEST_F(UntrustedClaimsTest, ACallerNotAllowedToVerifyOnlyClaims) {
  ASSERT_NO_FATAL_FAILURE(TwoCustomers());
  // Its identities say nothing of being unverified: they are taken as such.
  const IngestResult result = IngestOne(
      WebEvent("unprivileged-1",
               {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-3"),
                Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                Identity(v1::IDENTITY_KIND_PHONE, "+447700900123")},
               kBase + 2),
      /*may_verify=*/false);
  EXPECT_EQ(result.status(), IngestResult::STATUS_ACCEPTED);
  EXPECT_EQ(result.merged_customer_ids_size(), 0);
  // Only claims, Ann's and Bob's verified: neither of theirs.
  EXPECT_NE(result.customer_id(), ann_);
  EXPECT_NE(result.customer_id(), bob_);
  EXPECT_EQ(EventIdsOf(ann_), std::set<std::string>{"ann-1"});
  EXPECT_EQ(IdentitiesOf(
                CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com")),
            std::set<std::string>{"ann@example.com"});
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+447700900123")
                .customer_id(),
            bob_);
  ASSERT_EQ(MergeLog(bob_).size(), 1u);
  EXPECT_EQ(MergeLog(bob_)[0].reason(), "untrusted source");

  // The stream decides for its caller too.
  grpc::ClientContext context;
  context.AddMetadata(kMayNotVerify, "1");
  auto stream = stub_->IngestStream(&context);
  v1::IngestRequest request;
  *request.add_events() =
      WebEvent("unprivileged-2",
               {Identity(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                Identity(v1::IDENTITY_KIND_PHONE, "+447700900123")},
               kBase + 3);
  ASSERT_TRUE(stream->Write(request));
  v1::IngestResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).merged_customer_ids_size(), 0);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_NE(CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+447700900123")
                .customer_id(),
            ann_);
}

TEST_F(UntrustedClaimsTest, AVerifiedEventTakesOverAPreClaimedIdentity) {
  // The attacker's browser claims Alice's e-mail before Alice ever shows up.
  const IngestResult pre_claim = IngestOne(
      WebEvent("evil-identify",
               {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil"),
                Claim(v1::IDENTITY_KIND_EMAIL, "alice@example.com")}));
  const std::string attacker = pre_claim.customer_id();
  ASSERT_FALSE(attacker.empty());
  ASSERT_EQ(IdentitiesOf(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL,
                                            "alice@example.com")),
            (std::set<std::string>{"anon-evil", "alice@example.com"}));

  // Alice's purchase, reported by the shop's backend.
  const IngestResult purchase = IngestOne(Purchase(
      "alice-order-1", {Identity(v1::IDENTITY_KIND_EMAIL, "alice@example.com")},
      kBase + 1));
  EXPECT_EQ(purchase.status(), IngestResult::STATUS_ACCEPTED);
  const std::string alice = purchase.customer_id();
  EXPECT_NE(alice, attacker);
  EXPECT_EQ(purchase.merged_customer_ids_size(), 0);

  // Alice's history is hers alone; the attacker keeps its own event and
  // holds nothing of Alice's.
  const v1::CustomerView alice_view =
      CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "alice@example.com");
  EXPECT_EQ(alice_view.customer_id(), alice);
  EXPECT_EQ(IdentitiesOf(alice_view),
            std::set<std::string>{"alice@example.com"});
  EXPECT_EQ(EventIdsOf(alice), std::set<std::string>{"alice-order-1"});
  const v1::CustomerView evil_view =
      CustomerByIdentity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil");
  EXPECT_EQ(evil_view.customer_id(), attacker);
  EXPECT_EQ(IdentitiesOf(evil_view), std::set<std::string>{"anon-evil"});
  EXPECT_EQ(evil_view.total_value_size(), 0);
  EXPECT_EQ(EventIdsOf(attacker), std::set<std::string>{"evil-identify"});

  // The move is in both merge logs.
  for (const std::string& customer : {attacker, alice}) {
    const std::vector<MergeRecord> log = MergeLog(customer);
    ASSERT_EQ(log.size(), 1u) << customer;
    EXPECT_EQ(log[0].outcome(), MergeRecord::OUTCOME_REFUSED);
    EXPECT_EQ(log[0].reason(), "verified source took over an unverified claim");
    EXPECT_EQ(log[0].event_id(), "alice-order-1");
    EXPECT_EQ(log[0].survivor_id(), attacker);  // the older
    EXPECT_EQ(log[0].merged_id(), alice);
    ASSERT_EQ(log[0].linking_identities_size(), 1);
    EXPECT_EQ(log[0].linking_identities(0).value(), "alice@example.com");
  }

  // Verified for good: the attacker's claim is refused now, and Alice's
  // next order finds her.
  const IngestResult again = IngestOne(
      WebEvent("evil-identify-2",
               {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil"),
                Claim(v1::IDENTITY_KIND_EMAIL, "alice@example.com")},
               kBase + 2));
  EXPECT_EQ(again.customer_id(), attacker);
  ASSERT_EQ(MergeLog(attacker).size(), 1u);
  EXPECT_EQ(MergeLog(attacker)[0].times(), 2);
  EXPECT_EQ(IdentitiesOf(CustomerByIdentity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID,
                                            "anon-evil")),
            std::set<std::string>{"anon-evil"});
  EXPECT_EQ(IngestOne(Purchase("alice-order-2",
                               {Identity(v1::IDENTITY_KIND_EMAIL,
                                         "alice@example.com")},
                               kBase + 3))
                .customer_id(),
            alice);
  EXPECT_EQ(EventIdsOf(alice),
            (std::set<std::string>{"alice-order-1", "alice-order-2"}));
  EXPECT_EQ(EventIdsOf(attacker),
            (std::set<std::string>{"evil-identify", "evil-identify-2"}));
}

TEST_F(UntrustedClaimsTest, APreClaimedIdentityNeverMergesIntoItsOwner) {
  // Alice is known by her CRM id; the attacker claims her e-mail, which
  // nobody had yet.
  const std::string alice =
      IngestOne(Purchase("alice-order-1",
                         {Identity(v1::IDENTITY_KIND_CRM_ID, "crm-42")}, kBase))
          .customer_id();
  const std::string attacker =
      IngestOne(
          WebEvent("evil-identify",
                   {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-evil"),
                    Claim(v1::IDENTITY_KIND_EMAIL, "alice@example.com")},
                   kBase + 1))
          .customer_id();
  ASSERT_NE(alice, attacker);
  // The backend names both: the e-mail goes to Alice, and the attacker's
  // customer is not merged into hers.
  const IngestResult result = IngestOne(
      Purchase("alice-order-2",
               {Identity(v1::IDENTITY_KIND_CRM_ID, "crm-42"),
                Identity(v1::IDENTITY_KIND_EMAIL, "alice@example.com")},
               kBase + 2));
  EXPECT_EQ(result.customer_id(), alice);
  EXPECT_EQ(result.merged_customer_ids_size(), 0);
  EXPECT_EQ(IdentitiesOf(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL,
                                            "alice@example.com")),
            (std::set<std::string>{"crm-42", "alice@example.com"}));
  EXPECT_EQ(EventIdsOf(alice),
            (std::set<std::string>{"alice-order-1", "alice-order-2"}));
  EXPECT_EQ(IdentitiesOf(CustomerByIdentity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID,
                                            "anon-evil")),
            std::set<std::string>{"anon-evil"});
  EXPECT_EQ(EventIdsOf(attacker), std::set<std::string>{"evil-identify"});
  ASSERT_EQ(MergeLog(alice).size(), 1u);
  EXPECT_EQ(MergeLog(alice)[0].reason(),
            "verified source took over an unverified claim");
}

TEST_F(UntrustedClaimsTest, AVerifiedEventVouchingForTheClaimerConfirmsIt) {
  // A visitor identifies itself in the browser (a claim); the backend then
  // reports its order with the same anonymous id and e-mail: it is her.
  const std::string visitor =
      IngestOne(
          WebEvent("identify",
                   {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-1"),
                    Claim(v1::IDENTITY_KIND_EMAIL, "carol@example.com")}))
          .customer_id();
  const IngestResult order = IngestOne(
      Purchase("carol-order-1",
               {Identity(v1::IDENTITY_KIND_EMAIL, "carol@example.com"),
                Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-1")},
               kBase + 1));
  EXPECT_EQ(order.customer_id(), visitor);
  EXPECT_TRUE(MergeLog(visitor).empty());
  // Verified now: an event naming only the e-mail finds her, takes nothing.
  EXPECT_EQ(IngestOne(Purchase("carol-order-2",
                               {Identity(v1::IDENTITY_KIND_EMAIL,
                                         "carol@example.com")},
                               kBase + 2))
                .customer_id(),
            visitor);
  EXPECT_EQ(IdentitiesOf(CustomerByIdentity(v1::IDENTITY_KIND_EMAIL,
                                            "carol@example.com")),
            (std::set<std::string>{"anon-1", "carol@example.com"}));
  EXPECT_TRUE(MergeLog(visitor).empty());
}

class UntrustedRecordCapTest : public UntrustedClaimsTest {
 protected:
  UntrustedRecordCapTest() { store_options_.max_untrusted_records = 2; }

  double Dropped() {
    for (const prometheus::MetricFamily& family : registry_->Collect()) {
      if (family.name == "omnihub_untrusted_records_dropped_total") {
        return family.metric.at(0).counter.value;
      }
    }
    return -1;
  }
};

TEST_F(UntrustedRecordCapTest, RecordsPastTheCapAreOnlyCounted) {
  // Four customers, each known by an e-mail.
  std::vector<std::string> owners;
  for (int n = 0; n < 4; ++n) {
    const std::string email = absl::StrCat("owner", n, "@example.com");
    owners.push_back(
        IngestOne(WebEvent(absl::StrCat("owner-", n),
                           {Identity(v1::IDENTITY_KIND_EMAIL, email)},
                           kBase + n))
            .customer_id());
  }
  // One visitor claims each of them, one event apiece.
  std::string visitor;
  for (int n = 0; n < 4; ++n) {
    visitor =
        IngestOne(
            WebEvent(absl::StrCat("claim-", n),
                     {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-v"),
                      Claim(v1::IDENTITY_KIND_EMAIL,
                            absl::StrCat("owner", n, "@example.com"))},
                     kBase + 10 + n))
            .customer_id();
  }
  // The visitor's log stops at two; the owners each have theirs (both
  // sides of a refusal are written, each within its own log's cap).
  const std::vector<MergeRecord> log = MergeLog(visitor);
  EXPECT_EQ(log.size(), 2u);
  for (int n = 0; n < 4; ++n) {
    EXPECT_EQ(MergeLog(owners[n]).size(), 1u) << n;
  }
  EXPECT_EQ(Dropped(), 2);
  // A refusal already written is still counted when it happens again.
  IngestOne(WebEvent("claim-again",
                     {Identity(v1::IDENTITY_KIND_WEB_ANONYMOUS_ID, "anon-v"),
                      Claim(v1::IDENTITY_KIND_EMAIL, "owner0@example.com")},
                     kBase + 20));
  EXPECT_EQ(MergeLog(visitor).size(), 2u);
  EXPECT_EQ(MergeLog(owners[0])[0].times(), 2);
  EXPECT_EQ(Dropped(), 2);
}

}  // namespace
}  // namespace omnihub::testing

// Unverified identities (claims, v1::Identity.unverified) over real gRPC
// against a real redis-server: a claim never merges two customers, never
// takes an identity another customer has, never moves an event off the
// customer its verified identities stand for, and every conflict is a
// refused merge in the merge log ("untrusted source") that an agent can
// confirm with LinkIdentities. A caller not allowed to vouch for identities
// gets all of its identities taken as claims.
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

TEST_F(UntrustedClaimsTest, AnEventOfClaimsOnlyFindsButAttachesNothing) {
  ASSERT_NO_FATAL_FAILURE(TwoCustomers());
  const IngestResult result =
      IngestOne(WebEvent("claims-only",
                         {Claim(v1::IDENTITY_KIND_EMAIL, "ann@example.com"),
                          Claim(v1::IDENTITY_KIND_LOGIN_ID, "user-x"),
                          Claim(v1::IDENTITY_KIND_PHONE, "+447700900123")},
                         kBase + 2));
  EXPECT_EQ(result.customer_id(), ann_);
  EXPECT_EQ(result.merged_customer_ids_size(), 0);
  const v1::CustomerView ann =
      CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, "ann@example.com");
  EXPECT_EQ(IdentitiesOf(ann), std::set<std::string>{"ann@example.com"});
  EXPECT_EQ(ann.total_interactions(), 2);
  EXPECT_EQ(CustomerByIdentity(v1::IDENTITY_KIND_PHONE, "+447700900123")
                .customer_id(),
            bob_);
  v1::GetCustomerRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_LOGIN_ID, "user-x");
  v1::GetCustomerResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(stub_->GetCustomer(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(MergeLog(bob_).size(), 1u);
  EXPECT_EQ(MergeLog(bob_)[0].reason(), "untrusted source");
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
  // Only claims: the most trustworthy one someone has finds the customer.
  EXPECT_EQ(result.customer_id(), ann_);
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

}  // namespace
}  // namespace omnihub::testing

// Suppression (ForgetCustomer with suppress), over real gRPC against a real
// redis-server: events that carry an erased identity are refused and store
// nothing while the suppression lasts; other people's events are stored; a
// suppression ends with its period or when lifted; the listing shows no
// personal data; LinkIdentities cannot bring the person back; bad arguments
// name their field.
#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/timeline/key_schema.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

using v1::IngestResult;

constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14, in us
constexpr int64_t kMinute = 60'000'000;
constexpr char kPhone[] = "+442071838750";
constexpr char kOtherPhone[] = "+442079460000";
constexpr char kEmail[] = "ann@example.com";
constexpr char kOtherEmail[] = "bob@example.com";

class SuppressionTest : public TimelineFixture {
 protected:
  SuppressionTest() {
    store_options_.clock = [this] {
      return absl::Now() + absl::Seconds(clock_offset_seconds_.load());
    };
  }

  static v1::InteractionEvent With(v1::InteractionEvent event,
                                   const v1::Identity& more) {
    *event.add_identities() = more;
    return event;
  }

  // Ann: a phone call, then an e-mail on the same call; her customer id.
  std::string IngestAnn() {
    IngestOne(Event("call-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase));
    return IngestOne(With(Event("call-2", v1::IDENTITY_KIND_PHONE, kPhone,
                                kBase + kMinute),
                          Identity(v1::IDENTITY_KIND_EMAIL, kEmail)))
        .customer_id();
  }

  grpc::Status Forget(v1::ForgetCustomerRequest request,
                      v1::ForgetCustomerResponse* response) {
    if (!request.has_customer()) {
      *request.mutable_customer()->mutable_identity() =
          Identity(v1::IDENTITY_KIND_EMAIL, kEmail);
    }
    if (request.requested_by().empty()) request.set_requested_by("ticket-1");
    grpc::ClientContext context;
    return customers_->ForgetCustomer(&context, request, response);
  }

  // Ann erased by her e-mail, with suppress for `seconds` (0: the default).
  v1::ForgetCustomerResponse ForgetAnnSuppressed(int64_t seconds = 0) {
    v1::ForgetCustomerRequest request;
    request.set_suppress(true);
    if (seconds > 0) request.mutable_suppress_for()->set_seconds(seconds);
    v1::ForgetCustomerResponse response;
    grpc::Status status = Forget(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Check(const v1::Identity& identity,
                     v1::CheckSuppressionResponse* response) {
    v1::CheckSuppressionRequest request;
    *request.mutable_identity() = identity;
    grpc::ClientContext context;
    return customers_->CheckSuppression(&context, request, response);
  }

  grpc::Status Lift(v1::LiftSuppressionRequest request,
                    v1::LiftSuppressionResponse* response) {
    grpc::ClientContext context;
    return customers_->LiftSuppression(&context, request, response);
  }

  grpc::Status List(int page_size, const std::string& page_token,
                    v1::ListSuppressionsResponse* response) {
    v1::ListSuppressionsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    grpc::ClientContext context;
    return customers_->ListSuppressions(&context, request, response);
  }

  double EventsCounted(const std::string& result) {
    double total = 0;
    for (const prometheus::MetricFamily& family : registry_->Collect()) {
      if (family.name != "omnihub_events_total") continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        for (const prometheus::ClientMetric::Label& label : metric.label) {
          if (label.name == "result" && label.value == result) {
            total += metric.counter.value;
          }
        }
      }
    }
    return total;
  }

  std::atomic<int64_t> clock_offset_seconds_{0};
};

TEST_F(SuppressionTest, ASuppressedIdentityIsRefusedAndNothingIsStored) {
  const std::string ann = IngestAnn();
  const absl::Time asked = absl::Now();
  const v1::ForgetCustomerResponse erased = ForgetAnnSuppressed();
  EXPECT_EQ(erased.customer_id(), ann);
  EXPECT_EQ(erased.identities_suppressed(), 2);
  // The hub's default period: a year.
  const absl::Time until =
      absl::FromUnixSeconds(erased.suppressed_until().seconds());
  EXPECT_GE(until, asked + absl::Hours(24 * 365) - absl::Seconds(5));
  EXPECT_LE(until, absl::Now() + absl::Hours(24 * 365) + absl::Seconds(5));

  // A resend from an adapter's spool, a new event that carries the e-mail
  // beside an unknown phone, and another person's event, in one batch: each
  // gets its own answer.
  v1::IngestResponse response = IngestOk(
      {With(Event("call-2", v1::IDENTITY_KIND_PHONE, kPhone, kBase + kMinute),
            Identity(v1::IDENTITY_KIND_EMAIL, kEmail)),
       With(Event("mail-9", v1::IDENTITY_KIND_PHONE, kOtherPhone,
                  kBase + 2 * kMinute),
            Identity(v1::IDENTITY_KIND_EMAIL, kEmail)),
       Event("bob-1", v1::IDENTITY_KIND_EMAIL, kOtherEmail,
             kBase + 3 * kMinute)});
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).status(), IngestResult::STATUS_SUPPRESSED);
  EXPECT_TRUE(
      absl::StartsWith(response.results(0).field(), "events[0].identities["));
  const IngestResult& refused = response.results(1);
  EXPECT_EQ(refused.status(), IngestResult::STATUS_SUPPRESSED);
  EXPECT_EQ(refused.field(), "events[1].identities[1]");
  EXPECT_TRUE(absl::StrContains(refused.reason(), "suppressed until"))
      << refused.reason();
  EXPECT_TRUE(refused.customer_id().empty());
  EXPECT_EQ(response.results(2).status(), IngestResult::STATUS_ACCEPTED);
  // The resend of an erased event with the phone alone, too.
  EXPECT_EQ(IngestOne(Event("call-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
                .status(),
            IngestResult::STATUS_SUPPRESSED);
  EXPECT_EQ(EventsCounted("suppressed"), 3);

  // Nothing of Ann, nor of the refused event (its other phone included).
  const std::string dump = DumpRedis();
  for (const char* trace : {kEmail, kPhone, kOtherPhone, "mail-9", "call-1"}) {
    EXPECT_FALSE(absl::StrContains(dump, trace)) << trace << " in" << dump;
  }
  EXPECT_TRUE(absl::StrContains(dump, kOtherEmail));
  // The suppressions hold hashes, not values, and end with the period.
  int suppressions = 0;
  for (const std::string& key : AllKeys()) {
    if (!absl::StartsWith(key, "omnihub:sup:")) continue;
    ++suppressions;
    absl::StatusOr<redis::Reply> ttl = redis_server_->Command({"PTTL", key});
    ASSERT_TRUE(ttl.ok());
    EXPECT_GT(ttl->integer, 0);
    EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(24 * 365)));
  }
  EXPECT_EQ(suppressions, 2);
}

TEST_F(SuppressionTest, ASuppressionEndsWithItsPeriod) {
  IngestAnn();
  ForgetAnnSuppressed(/*seconds=*/3600);
  const v1::Identity email = Identity(v1::IDENTITY_KIND_EMAIL, kEmail);
  v1::CheckSuppressionResponse checked;
  ASSERT_TRUE(Check(email, &checked).ok());
  EXPECT_TRUE(checked.suppressed());
  EXPECT_EQ(IngestOne(Event("mail-1", v1::IDENTITY_KIND_EMAIL, kEmail, kBase))
                .status(),
            IngestResult::STATUS_SUPPRESSED);
  // Redis lets the keys go after the period; the store's clock decides
  // first.
  for (const std::string& key : AllKeys()) {
    if (!absl::StartsWith(key, "omnihub:sup:")) continue;
    absl::StatusOr<redis::Reply> ttl = redis_server_->Command({"PTTL", key});
    ASSERT_TRUE(ttl.ok());
    EXPECT_GT(ttl->integer, 0);
    EXPECT_LE(ttl->integer, 3'600'000);
  }

  clock_offset_seconds_ = 2 * 3600;
  ASSERT_TRUE(Check(email, &checked).ok());
  EXPECT_FALSE(checked.suppressed());
  v1::ListSuppressionsResponse listed;
  ASSERT_TRUE(List(0, "", &listed).ok());
  EXPECT_EQ(listed.suppressions_size(), 0);
  const IngestResult again =
      IngestOne(Event("mail-1", v1::IDENTITY_KIND_EMAIL, kEmail, kBase));
  EXPECT_EQ(again.status(), IngestResult::STATUS_ACCEPTED);
}

TEST_F(SuppressionTest, ALiftedSuppressionLetsTheIdentityBackIn) {
  IngestAnn();
  ForgetAnnSuppressed();
  // By the identity as a person would type it (the hub normalises it).
  v1::LiftSuppressionRequest lift;
  *lift.mutable_identity() =
      Identity(v1::IDENTITY_KIND_EMAIL, " Ann@Example.COM ");
  lift.set_requested_by("ticket-2");
  v1::LiftSuppressionResponse lifted;
  grpc::Status status = Lift(lift, &lifted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(lifted.suppression().kind(), v1::IDENTITY_KIND_EMAIL);
  EXPECT_EQ(lifted.suppression().requested_by(), "ticket-1");
  EXPECT_EQ(IngestOne(Event("mail-1", v1::IDENTITY_KIND_EMAIL, kEmail, kBase))
                .status(),
            IngestResult::STATUS_ACCEPTED);
  // The phone stays suppressed until it too is lifted, by its hash.
  EXPECT_EQ(IngestOne(Event("call-9", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
                .status(),
            IngestResult::STATUS_SUPPRESSED);
  lift.set_identity_hash(
      timeline::IdentityHash(Identity(v1::IDENTITY_KIND_PHONE, kPhone)));
  ASSERT_TRUE(Lift(lift, &lifted).ok());
  EXPECT_EQ(IngestOne(Event("call-9", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
                .status(),
            IngestResult::STATUS_ACCEPTED);
  // Nothing left to lift, to list or to find.
  EXPECT_EQ(Lift(lift, &lifted).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListSuppressionsResponse listed;
  ASSERT_TRUE(List(0, "", &listed).ok());
  EXPECT_EQ(listed.suppressions_size(), 0);
  v1::CheckSuppressionResponse checked;
  ASSERT_TRUE(Check(Identity(v1::IDENTITY_KIND_PHONE, kPhone), &checked).ok());
  EXPECT_FALSE(checked.suppressed());
}

TEST_F(SuppressionTest, TheListingShowsHashesKindsAndEndsWithoutPersonalData) {
  const std::string ann = IngestAnn();
  ForgetAnnSuppressed(/*seconds=*/7200);
  const std::string bob =
      IngestOne(Event("bob-1", v1::IDENTITY_KIND_EMAIL, kOtherEmail, kBase))
          .customer_id();
  v1::ForgetCustomerRequest request;
  *request.mutable_customer()->mutable_identity() =
      Identity(v1::IDENTITY_KIND_EMAIL, kOtherEmail);
  request.set_requested_by("ticket-7");
  request.set_suppress(true);
  request.mutable_suppress_for()->set_seconds(3600);
  v1::ForgetCustomerResponse erased;
  ASSERT_TRUE(Forget(request, &erased).ok());

  // A page at a time, soonest to end first: Bob's, then Ann's two.
  std::vector<v1::Suppression> all;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    v1::ListSuppressionsResponse listed;
    grpc::Status status = List(1, token, &listed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_LE(listed.suppressions_size(), 1);
    EXPECT_FALSE(absl::StrContains(listed.DebugString(), "example.com"));
    EXPECT_FALSE(absl::StrContains(listed.DebugString(), "2071838750"));
    for (const v1::Suppression& suppression : listed.suppressions()) {
      all.push_back(suppression);
    }
    token = listed.next_page_token();
    if (token.empty()) break;
  }
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].identity_hash(), timeline::IdentityHash(Identity(
                                        v1::IDENTITY_KIND_EMAIL, kOtherEmail)));
  EXPECT_EQ(all[0].kind(), v1::IDENTITY_KIND_EMAIL);
  EXPECT_EQ(all[0].requested_by(), "ticket-7");
  EXPECT_EQ(all[0].erased_customer_id(), bob);
  EXPECT_EQ(all[0].until().seconds() - all[0].since().seconds(), 3600);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(all[i].erased_customer_id(), ann);
    EXPECT_EQ(all[i].until().seconds() - all[i].since().seconds(), 7200);
  }
  std::vector<std::string> hashes = {all[1].identity_hash(),
                                     all[2].identity_hash()};
  std::sort(hashes.begin(), hashes.end());
  std::vector<std::string> expected = {
      timeline::IdentityHash(Identity(v1::IDENTITY_KIND_EMAIL, kEmail)),
      timeline::IdentityHash(Identity(v1::IDENTITY_KIND_PHONE, kPhone))};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(hashes, expected);
  // No personal data in any key or value.
  const std::string dump = DumpRedis();
  for (const char* trace : {kEmail, kOtherEmail, kPhone}) {
    EXPECT_FALSE(absl::StrContains(dump, trace)) << trace << " in" << dump;
  }
}

TEST_F(SuppressionTest, LinkingASuppressedIdentityIsRefused) {
  IngestAnn();
  ForgetAnnSuppressed();
  v1::LinkIdentitiesRequest link;
  *link.add_identities() = Identity(v1::IDENTITY_KIND_PHONE, kOtherPhone);
  *link.add_identities() = Identity(v1::IDENTITY_KIND_EMAIL, kEmail);
  link.set_source("crm/test");
  v1::LinkIdentitiesResponse linked;
  grpc::ClientContext context;
  grpc::Status status = customers_->LinkIdentities(&context, link, &linked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "identities[1]:"))
      << status.error_message();
  // Nobody was created or found for either identity.
  for (const v1::Identity& identity : link.identities()) {
    v1::ResolveCustomerRequest resolve;
    *resolve.mutable_customer()->mutable_identity() = identity;
    v1::ResolveCustomerResponse resolved;
    grpc::ClientContext resolving;
    EXPECT_EQ(customers_->ResolveCustomer(&resolving, resolve, &resolved)
                  .error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  const std::string dump = DumpRedis();
  EXPECT_FALSE(absl::StrContains(dump, kOtherPhone)) << dump;
}

TEST_F(SuppressionTest, BadArgumentsNameTheField) {
  IngestAnn();
  auto forget_error = [&](bool suppress, int64_t seconds, int32_t nanos) {
    v1::ForgetCustomerRequest request;
    request.set_suppress(suppress);
    request.mutable_suppress_for()->set_seconds(seconds);
    request.mutable_suppress_for()->set_nanos(nanos);
    v1::ForgetCustomerResponse response;
    grpc::Status status = Forget(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    return status.error_message();
  };
  EXPECT_TRUE(absl::StartsWith(forget_error(false, 60, 0), "suppress_for:"));
  EXPECT_TRUE(absl::StartsWith(forget_error(true, -60, 0), "suppress_for:"));
  EXPECT_TRUE(absl::StartsWith(forget_error(true, 0, 0), "suppress_for:"));
  EXPECT_TRUE(absl::StartsWith(forget_error(true, 1, -5), "suppress_for:"));
  EXPECT_TRUE(
      absl::StrContains(forget_error(true, int64_t{100} * 365 * 24 * 3600, 0),
                        "--max_suppression_period"));
  // None of them erased anything.
  EXPECT_EQ(
      CustomerByIdentity(v1::IDENTITY_KIND_EMAIL, kEmail).identities_size(), 2);

  v1::CheckSuppressionResponse checked;
  EXPECT_TRUE(absl::StartsWith(Check(v1::Identity(), &checked).error_message(),
                               "identity"));
  grpc::Status status =
      Check(Identity(v1::IDENTITY_KIND_EMAIL, "not an e-mail"), &checked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "identity.value:"))
      << status.error_message();

  v1::LiftSuppressionRequest lift;
  *lift.mutable_identity() = Identity(v1::IDENTITY_KIND_EMAIL, kEmail);
  v1::LiftSuppressionResponse lifted;
  status = Lift(lift, &lifted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "requested_by:"));
  lift.set_requested_by("ticket-3");
  lift.set_identity_hash("ann@example.com");
  status = Lift(lift, &lifted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "identity_hash:"));
  lift.clear_target();
  status = Lift(lift, &lifted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "identity:"));

  v1::ListSuppressionsResponse listed;
  status = List(-1, "", &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "page_size:"));
  status = List(0, "ann@example.com", &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "page_token:"));
}

}  // namespace
}  // namespace omnihub::testing

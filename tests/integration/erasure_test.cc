// Erasure (ForgetCustomer) when an ingest died half way, over real gRPC
// against a real redis-server: every identity key that may name the customer
// is found and freed, whatever step the ingest stopped at; and the erased
// events' tombstones refuse only the erased person's resends, for a window.
#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/integration/timeline_fixture.h"

namespace omnihub::testing {
namespace {

using v1::IngestResult;

constexpr int64_t kBase = 1'700'000'000'000'000;  // 2023-11-14, in us
constexpr int64_t kMinute = 60'000'000;
constexpr char kPhone[] = "+442071838750";
constexpr char kOtherPhone[] = "+442079460000";
constexpr char kEmail[] = "ann@example.com";

class ErasureTest : public TimelineFixture {
 protected:
  ErasureTest() {
    // The mark an erasure leaves lapses quickly, so a test can see what
    // happens after it.
    store_options_.erased_marker_ttl = absl::Milliseconds(300);
    store_options_.erased_event_window = absl::Hours(1);
    store_options_.clock = [this] {
      return absl::Now() + absl::Seconds(clock_offset_seconds_.load());
    };
    // The fault injection: the ingest stops at `fail_at_`, as if its process
    // had been killed there.
    store_options_.ingest_step_hook = [this](absl::string_view step) {
      absl::MutexLock lock(&mutex_);
      if (step == fail_at_) {
        return absl::UnavailableError(absl::StrCat("killed at ", step));
      }
      return absl::OkStatus();
    };
  }

  void FailAt(std::string step) {
    absl::MutexLock lock(&mutex_);
    fail_at_ = std::move(step);
  }

  static v1::InteractionEvent With(v1::InteractionEvent event,
                                   std::vector<v1::Identity> more) {
    for (v1::Identity& identity : more) {
      *event.add_identities() = std::move(identity);
    }
    return event;
  }

  // The event's result; fails the test on a non-OK call.
  // An ingest that dies at `step`.
  void IngestDyingAt(const std::string& step, v1::InteractionEvent event) {
    FailAt(step);
    v1::IngestResponse response;
    grpc::Status status = Ingest({std::move(event)}, &response);
    FailAt("");
    EXPECT_FALSE(status.ok()) << "the ingest did not reach " << step;
  }

  std::string OwnerOf(v1::IdentityKind kind, const std::string& value) {
    absl::StatusOr<redis::Reply> owner = RedisCommand(
        {"GET", store_->context().keys.ForIdentity(Identity(kind, value))});
    EXPECT_TRUE(owner.ok());
    return owner.ok() ? owner->str : "";
  }

  void ExpectNoTraceOf(const std::vector<std::string>& traces) {
    const std::string dump = DumpRedis();
    for (const std::string& trace : traces) {
      EXPECT_FALSE(absl::StrContains(dump, trace)) << trace << " in" << dump;
    }
  }

  // Waits until the erasure mark of `customer_id` has lapsed.
  void AwaitMarkLapsed(const std::string& customer_id) {
    const std::string view =
        store_->context().keys.ForCustomer(customer_id).view;
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<redis::Reply> exists = RedisCommand({"EXISTS", view});
      ASSERT_TRUE(exists.ok());
      if (exists->integer == 0) return;
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "the erasure mark of " << customer_id << " did not lapse";
  }

  std::atomic<int64_t> clock_offset_seconds_{0};
  absl::Mutex mutex_;
  std::string fail_at_ ABSL_GUARDED_BY(mutex_);
};

TEST_F(ErasureTest, AnIdentityClaimedButNotAttachedIsFreed) {
  const std::string ann =
      IngestOne(Event("call-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
          .customer_id();
  // The e-mail is claimed for Ann, and the process dies before the script
  // that would attach it to her view runs.
  IngestDyingAt("claimed", With(Event("call-2", v1::IDENTITY_KIND_PHONE, kPhone,
                                      kBase + kMinute),
                                {Identity(v1::IDENTITY_KIND_EMAIL, kEmail)}));
  ASSERT_EQ(OwnerOf(v1::IDENTITY_KIND_EMAIL, kEmail), ann);
  ASSERT_EQ(
      CustomerByIdentity(v1::IDENTITY_KIND_PHONE, kPhone).identities_size(), 1);

  v1::ForgetCustomerResponse response;
  grpc::Status status = Forget(ById(ann), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.identities_erased(), 2);
  ExpectNoTraceOf({kEmail, kPhone, "call-1"});

  // Once the mark has lapsed, the e-mail starts a new customer instead of
  // writing into Ann's erased id again.
  AwaitMarkLapsed(ann);
  const IngestResult fresh = IngestOne(
      Event("mail-1", v1::IDENTITY_KIND_EMAIL, kEmail, kBase + 2 * kMinute));
  EXPECT_EQ(fresh.status(), IngestResult::STATUS_ACCEPTED);
  EXPECT_NE(fresh.customer_id(), ann);
}

TEST_F(ErasureTest, TheResentEventAttachesAnIdentityItsDeadClaimerLeft) {
  const std::string ann =
      IngestOne(Event("call-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
          .customer_id();
  const v1::InteractionEvent second =
      With(Event("call-2", v1::IDENTITY_KIND_PHONE, kPhone, kBase + kMinute),
           {Identity(v1::IDENTITY_KIND_EMAIL, kEmail)});
  IngestDyingAt("claimed", second);
  // The adapter sends it again.
  EXPECT_EQ(IngestOne(second).customer_id(), ann);
  EXPECT_EQ(
      CustomerByIdentity(v1::IDENTITY_KIND_PHONE, kPhone).identities_size(), 2);
  absl::StatusOr<redis::Reply> claims =
      RedisCommand({"EXISTS", store_->context().keys.ForCustomer(ann).claims});
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->integer, 0);
}

TEST_F(ErasureTest, ACustomerWhoseFirstEventDiedIsErasedByIdentity) {
  // Both identities are new: the customer would be created by this event,
  // whose ingest dies after claiming them.
  IngestDyingAt("claimed",
                With(Event("call-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase),
                     {Identity(v1::IDENTITY_KIND_EMAIL, kEmail)}));
  const std::string unborn = OwnerOf(v1::IDENTITY_KIND_EMAIL, kEmail);
  ASSERT_FALSE(unborn.empty());

  v1::ForgetCustomerResponse response;
  grpc::Status status =
      Forget(ByIdentity(v1::IDENTITY_KIND_EMAIL, kEmail), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.customer_id(), unborn);
  EXPECT_EQ(response.identities_erased(), 2);
  ExpectNoTraceOf({kEmail, kPhone});
}

TEST_F(ErasureTest, AClaimLeftOnAMergedAwayCustomerIsFreedWithTheSurvivor) {
  const std::string survivor =
      IngestOne(Event("call-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
          .customer_id();
  const std::string merged = IngestOne(Event("call-2", v1::IDENTITY_KIND_PHONE,
                                             kOtherPhone, kBase + kMinute))
                                 .customer_id();
  IngestDyingAt("claimed", With(Event("call-3", v1::IDENTITY_KIND_PHONE,
                                      kOtherPhone, kBase + 2 * kMinute),
                                {Identity(v1::IDENTITY_KIND_EMAIL, kEmail)}));
  ASSERT_EQ(OwnerOf(v1::IDENTITY_KIND_EMAIL, kEmail), merged);
  // One event with both phones: one person.
  const IngestResult both = IngestOne(With(
      Event("call-4", v1::IDENTITY_KIND_PHONE, kPhone, kBase + 3 * kMinute),
      {Identity(v1::IDENTITY_KIND_PHONE, kOtherPhone)}));
  ASSERT_EQ(both.customer_id(), survivor);
  ASSERT_EQ(both.merged_customer_ids_size(), 1);

  v1::ForgetCustomerResponse response;
  grpc::Status status = Forget(ById(survivor), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ExpectNoTraceOf({kEmail, kPhone, kOtherPhone});
}

TEST_F(ErasureTest, AClaimStillUnderWayWhenTheErasureRunsIsFenced) {
  const std::string ann =
      IngestOne(Event("call-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
          .customer_id();
  // The e-mail is recorded as being claimed for Ann, not claimed yet.
  IngestDyingAt("recorded", With(Event("call-2", v1::IDENTITY_KIND_PHONE,
                                       kPhone, kBase + kMinute),
                                 {Identity(v1::IDENTITY_KIND_EMAIL, kEmail)}));
  v1::ForgetCustomerResponse response;
  grpc::Status status = Forget(ById(ann), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The claim that was under way arrives after the erasure: it does not
  // take the e-mail for the erased customer.
  const std::string key = store_->context().keys.ForIdentity(
      Identity(v1::IDENTITY_KIND_EMAIL, kEmail));
  absl::StatusOr<redis::Reply> claimed = RedisCommand({"SET", key, ann, "NX"});
  ASSERT_TRUE(claimed.ok());
  EXPECT_TRUE(claimed->is_nil());
  AwaitMarkLapsed(ann);
  ExpectNoTraceOf({kEmail, kPhone});
}

TEST_F(ErasureTest, ErasedEventIdsAreRefusedOnlyForTheErasedPerson) {
  const std::string ann =
      IngestOne(Event("msg-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
          .customer_id();
  v1::ForgetCustomerResponse response;
  grpc::Status status = Forget(ById(ann), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.events_erased(), 1);

  // Someone else's event that reuses the id (client-chosen message ids, a
  // PBX whose ids restart) is stored.
  const IngestResult other = IngestOne(
      Event("msg-1", v1::IDENTITY_KIND_PHONE, kOtherPhone, kBase + kMinute));
  EXPECT_EQ(other.status(), IngestResult::STATUS_ACCEPTED);
  EXPECT_NE(other.customer_id(), ann);
  // Ann's own resend is refused, for the replay window.
  EXPECT_EQ(IngestOne(Event("msg-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
                .status(),
            IngestResult::STATUS_FORGOTTEN);
  // The tombstones (hashes only) expire with the window.
  int tombstones = 0;
  for (const std::string& key : AllKeys()) {
    if (!absl::StartsWith(key, "omnihub:fg:")) continue;
    ++tombstones;
    absl::StatusOr<redis::Reply> ttl = RedisCommand({"PTTL", key});
    ASSERT_TRUE(ttl.ok());
    EXPECT_GT(ttl->integer, 0);
    EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(1)));
  }
  EXPECT_EQ(tombstones, 1);
  // After the window, her resend is an event like any other.
  clock_offset_seconds_ = absl::ToInt64Seconds(absl::Hours(2));
  EXPECT_EQ(IngestOne(Event("msg-1", v1::IDENTITY_KIND_PHONE, kPhone, kBase))
                .status(),
            IngestResult::STATUS_ACCEPTED);
}

}  // namespace
}  // namespace omnihub::testing

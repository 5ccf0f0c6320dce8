// What an adapter promises about the records it accepted, end to end through
// the phone adapter (real redis-server, hub, adapter and omnihub-cli
// processes, real HTTP): one process per spool, a full disk refused with 503
// and recovered from, and dead letters replayed after a fix without
// duplicates, or erased with the person they name.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/adapter_fixture.h"
#include "tests/support/file_text.h"
#include "tests/support/free_port.h"
#include "tests/support/small_disk.h"

namespace omnihub::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// Over a hub's --max_request_bytes=2048 on its own: a dead letter there.
json HugeCall(const std::string& id, const std::string& caller) {
  json call = PhoneCallRecord(id, caller);
  call["recording_url"] = "https://pbx.example/" + std::string(2000, 'r');
  return call;
}

class AdapterSpoolTest : public AdapterEndToEndTest {
 protected:
  explicit AdapterSpoolTest(std::vector<std::string> adapter_flags = {},
                            std::vector<std::string> hub_flags = {})
      : AdapterEndToEndTest(OMNIHUB_PHONE_ADAPTER_BINARY,
                            std::move(adapter_flags), std::move(hub_flags)) {}

  httplib::Result PostCalls(const json& body) {
    return Post("/v1/calls", body.dump(), "application/json");
  }

  void StopHub() {
    ASSERT_TRUE(hub_->Signal(SIGKILL).ok());
    ASSERT_TRUE(hub_->Wait(absl::Seconds(10)).ok());
  }

  // Posts a call and waits until it is on the timeline: everything the
  // adapter accepted before it has been delivered or dead-lettered.
  void DeliverMarker(const std::string& phone) {
    auto posted = PostCalls(PhoneCallRecord("marker", phone));
    ASSERT_TRUE(posted && posted->status == 202)
        << (posted ? posted->body : "no answer");
    ASSERT_EQ(WaitForTimeline(v1::IDENTITY_KIND_PHONE, phone, 1).size(), 1u)
        << "the marker was not delivered";
  }

  // Runs omnihub-cli against the hub: its exit code and what it printed.
  std::pair<int, std::string> Cli(std::vector<std::string> args) {
    static int runs = 0;
    args.push_back(absl::StrCat("--hub_address=127.0.0.1:", hub_port_));
    const std::string output = absl::StrCat(directory_, "/cli-", ++runs);
    auto process =
        ChildProcess::Start(OMNIHUB_CLI_BINARY, std::move(args), {}, output);
    if (!process.ok()) return {-1, std::string(process.status().message())};
    absl::StatusOr<int> exit_code = (*process)->Wait(absl::Seconds(30));
    return {exit_code.value_or(-1), FileText(output)};
  }

  std::string DeadLetterFile() {
    return directory_ + "/spool/dead-letters.jsonl";
  }
};

using SpoolLockTest = AdapterSpoolTest;

TEST_F(SpoolLockTest, SecondAdapterOnTheSameSpoolRefusesToStart) {
  auto port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  const std::string log = directory_ + "/second.log";
  auto second =
      ChildProcess::Start(OMNIHUB_PHONE_ADAPTER_BINARY,
                          {absl::StrCat("--listen=127.0.0.1:", *port),
                           absl::StrCat("--hub_address=127.0.0.1:", hub_port_),
                           "--spool_dir=" + directory_ + "/spool"},
                          {}, log);
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<int> exit_code = (*second)->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 1);
  EXPECT_THAT(FileText(log), HasSubstr("is in use by another process (pid " +
                                       std::to_string(adapter_->pid()) + ")"));
  // The first adapter goes on undisturbed.
  DeliverMarker("+442071838790");
}

// The spool on a real 96 KiB disk (a tmpfs; mounting needs root, as CI has).
class FullDiskTest : public AdapterSpoolTest {
 protected:
  FullDiskTest()
      : AdapterSpoolTest({"--spool_dir=" + MountPoint() + "/spool"}),
        disk_(SmallDisk::Tmpfs(MountPoint(), 96 << 10)) {}

  static std::string MountPoint() {
    return absl::StrCat(::testing::TempDir(), "/adapter-disk-", getpid());
  }

  void SetUp() override {
    if (!disk_.ok()) {
      GTEST_SKIP() << "SKIPPED LOUDLY: " << disk_.status()
                   << "; the adapter's answer to a full disk is NOT tested";
    }
    AdapterSpoolTest::SetUp();
  }
  void TearDown() override { adapter_.reset(); }  // before the unmount

  absl::StatusOr<std::unique_ptr<SmallDisk>> disk_;
};

TEST_F(FullDiskTest, FullDiskIs503WithRetryAfterAndRecoversWhenDelivered) {
  ASSERT_NO_FATAL_FAILURE(StopHub());
  std::set<std::string> accepted;
  std::optional<httplib::Response> refused;
  for (int i = 0; i < 200 && !refused; ++i) {
    json calls = json::array();
    std::vector<std::string> ids;
    for (int k = 0; k < 10; ++k) {
      ids.push_back(absl::StrCat("disk-", i, "-", k));
      calls.push_back(PhoneCallRecord(ids.back(), "+442071838791"));
    }
    auto result = PostCalls(calls);
    ASSERT_TRUE(result);
    if (result->status == 202) {
      for (const std::string& id : ids) accepted.insert("call:json:" + id);
    } else {
      ASSERT_EQ(result->status, 503) << result->body;
      refused = *result;
    }
  }
  ASSERT_TRUE(refused) << "the disk never filled up";
  ASSERT_FALSE(accepted.empty());
  int retry_after = 0;
  EXPECT_TRUE(
      absl::SimpleAtoi(refused->get_header_value("Retry-After"), &retry_after))
      << refused->get_header_value("Retry-After");
  EXPECT_GT(retry_after, 0);
  EXPECT_THAT(refused->body, HasSubstr("No space left on device"));

  // The hub back: what was accepted arrives, what was refused never does,
  // and the delivered spool gives its space back.
  ASSERT_NO_FATAL_FAILURE(StartHub());
  EXPECT_EQ(EventIdsOf(WaitForTimeline(v1::IDENTITY_KIND_PHONE, "+442071838791",
                                       accepted.size())),
            accepted);
  ASSERT_TRUE(WaitUntil([&] {
    auto result = PostCalls(PhoneCallRecord("after", "+442071838792"));
    return result && result->status == 202;
  })) << "the adapter never took a request again";
  DeliverMarker("+442071838793");
  EXPECT_EQ(EventIdsOf(ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838791")),
            accepted);
  EXPECT_EQ(FileText(MountPoint() + "/spool/dead-letters.jsonl"), "");
}

// The hub refuses any request over 2 KiB until it is "fixed".
class DeadLetterReplayTest : public AdapterSpoolTest {
 protected:
  DeadLetterReplayTest() : AdapterSpoolTest({}, {"--max_request_bytes=2048"}) {}

  // Restarts the hub without the limit, and waits until it answers (the
  // fixture's wait can be satisfied by a connection to the hub just killed).
  void FixHub() {
    ASSERT_NO_FATAL_FAILURE(StopHub());
    hub_flags_.clear();
    ASSERT_NO_FATAL_FAILURE(StartHub());
    ASSERT_TRUE(WaitUntil([&] {
      v1::GetCustomerRequest request;
      request.mutable_customer()->set_customer_id("nobody");
      v1::GetCustomerResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(1));
      return stub_->GetCustomer(&context, request, &response).error_code() !=
             grpc::StatusCode::UNAVAILABLE;
    })) << "the restarted hub never answered";
  }
};

TEST_F(DeadLetterReplayTest, ReplayAfterAFixDeliversOnceAndEmptiesTheFile) {
  auto posted = PostCalls(HugeCall("huge", "+442071838794"));
  ASSERT_TRUE(posted && posted->status == 202);
  DeliverMarker("+442071838795");
  const std::string dead_letters = DeadLetters();
  ASSERT_THAT(dead_letters, HasSubstr("call:json:huge"));
  ASSERT_NO_FATAL_FAILURE(FixHub());

  auto [exit_code, output] =
      Cli({"replay-dead-letters", "--file=" + DeadLetterFile()});
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_THAT(output, HasSubstr("STATUS_ACCEPTED 1"));
  EXPECT_THAT(output, HasSubstr("removed 1"));
  EXPECT_EQ(DeadLetters(), "");
  EXPECT_EQ(EventIdsOf(ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838794")),
            std::set<std::string>{"call:json:huge"});

  // The same dead letter again (a replay interrupted before it could remove
  // it): the hub has it already, so nothing doubles, and it leaves the file.
  std::ofstream(DeadLetterFile()) << dead_letters;
  std::tie(exit_code, output) =
      Cli({"replay-dead-letters", "--file=" + DeadLetterFile()});
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_THAT(output, HasSubstr("STATUS_DUPLICATE 1"));
  EXPECT_EQ(DeadLetters(), "");
  EXPECT_EQ(ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071838794").size(), 1u);
}

TEST_F(DeadLetterReplayTest, EraseRemovesThePersonsDeadLettersOnly) {
  // The hub knows the person by phone and e-mail; the dead letter names only
  // the phone, the erasure request only the e-mail.
  v1::IngestRequest request;
  v1::InteractionEvent* known = request.add_events();
  known->set_event_id("crm:1");
  known->set_channel(v1::CHANNEL_WEB);
  known->set_kind(v1::INTERACTION_KIND_PAGE_VIEW);
  known->mutable_occurred_at()->set_seconds(1795168800);
  known->mutable_web()->set_url("https://shop.example/");
  for (auto [kind, value] :
       {std::pair{v1::IDENTITY_KIND_PHONE, "+442071838796"},
        std::pair{v1::IDENTITY_KIND_EMAIL, "ann@example.com"}}) {
    v1::Identity* identity = known->add_identities();
    identity->set_kind(kind);
    identity->set_value(value);
  }
  grpc::ClientContext context;
  v1::IngestResponse response;
  ASSERT_TRUE(stub_->Ingest(&context, request, &response).ok());
  for (auto [id, phone] :
       {std::pair{"ann", "+442071838796"}, std::pair{"bob", "020 7183 8797"}}) {
    auto posted = PostCalls(HugeCall(id, phone));
    ASSERT_TRUE(posted && posted->status == 202);
  }
  DeliverMarker("+442071838798");
  ASSERT_THAT(DeadLetters(), HasSubstr("call:json:ann"));
  ASSERT_THAT(DeadLetters(), HasSubstr("call:json:bob"));

  auto [exit_code, output] =
      Cli({"erase-dead-letters", "--file=" + DeadLetterFile(),
           "--identity=email:Ann@Example.com"});
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_THAT(output, HasSubstr("removed 1"));
  EXPECT_THAT(DeadLetters(), Not(HasSubstr("call:json:ann")));
  EXPECT_THAT(DeadLetters(), HasSubstr("call:json:bob"));

  // Bob by his number written the British way.
  std::tie(exit_code, output) =
      Cli({"erase-dead-letters", "--file=" + DeadLetterFile(),
           "--identity=phone:020 7183 8797", "--default_region=GB"});
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_EQ(DeadLetters(), "");
}

}  // namespace
}  // namespace omnihub::testing

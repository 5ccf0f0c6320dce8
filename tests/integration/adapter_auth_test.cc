// Who may send records to the phone and visit adapters: API keys from a
// file of hashes (missing, wrong, rotated, re-read on SIGHUP), Twilio's
// request signature, and /metrics kept off the intake's port. Real adapter
// processes, real HTTP.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/integration/adapter_fixture.h"
#include "tests/support/file_text.h"

namespace omnihub::testing {
namespace {

constexpr char kEastKey[] = "east-key-7f3a9c";
constexpr char kWestKey[] = "west-key-22b81d";
constexpr char kNextEastKey[] = "east-key-next-90e1";
constexpr char kTwilioToken[] = "twilio-auth-token-5c2e";
constexpr char kPublicUrl[] = "https://hub.example.com/phone";

// sha256sum's hex, computed here rather than by the code under test.
std::string Sha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

// Twilio's signature, as its documentation builds it: the URL, then each
// POST parameter's name and value in name order (the caller passes them
// sorted), HMAC-SHA1 with the auth token, base64.
std::string TwilioSignatureByHand(
    const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& sorted,
    const std::string& token = kTwilioToken) {
  std::string text = url;
  for (const auto& [name, value] : sorted) text += name + value;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest,
       &length);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string NewSecretsDirectory() {
  static std::atomic<int> count{0};
  const std::string directory = absl::StrCat(
      ::testing::TempDir(), "/adapter-auth-", getpid(), "-", ++count);
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  return directory;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

class PhoneAdapterAuthTest : public AdapterEndToEndTest {
 protected:
  PhoneAdapterAuthTest()
      : AdapterEndToEndTest(OMNIHUB_PHONE_ADAPTER_BINARY, {}),
        secrets_(NewSecretsDirectory()) {
    WriteFile(keys_path(),
              absl::StrCat("# two senders, each with its own key\n",
                           "crm-east ", Sha256Hex(kEastKey), "\n\n",
                           "crm-west\t", Sha256Hex(kWestKey), "\n"));
    WriteFile(secrets_ + "/twilio-token", absl::StrCat(kTwilioToken, "\n"));
    adapter_flags_ = {"--api_keys_file=" + keys_path(),
                      "--twilio_auth_token_file=" + secrets_ + "/twilio-token",
                      absl::StrCat("--public_url=", kPublicUrl, "/")};
  }

  std::string keys_path() const { return secrets_ + "/api-keys"; }

  int PostCall(const std::string& id, const std::string& caller,
               const httplib::Headers& headers,
               const std::string& path = "/v1/calls") {
    auto result = Post(path, PhoneCallRecord(id, caller).dump(),
                       "application/json", headers);
    if (!result) return 0;
    last_body_ = result->body;
    return result->status;
  }

  double AuthFailures(const std::string& route, const std::string& reason) {
    return MetricValue(FetchMetrics(), "omnihub_http_auth_failures_total",
                       {{"route", route}, {"reason", reason}})
        .value_or(0);
  }

  std::string secrets_;
  std::string last_body_;
};

TEST_F(PhoneAdapterAuthTest, MissingOrWrongKeyIs401AndNothingIsKept) {
  EXPECT_EQ(PostCall("a-1", "+442071830001", {}), 401);
  const nlohmann::json error = nlohmann::json::parse(last_body_)["error"];
  EXPECT_EQ(error["status"], 401);
  EXPECT_THAT(std::string(error["message"]),
              ::testing::HasSubstr("Authorization: Bearer"));
  EXPECT_EQ(
      PostCall("a-2", "+442071830001", {{"Authorization", "Bearer not-a-key"}}),
      401);
  EXPECT_EQ(PostCall("a-3", "+442071830001", {{"X-Api-Key", ""}}), 401);
  // A key in the URL is not looked at: URLs end up in logs.
  EXPECT_EQ(PostCall("a-4", "+442071830001", {},
                     absl::StrCat("/v1/calls?api_key=", kEastKey)),
            401);
  // Another route of the adapter, and a key that is almost right.
  auto cdr = Post("/v1/calls/asterisk-cdr", "x\n", "text/csv",
                  {{"X-Api-Key", std::string(kEastKey) + "x"}});
  ASSERT_TRUE(cdr);
  EXPECT_EQ(cdr->status, 401);

  EXPECT_EQ(AuthFailures("calls", "missing_api_key"), 3);
  EXPECT_EQ(AuthFailures("calls", "unknown_api_key"), 1);
  EXPECT_EQ(AuthFailures("asterisk_cdr", "unknown_api_key"), 1);
  // Delivered after the refused ones: had any been kept, it would be first.
  ASSERT_EQ(PostCall("a-5", "+442071830002",
                     {{"Authorization", absl::StrCat("Bearer ", kEastKey)}}),
            202)
      << last_body_;
  EXPECT_EQ(WaitForTimeline(v1::IDENTITY_KIND_PHONE, "+442071830002", 1).size(),
            1u);
  EXPECT_TRUE(ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071830001").empty());
}

TEST_F(PhoneAdapterAuthTest, EachKeyNamesItsSenderAndRotatesOnSighup) {
  const std::string phone = "+442071830010";
  ASSERT_EQ(PostCall("k-1", phone,
                     {{"Authorization", absl::StrCat("bearer ", kEastKey)}}),
            202)
      << last_body_;
  ASSERT_EQ(PostCall("k-2", phone, {{"X-Api-Key", kWestKey}}), 202)
      << last_body_;
  // A sender that can only put credentials in its URL (user:key@host)
  // sends them as Basic authentication.
  auto basic =
      Post("/v1/calls/asterisk-cdr",
           "\"\",\"02071830010\",\"201\",\"from-pstn\",\"\",\"SIP/t-1\","
           "\"SIP/201-2\",\"Dial\",\"SIP/201\",\"2026-11-20 10:00:00\","
           "\"\",\"2026-11-20 10:00:30\",30,0,\"NO ANSWER\",\"DOCUMENTATION\","
           "\"1700000000.9\",\"\"\n",
           "text/csv",
           {{"Authorization",
             "Basic " + absl::Base64Escape(absl::StrCat("pbx:", kWestKey))}});
  ASSERT_TRUE(basic);
  ASSERT_EQ(basic->status, 202) << basic->body;
  std::map<std::string, std::string> sources;
  for (const auto& event : WaitForTimeline(v1::IDENTITY_KIND_PHONE, phone, 3)) {
    sources[event.event_id()] = event.source();
  }
  EXPECT_EQ(sources["call:json:k-1"], "phone-adapter/crm-east/json");
  EXPECT_EQ(sources["call:json:k-2"], "phone-adapter/crm-west/json");
  EXPECT_EQ(sources["call:asterisk:1700000000.9"],
            "phone-adapter/crm-west/asterisk");

  // Rotation: east's next key is added beside the old one, then the old one
  // is removed; the adapter re-reads the file on SIGHUP.
  WriteFile(keys_path(),
            absl::StrCat("crm-east ", Sha256Hex(kEastKey), "\n", "crm-east ",
                         Sha256Hex(kNextEastKey), "\n"));
  ASSERT_TRUE(adapter_->Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return PostCall("k-3", phone, {{"X-Api-Key", kWestKey}}) == 401;
      },
      absl::Seconds(10)))
      << "west's key was still taken after SIGHUP";
  EXPECT_EQ(PostCall("k-4", phone, {{"X-Api-Key", kEastKey}}), 202);
  EXPECT_EQ(PostCall("k-5", phone, {{"X-Api-Key", kNextEastKey}}), 202);
  WriteFile(keys_path(),
            absl::StrCat("crm-east ", Sha256Hex(kNextEastKey), "\n"));
  ASSERT_TRUE(adapter_->Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return PostCall("k-6", phone, {{"X-Api-Key", kEastKey}}) == 401;
      },
      absl::Seconds(10)));
  EXPECT_EQ(PostCall("k-7", phone, {{"X-Api-Key", kNextEastKey}}), 202);
  // A file that no longer reads keeps the keys in use.
  WriteFile(keys_path(), "crm-east not-a-hash\n");
  ASSERT_TRUE(adapter_->Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return FileText(directory_ + "/adapter.log")
                   .find("keeping the API keys in use") != std::string::npos;
      },
      absl::Seconds(10)));
  EXPECT_EQ(PostCall("k-8", phone, {{"X-Api-Key", kNextEastKey}}), 202);
}

TEST_F(PhoneAdapterAuthTest, TwilioCallbacksNeedTwilioSignature) {
  // Twilio calls the public URL; the proxy in front strips "/phone". The
  // query is part of the signed URL, its parameters not of the sorted list.
  const std::string path = "/v1/calls/twilio?account=main";
  const std::string url = absl::StrCat(kPublicUrl, path);
  std::vector<std::pair<std::string, std::string>> form = {
      {"CallSid", "CA77"},
      {"CallStatus", "completed"},
      {"Direction", "inbound"},
      {"From", "+442071830020"},
      {"Timestamp", "Fri, 20 Nov 2026 11:00:00 +0000"},
      {"To", "+442079460000"}};
  const std::string signature = TwilioSignatureByHand(url, form);
  auto post = [&](const std::string& to,
                  const std::vector<std::pair<std::string, std::string>>& body,
                  const httplib::Headers& headers) {
    httplib::Params params(body.begin(), body.end());
    httplib::Client http("127.0.0.1", adapter_port_);
    auto result = http.Post(to.c_str(), headers, params);
    return result ? result->status : 0;
  };

  EXPECT_EQ(post(path, form, {}), 403);  // no signature
  // An API key does not stand in for Twilio's signature.
  EXPECT_EQ(post(path, form, {{"X-Api-Key", kEastKey}}), 403);
  auto tampered = form;
  tampered[3].second = "+442071830099";  // the caller changed
  EXPECT_EQ(post(path, tampered, {{"X-Twilio-Signature", signature}}), 403);
  // Signed for another URL: without the proxy's prefix, or another query.
  EXPECT_EQ(post(path, form,
                 {{"X-Twilio-Signature",
                   TwilioSignatureByHand(
                       "https://hub.example.com/v1/calls/twilio?account=main",
                       form)}}),
            403);
  EXPECT_EQ(post("/v1/calls/twilio?account=other", form,
                 {{"X-Twilio-Signature", signature}}),
            403);
  EXPECT_EQ(AuthFailures("twilio", "missing_signature"), 2);
  EXPECT_EQ(AuthFailures("twilio", "bad_signature"), 3);

  EXPECT_EQ(post(path, form, {{"X-Twilio-Signature", signature}}), 202);
  std::vector<v1::InteractionEvent> events =
      WaitForTimeline(v1::IDENTITY_KIND_PHONE, "+442071830020", 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id(), "call:twilio:CA77");
  EXPECT_EQ(events[0].source(), "phone-adapter/twilio");
  EXPECT_TRUE(ReadTimeline(v1::IDENTITY_KIND_PHONE, "+442071830099").empty());
}

TEST_F(PhoneAdapterAuthTest, TwilioAuthTokenIsReReadOnSighup) {
  const std::string path = "/v1/calls/twilio";
  const std::string url = absl::StrCat(kPublicUrl, path);
  auto post = [&](const std::string& sid, const std::string& token) {
    std::vector<std::pair<std::string, std::string>> form = {
        {"CallSid", sid},
        {"CallStatus", "completed"},
        {"Direction", "inbound"},
        {"From", "+442071830021"},
        {"Timestamp", "Fri, 20 Nov 2026 11:00:00 +0000"},
        {"To", "+442079460000"}};
    httplib::Params params(form.begin(), form.end());
    httplib::Client http("127.0.0.1", adapter_port_);
    auto result = http.Post(
        path.c_str(),
        {{"X-Twilio-Signature", TwilioSignatureByHand(url, form, token)}},
        params);
    return result ? result->status : 0;
  };
  constexpr char kRotatedToken[] = "twilio-auth-token-rotated-81d0";
  EXPECT_EQ(post("CA80", kTwilioToken), 202);
  EXPECT_EQ(post("CA81", kRotatedToken), 403);
  WriteFile(secrets_ + "/twilio-token", absl::StrCat(kRotatedToken, "\n"));
  ASSERT_TRUE(adapter_->Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitUntil([&] { return post("CA82", kTwilioToken) == 403; },
                        absl::Seconds(10)))
      << "the old auth token was still taken after SIGHUP";
  EXPECT_EQ(post("CA83", kRotatedToken), 202);
  // A token file that no longer reads keeps the token in use.
  std::filesystem::remove(secrets_ + "/twilio-token");
  ASSERT_TRUE(adapter_->Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return FileText(directory_ + "/adapter.log")
                   .find("keeping the Twilio auth token in use") !=
               std::string::npos;
      },
      absl::Seconds(10)));
  EXPECT_EQ(post("CA84", kRotatedToken), 202);
}

TEST_F(PhoneAdapterAuthTest, MetricsAndHealthAreNotOnTheIntakesPort) {
  httplib::Client intake("127.0.0.1", adapter_port_);
  for (const char* path : {"/metrics", "/healthz", "/readyz"}) {
    auto result = intake.Get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->status, 404) << path;
  }
  httplib::Client admin("127.0.0.1", admin_port_);
  auto metrics = admin.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body,
              ::testing::HasSubstr("omnihub_http_requests_total"));
  // The admin port takes no records.
  auto call =
      admin.Post("/v1/calls", PhoneCallRecord("m-1", "+442071830030").dump(),
                 "application/json");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->status, 404);
}

class VisitAdapterAuthTest : public AdapterEndToEndTest {
 protected:
  VisitAdapterAuthTest()
      : AdapterEndToEndTest(OMNIHUB_VISIT_ADAPTER_BINARY, {}),
        secrets_(NewSecretsDirectory()) {
    WriteFile(secrets_ + "/api-keys",
              absl::StrCat("store-pos ", Sha256Hex(kEastKey), "\n"));
    adapter_flags_ = {"--api_keys_file=" + secrets_ + "/api-keys"};
  }
  std::string secrets_;
};

TEST_F(VisitAdapterAuthTest, KeyIsRequiredAndNamesTheSource) {
  const std::string visit =
      nlohmann::json{{"visit_id", "v-1"},
                     {"store_id", "madrid-1"},
                     {"checked_in_at", "2026-11-20T09:30:00Z"},
                     {"identities", {{"phone", "+34612340001"}}}}
          .dump();
  auto refused = Post("/v1/visits", visit, "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401) << refused->body;
  auto csv = Post("/v1/visits/csv",
                  "visit_id,store_id,phone,checked_in_at\n"
                  "v-2,madrid-1,+34612340001,2026-11-20T10:30:00Z\n",
                  "text/csv", {{"X-Api-Key", "wrong"}});
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->status, 401) << csv->body;
  auto accepted = Post("/v1/visits", visit, "application/json",
                       {{"Authorization", absl::StrCat("Bearer ", kEastKey)}});
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 202) << accepted->body;
  std::vector<v1::InteractionEvent> events =
      WaitForTimeline(v1::IDENTITY_KIND_PHONE, "+34612340001", 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].source(), "visit-adapter/store-pos/json");
}

// Without a key file an adapter that takes keys stays on loopback; a key
// file or a Twilio set-up that cannot work stops it at start.
TEST(AdapterAuthFlagsTest, UnsafeOrBrokenSetUpsStopTheAdapter) {
  const std::string secrets = NewSecretsDirectory();
  WriteFile(secrets + "/bad-keys", "crm-east 1234\n");
  WriteFile(secrets + "/token", "tok\n");
  for (const char* binary :
       {OMNIHUB_PHONE_ADAPTER_BINARY, OMNIHUB_VISIT_ADAPTER_BINARY}) {
    ExpectEachFlagStopsTheAdapter(
        binary,
        {
            {"--listen=0.0.0.0:0", "no --api_keys_file"},
            // A name is not loopback for starting with "127.".
            {"--listen=127.example.com:0", "no --api_keys_file"},
            {"--api_keys_file=" + secrets + "/missing", "--api_keys_file: "},
            {"--api_keys_file=" + secrets + "/bad-keys",
             "bad-keys:1: the hash of key \"crm-east\""},
            {"--admin_listen=nowhere", "--admin_listen: "},
            {"--http_read_timeout=0s", "--http_read_timeout: "},
        });
  }
  ExpectEachFlagStopsTheAdapter(
      OMNIHUB_PHONE_ADAPTER_BINARY,
      {{"--twilio_auth_token_file=" + secrets + "/token", "--public_url: "},
       {"--public_url=https://hub.example.com", "--twilio_auth_token_file"}});
}

}  // namespace
}  // namespace omnihub::testing

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "services/phone_adapter/call_record.h"

namespace omnihub::phone {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// An Asterisk Master.csv line: 18 columns, or 21 with newcdrcolumns.
std::string CdrLine(const std::string& src, const std::string& dst,
                    const std::string& start, const std::string& answer,
                    const std::string& end, int duration, int billsec,
                    const std::string& disposition, const std::string& uniqueid,
                    const std::string& extra = "") {
  return absl::StrCat(
      "\"\",\"", src, "\",\"", dst, "\",\"from-pstn\",\"\"\"Ann, Smith\"\" <",
      src, ">\",", "\"SIP/trunk-00000001\",\"SIP/", dst,
      "-00000002\",\"Queue\",\"sales,t,,,300\",\"", start, "\",\"", answer,
      "\",\"", end, "\",", duration, ",", billsec, ",\"", disposition,
      "\",\"DOCUMENTATION\",\"", uniqueid, "\",\"wrap-7\"", extra, "\n");
}

TEST(JsonCallsTest, OneObjectWithEveryField) {
  absl::StatusOr<std::vector<CallRecord>> calls = ParseJsonCalls(
      R"({"call_id": "c-1", "direction": "inbound", "caller": "+44 20 7183 8750",
          "callee": "200", "started_at": "2026-11-20T09:30:00Z",
          "answered_at": "2026-11-20T09:30:05Z", "ended_at": "2026-11-20T09:35:00Z",
          "duration_seconds": 300, "billable_seconds": 295,
          "disposition": "answered", "agent": "maria", "queue": "support",
          "wrap_up_code": "resolved", "recording_url": "https://rec/1",
          "satisfaction": 4, "satisfaction_scale": 5,
          "updated_at": "2026-11-20T09:36:00Z"})",
      {});
  ASSERT_TRUE(calls.ok()) << calls.status();
  ASSERT_EQ(calls->size(), 1u);
  const CallRecord& call = (*calls)[0];
  EXPECT_EQ(call.call_id, "c-1");
  EXPECT_EQ(call.direction, v1::CallDetail::DIRECTION_INBOUND);
  EXPECT_EQ(call.disposition, v1::CallDetail::DISPOSITION_ANSWERED);
  EXPECT_DOUBLE_EQ(*call.satisfaction, 8.0);
  EXPECT_EQ(call.billable_seconds, 295);
  EXPECT_GT(call.revision, 0u);
}

TEST(JsonCallsTest, ArrayAndFieldErrorsNameTheRecord) {
  EXPECT_TRUE(ParseJsonCalls(R"([{"call_id":"a","caller":"+15","started_at":
      "2026-11-20T09:30:00Z"},{"call_id":"b","callee":"+16",
      "started_at":"2026-11-20T09:31:00+01:00"}])",
                             {})
                  .ok());
  absl::Status status = ParseJsonCalls(R"([{"call_id":"a","caller":"+1",
      "started_at":"2026-11-20T09:30:00Z"},{"call_id":"b","caller":"+1",
      "started_at":"yesterday"}])",
                                       {})
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("calls[1].started_at"), std::string::npos)
      << status;
  for (const char* bad :
       {"", "{", "[1,2]",
        R"({"caller":"+1","started_at":"2026-11-20T09:30:00Z"})",
        R"({"call_id":5,"caller":"+1","started_at":"2026-11-20T09:30:00Z"})",
        R"({"call_id":"x","started_at":"2026-11-20T09:30:00Z"})",
        R"({"call_id":"x","caller":"+1","started_at":"2026-11-20T09:30:00Z",
            "disposition":"sort of"})",
        R"({"call_id":"x","caller":"+1","started_at":"2026-11-20T09:30:00Z",
            "duration_seconds":-4})",
        R"({"call_id":"x","caller":"+1","started_at":"2026-11-20T09:30:00Z",
            "satisfaction":7,"satisfaction_scale":5})"}) {
    EXPECT_FALSE(ParseJsonCalls(bad, {}).ok()) << bad;
  }
  const std::string huge =
      absl::StrCat(R"({"call_id":")", std::string(5000, 'x'),
                   R"(","caller":"+1","started_at":"2026-11-20T09:30:00Z"})");
  EXPECT_NE(ParseJsonCalls(huge, {}).status().message().find("call_id"),
            std::string::npos);
}

TEST(JsonCallsTest, DeeplyNestedBodiesAreRefusedNamingTheField) {
  const std::string call =
      R"("call_id":"a","caller":"+15","started_at":"2026-11-20T09:30:00Z")";
  const std::string deep =
      absl::StrCat(std::string(100'000, '['), std::string(100'000, ']'));
  EXPECT_EQ(
      ParseJsonCalls(absl::StrCat("{", call, R"(,"extra":)", deep, "}"), {})
          .status()
          .message(),
      "call.extra: nests arrays and objects deeper than the limit of 32");
  EXPECT_EQ(ParseJsonCalls(absl::StrCat("[{", call, "},{", call,
                                        R"(,"extra":[[1]]})", "]"),
                           {.max_json_depth = 3})
                .status()
                .message(),
            "calls[1].extra: nests arrays and objects deeper than the limit "
            "of 3");
  EXPECT_TRUE(ParseJsonCalls(absl::StrCat("[{", call, R"(,"extra":[1]})", "]"),
                             {.max_json_depth = 3})
                  .ok());
}

// The same call sent on ring, on answer and on hang-up, with no revision or
// updated_at of its own: each later copy must outrank the one before.
TEST(JsonCallsTest, RevisionFollowsTheCallsProgressUnlessGiven) {
  const auto revision_of = [](const std::string& extra) -> uint64_t {
    absl::StatusOr<std::vector<CallRecord>> calls = ParseJsonCalls(
        absl::StrCat(R"({"call_id":"c-7","caller":"+442071838750",)",
                     R"("started_at":"2026-11-20T09:30:00Z")", extra, "}"),
        {});
    EXPECT_TRUE(calls.ok()) << calls.status() << " " << extra;
    return calls.ok() ? (*calls)[0].revision : 0;
  };
  const uint64_t ringing = revision_of("");
  const uint64_t answered =
      revision_of(R"(,"answered_at":"2026-11-20T09:30:05Z")");
  const uint64_t answered_by_disposition =
      revision_of(R"(,"disposition":"answered")");
  const uint64_t hung_up = revision_of(
      R"(,"answered_at":"2026-11-20T09:30:05Z","disposition":"answered",)"
      R"("ended_at":"2026-11-20T09:35:00Z","duration_seconds":300)");
  const uint64_t missed = revision_of(R"(,"disposition":"no_answer")");
  const uint64_t with_duration_only = revision_of(R"(,"duration_seconds":42)");
  EXPECT_EQ(ringing, 1u);
  EXPECT_EQ(answered, 2u);
  EXPECT_EQ(answered_by_disposition, 2u);
  EXPECT_EQ(hung_up, 3u);
  EXPECT_EQ(missed, 3u);
  EXPECT_EQ(with_duration_only, 3u);
  // What the sender says wins, as before.
  EXPECT_EQ(revision_of(R"(,"revision":7)"), 7u);
  EXPECT_EQ(revision_of(R"(,"revision":0,"ended_at":"2026-11-20T09:35:00Z")"),
            0u);
  EXPECT_EQ(revision_of(R"(,"updated_at":"2026-11-20T09:36:00Z")"),
            static_cast<uint64_t>(1795167360) * 1000000);
}

TEST(AsteriskCdrTest, StandardLineWithQuotedCommas) {
  absl::StatusOr<std::vector<CallRecord>> calls =
      ParseAsteriskCdr(CdrLine("02071838750", "201", "2026-11-20 09:30:00",
                               "2026-11-20 09:30:04", "2026-11-20 09:35:00",
                               300, 296, "ANSWERED", "1700000000.42"),
                       {});
  ASSERT_TRUE(calls.ok()) << calls.status();
  ASSERT_EQ(calls->size(), 1u);
  const CallRecord& call = (*calls)[0];
  EXPECT_EQ(call.call_id, "1700000000.42");
  EXPECT_EQ(call.caller, "02071838750");
  EXPECT_EQ(call.agent, "SIP/201");
  EXPECT_EQ(call.queue, "sales");
  EXPECT_EQ(call.wrap_up_code, "wrap-7");
  EXPECT_EQ(call.direction, v1::CallDetail::DIRECTION_INBOUND);
  EXPECT_EQ(absl::ToUnixSeconds(*call.started_at), 1795167000);  // UTC
}

TEST(AsteriskCdrTest, RowsOfOneCallAreMergedByLinkedId) {
  const std::string body =
      CdrLine("02071838750", "201", "2026-11-20 09:30:00", "",
              "2026-11-20 09:30:20", 20, 0, "NO ANSWER", "1700000000.1",
              ",\"\",\"1700000000.1\",\"0\"") +
      CdrLine("02071838750", "202", "2026-11-20 09:30:20",
              "2026-11-20 09:30:25", "2026-11-20 09:40:00", 580, 575,
              "ANSWERED", "1700000000.2", ",\"\",\"1700000000.1\",\"1\"") +
      CdrLine("02079460000", "203", "2026-11-20 10:00:00", "",
              "2026-11-20 10:00:30", 30, 0, "BUSY", "1700000001.1");
  absl::StatusOr<std::vector<CallRecord>> calls = ParseAsteriskCdr(body, {});
  ASSERT_TRUE(calls.ok()) << calls.status();
  ASSERT_EQ(calls->size(), 2u);
  const CallRecord& merged = (*calls)[0];
  EXPECT_EQ(merged.call_id, "1700000000.1");
  EXPECT_EQ(merged.disposition, v1::CallDetail::DISPOSITION_ANSWERED);
  EXPECT_EQ(merged.agent, "SIP/202");
  EXPECT_EQ(merged.duration_seconds, 600);
  EXPECT_EQ(merged.revision, 2u);  // sequence 1, plus one
  EXPECT_EQ((*calls)[1].disposition, v1::CallDetail::DISPOSITION_BUSY);
}

// The last two columns of a newcdrcolumns line: linkedid and sequence.
std::string Linked(const std::string& linkedid, int sequence) {
  return absl::StrCat(",\"\",\"", linkedid, "\",\"", sequence, "\"");
}

// A row that did not go through a queue: Dial instead of Queue.
std::string Dialled(std::string line) {
  const std::string queue = "\"Queue\",\"sales,t,,,300\"";
  return line.replace(line.find(queue), queue.size(),
                      "\"Dial\",\"SIP/202,30\"");
}

// A transferred call: the first agent talks 275 s, the second 260 s. Every
// figure of the call adds the legs up, and the agent is who had the customer
// last; the rows may come in any order.
TEST(AsteriskCdrTest, ATransferredCallAddsUpItsLegs) {
  const std::string first =
      CdrLine("02071838750", "201", "2026-11-20 09:30:00",
              "2026-11-20 09:30:07", "2026-11-20 09:34:42", 282, 275,
              "ANSWERED", "1700000000.1", Linked("1700000000.1", 0));
  const std::string second =
      Dialled(CdrLine("02071838750", "202", "2026-11-20 09:34:42",
                      "2026-11-20 09:34:48", "2026-11-20 09:39:08", 266, 260,
                      "ANSWERED", "1700000000.2", Linked("1700000000.1", 1)));
  for (const std::string& body : {first + second, second + first}) {
    absl::StatusOr<std::vector<CallRecord>> calls = ParseAsteriskCdr(body, {});
    ASSERT_TRUE(calls.ok()) << calls.status();
    ASSERT_EQ(calls->size(), 1u);
    const CallRecord& call = (*calls)[0];
    EXPECT_EQ(call.duration_seconds, 282 + 266);
    EXPECT_EQ(call.billable_seconds, 275 + 260);
    EXPECT_EQ(call.agent, "SIP/202");  // the last answered leg
    EXPECT_EQ(call.queue, "sales");    // the last leg naming a queue
    EXPECT_EQ(call.disposition, v1::CallDetail::DISPOSITION_ANSWERED);
    EXPECT_EQ(
        absl::FormatTime("%H:%M:%S", *call.started_at, absl::UTCTimeZone()),
        "09:30:00");
    EXPECT_EQ(
        absl::FormatTime("%H:%M:%S", *call.answered_at, absl::UTCTimeZone()),
        "09:30:07");
    EXPECT_EQ(absl::FormatTime("%H:%M:%S", *call.ended_at, absl::UTCTimeZone()),
              "09:39:08");
    EXPECT_EQ(call.caller, "02071838750");
    EXPECT_EQ(call.revision, 2u);
  }
}

// A queue ringing two agents at once logs a row for each: the time they
// rang together counts once.
TEST(AsteriskCdrTest, LegsRungAtOnceCountOnce) {
  const std::string body =
      CdrLine("02071838750", "201", "2026-11-20 10:00:00", "",
              "2026-11-20 10:00:20", 20, 0, "NO ANSWER", "1700000002.2",
              Linked("1700000002.1", 1)) +
      CdrLine("02071838750", "202", "2026-11-20 10:00:00",
              "2026-11-20 10:00:15", "2026-11-20 10:05:15", 315, 300,
              "ANSWERED", "1700000002.3", Linked("1700000002.1", 2)) +
      CdrLine("02079460000", "203", "2026-11-20 11:00:00", "",
              "2026-11-20 11:00:20", 20, 0, "NO ANSWER", "1700000003.2",
              Linked("1700000003.1", 1)) +
      CdrLine("02079460000", "204", "2026-11-20 11:00:00", "",
              "2026-11-20 11:00:25", 25, 0, "BUSY", "1700000003.3",
              Linked("1700000003.1", 2));
  absl::StatusOr<std::vector<CallRecord>> calls = ParseAsteriskCdr(body, {});
  ASSERT_TRUE(calls.ok()) << calls.status();
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ((*calls)[0].duration_seconds, 315);
  EXPECT_EQ((*calls)[0].billable_seconds, 300);
  EXPECT_EQ((*calls)[0].agent, "SIP/202");
  // Never answered: the last row's disposition and agent.
  EXPECT_EQ((*calls)[1].duration_seconds, 25);
  EXPECT_EQ((*calls)[1].billable_seconds, 0);
  EXPECT_EQ((*calls)[1].disposition, v1::CallDetail::DISPOSITION_BUSY);
  EXPECT_EQ((*calls)[1].agent, "SIP/204");
}

TEST(AsteriskCdrTest, BadLinesAreRefusedNamingTheLine) {
  const std::string good =
      CdrLine("02071838750", "201", "2026-11-20 09:30:00", "",
              "2026-11-20 09:30:20", 20, 0, "NO ANSWER", "1.1");
  absl::Status status =
      ParseAsteriskCdr(good + "\"too\",\"few\",\"columns\"\n", {}).status();
  EXPECT_NE(status.message().find("line 2"), std::string::npos) << status;
  status =
      ParseAsteriskCdr(
          CdrLine("1", "2", "20/11/2026", "", "", 0, 0, "ANSWERED", "u"), {})
          .status();
  EXPECT_NE(status.message().find("column 10"), std::string::npos) << status;
  status = ParseAsteriskCdr(CdrLine("1", "2", "2026-11-20 09:30:00", "", "", 0,
                                    0, "MAYBE", "u"),
                            {})
               .status();
  EXPECT_NE(status.message().find("disposition"), std::string::npos);
  EXPECT_FALSE(ParseAsteriskCdr("", {}).ok());
  EXPECT_FALSE(ParseAsteriskCdr("\"unterminated,\n", {}).ok());
}

TEST(AsteriskCdrTest, LocalTimesAreReadInTheZoneAndNeverGuessed) {
  CallParseOptions options;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Madrid", &options.cdr_time_zone));
  absl::StatusOr<std::vector<CallRecord>> calls = ParseAsteriskCdr(
      CdrLine("612345678", "201", "2026-07-01 09:30:00", "",
              "2026-07-01 09:30:20", 20, 0, "NO ANSWER", "1.1"),
      options);
  ASSERT_TRUE(calls.ok()) << calls.status();
  // 09:30 in Madrid's summer is 07:30 UTC.
  EXPECT_EQ(*(*calls)[0].started_at,
            absl::FromCivil(absl::CivilSecond(2026, 7, 1, 7, 30, 0),
                            absl::UTCTimeZone()));
  // The clocks went back at 03:00 on 2026-10-25: 02:10 happened twice.
  absl::Status twice =
      ParseAsteriskCdr(
          CdrLine("612345678", "201", "2026-10-25 01:50:00", "",
                  "2026-10-25 02:10:00", 1200, 0, "NO ANSWER", "1.2"),
          options)
          .status();
  EXPECT_NE(twice.message().find("line 1, column 12: is 2026-10-25 02:10:00, "
                                 "which happened twice in Europe/Madrid"),
            std::string::npos)
      << twice;
  // The clocks went forward at 02:00 on 2026-03-29: 02:10 never happened.
  absl::Status never =
      ParseAsteriskCdr(CdrLine("612345678", "201", "2026-03-29 02:10:00", "",
                               "", 0, 0, "NO ANSWER", "1.3"),
                       options)
          .status();
  EXPECT_NE(never.message().find("never happened"), std::string::npos) << never;
  // In UTC, nothing is ever ambiguous.
  EXPECT_TRUE(
      ParseAsteriskCdr(CdrLine("612345678", "201", "2026-10-25 02:10:00", "",
                               "", 0, 0, "NO ANSWER", "1.4"),
                       {})
          .ok());
}

TEST(TwilioCallbackTest, StatusesOfOneCallRiseInRevision) {
  std::multimap<std::string, std::string> ringing = {
      {"CallSid", "CA123"},
      {"From", "+14155550132"},
      {"To", "+14155550100"},
      {"CallStatus", "ringing"},
      {"Direction", "inbound"},
      {"SequenceNumber", "0"},
      {"Timestamp", "Fri, 20 Nov 2026 09:30:00 +0000"}};
  std::multimap<std::string, std::string> completed = ringing;
  completed.erase("CallStatus");
  completed.erase("SequenceNumber");
  completed.erase("Timestamp");
  completed.insert({{"CallStatus", "completed"},
                    {"SequenceNumber", "2"},
                    {"CallDuration", "60"},
                    {"Timestamp", "Fri, 20 Nov 2026 09:31:00 +0000"}});
  absl::StatusOr<CallRecord> first = ParseTwilioCallback(ringing, kNow);
  absl::StatusOr<CallRecord> last = ParseTwilioCallback(completed, kNow);
  ASSERT_TRUE(first.ok() && last.ok()) << first.status() << last.status();
  EXPECT_EQ(first->call_id, last->call_id);
  EXPECT_LT(first->revision, last->revision);
  EXPECT_EQ(last->disposition, v1::CallDetail::DISPOSITION_ANSWERED);
  EXPECT_EQ(*first->started_at, *last->started_at);
}

TEST(TwilioCallbackTest, RequiredFieldsAndBadValues) {
  EXPECT_NE(ParseTwilioCallback({{"CallStatus", "busy"}}, kNow)
                .status()
                .message()
                .find("CallSid"),
            std::string::npos);
  EXPECT_FALSE(ParseTwilioCallback({{"CallSid", "CA1"}}, kNow).ok());
  EXPECT_FALSE(ParseTwilioCallback(
                   {{"CallSid", "CA1"}, {"CallStatus", "exploded"}}, kNow)
                   .ok());
  EXPECT_FALSE(ParseTwilioCallback({{"CallSid", "CA1"},
                                    {"CallStatus", "completed"},
                                    {"CallDuration", "ten"}},
                                   kNow)
                   .ok());
}

TEST(CallToEventTest, InboundMissedOutboundAndInternal) {
  identity::IdentityNormalizer normalizer({.default_region = "GB"});
  CallRecord call;
  call.format = "json";
  call.call_id = "c-9";
  call.caller = "020 7183 8750";
  call.callee = "201";
  call.started_at = kNow;
  call.disposition = v1::CallDetail::DISPOSITION_NO_ANSWER;
  auto event = CallToEvent(call, normalizer, {});
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_TRUE(event->has_value());
  EXPECT_EQ((*event)->event_id(), "call:json:c-9");
  EXPECT_EQ((*event)->kind(), v1::INTERACTION_KIND_MISSED_CALL);
  EXPECT_EQ((*event)->identities(0).value(), "+442071838750");

  call.direction = v1::CallDetail::DIRECTION_OUTBOUND;
  call.caller = "201";
  call.callee = "+44 20 7946 0000";
  event = CallToEvent(call, normalizer, {});
  ASSERT_TRUE(event.ok() && event->has_value());
  EXPECT_EQ((*event)->kind(), v1::INTERACTION_KIND_OUTBOUND_CALL);
  EXPECT_EQ((*event)->identities(0).value(), "+442079460000");

  call.callee = "202";  // extension to extension: no customer
  event = CallToEvent(call, normalizer, {});
  ASSERT_TRUE(event.ok());
  EXPECT_FALSE(event->has_value());

  call.callee = "+44 zz 1234 5678 9999";
  EXPECT_EQ(CallToEvent(call, normalizer, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CallToEventTest, TimesTheContractCannotHoldNameTheField) {
  identity::IdentityNormalizer normalizer({.default_region = "GB"});
  CallRecord call;
  call.format = "json";
  call.call_id = "c-1";
  call.caller = "020 7183 8750";
  call.callee = "201";
  call.started_at = absl::FromCivil(absl::CivilSecond(12026, 1, 1, 0, 0, 0),
                                    absl::UTCTimeZone());
  EXPECT_EQ(CallToEvent(call, normalizer, {}).status().message(),
            "started_at: 12026-01-01T00:00:00+00:00 is outside the years "
            "1970 to 9999");
  call.started_at = std::nullopt;
  call.answered_at = absl::FromUnixSeconds(-1);
  EXPECT_EQ(CallToEvent(call, normalizer, {}).status().message(),
            "answered_at: 1969-12-31T23:59:59+00:00 is outside the years "
            "1970 to 9999");
  call.started_at = kNow;
  call.answered_at = kNow;
  call.ended_at = absl::InfiniteFuture();
  EXPECT_EQ(CallToEvent(call, normalizer, {}).status().message(),
            "ended_at: infinite-future is outside the years 1970 to 9999");
  call.ended_at = kNow + absl::Minutes(3);
  EXPECT_TRUE(CallToEvent(call, normalizer, {}).ok());
}

}  // namespace
}  // namespace omnihub::phone

// The three call formats the phone adapter accepts, read into CallRecords.
#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/csv/csv_reader.h"
#include "common/csv/export_time.h"
#include "common/json_fields/json_body.h"
#include "common/json_fields/json_fields.h"
#include "nlohmann/json.hpp"
#include "services/phone_adapter/call_record.h"

namespace omnihub::phone {
namespace {

using nlohmann::json;

using json_fields::FieldError;
using json_fields::JsonFields;

std::optional<v1::CallDetail::Disposition> DispositionNamed(
    absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "answered" || lower == "completed") {
    return v1::CallDetail::DISPOSITION_ANSWERED;
  }
  if (lower == "no_answer" || lower == "no answer" || lower == "no-answer" ||
      lower == "canceled" || lower == "cancelled") {
    return v1::CallDetail::DISPOSITION_NO_ANSWER;
  }
  if (lower == "busy") return v1::CallDetail::DISPOSITION_BUSY;
  if (lower == "failed" || lower == "congestion") {
    return v1::CallDetail::DISPOSITION_FAILED;
  }
  if (lower == "voicemail") return v1::CallDetail::DISPOSITION_VOICEMAIL;
  return std::nullopt;
}

// ---- JSON ------------------------------------------------------------------

// Without an explicit revision or updated_at, how far the call had got when
// the record was sent, so the copy sent on hang-up replaces the one sent on
// answer (and a late copy of an earlier stage does not undo a later one):
// 1 ringing, 2 answered, 3 ended.
uint64_t RevisionFromProgress(const CallRecord& call) {
  const bool ended =
      call.ended_at.has_value() || call.duration_seconds > 0 ||
      call.billable_seconds > 0 ||
      (call.disposition != v1::CallDetail::DISPOSITION_UNSPECIFIED &&
       call.disposition != v1::CallDetail::DISPOSITION_ANSWERED);
  if (ended) return 3;
  if (call.answered_at.has_value() ||
      call.disposition == v1::CallDetail::DISPOSITION_ANSWERED) {
    return 2;
  }
  return 1;
}

absl::StatusOr<CallRecord> ReadJsonCall(const JsonFields& in) {
  if (!in.object().is_object()) {
    return FieldError(in.path(), "", "must be a JSON object");
  }
  CallRecord call;
  call.format = "json";
  std::string direction, disposition;
  int64_t duration_seconds = 0, billable_seconds = 0;
  constexpr int64_t kWeek = 7 * 86400;
  for (absl::Status status :
       {in.String("call_id", &call.call_id, true, 128),
        in.String("direction", &direction, false),
        in.String("caller", &call.caller, false, 64),
        in.String("callee", &call.callee, false, 64),
        in.Time("started_at", &call.started_at, true),
        in.Time("answered_at", &call.answered_at, false),
        in.Time("ended_at", &call.ended_at, false),
        in.Integer("duration_seconds", 0, kWeek, &duration_seconds),
        in.Integer("billable_seconds", 0, kWeek, &billable_seconds),
        in.String("disposition", &disposition, false),
        in.String("agent", &call.agent, false, 128),
        in.String("queue", &call.queue, false, 128),
        in.String("wrap_up_code", &call.wrap_up_code, false, 128),
        in.String("recording_url", &call.recording_url, false, 2048)}) {
    if (!status.ok()) return status;
  }
  call.duration_seconds = static_cast<int>(duration_seconds);
  call.billable_seconds = static_cast<int>(billable_seconds);
  if (direction == "inbound") {
    call.direction = v1::CallDetail::DIRECTION_INBOUND;
  } else if (direction == "outbound") {
    call.direction = v1::CallDetail::DIRECTION_OUTBOUND;
  } else if (!direction.empty()) {
    return FieldError(in.path(), "direction", "must be inbound or outbound");
  }
  if (!disposition.empty()) {
    auto known = DispositionNamed(disposition);
    if (!known) {
      return FieldError(in.path(), "disposition",
                        "must be answered, no_answer, busy, failed or "
                        "voicemail");
    }
    call.disposition = *known;
  }
  if (call.caller.empty() && call.callee.empty()) {
    return FieldError(in.path(), "caller", "caller or callee must be set");
  }
  if (absl::Status status = in.Satisfaction(&call.satisfaction); !status.ok()) {
    return status;
  }
  const json& object = in.object();
  std::optional<absl::Time> updated_at;
  if (absl::Status status = in.Time("updated_at", &updated_at, false);
      !status.ok()) {
    return status;
  }
  if (auto it = object.find("revision"); it != object.end() && !it->is_null()) {
    if (!it->is_number_unsigned()) {
      return FieldError(in.path(), "revision",
                        "must be a non-negative integer");
    }
    call.revision = it->get<uint64_t>();
  } else if (updated_at) {
    call.revision = static_cast<uint64_t>(absl::ToUnixMicros(*updated_at));
  } else {
    call.revision = RevisionFromProgress(call);
  }
  return call;
}

// ---- Asterisk cdr_csv -------------------------------------------------------

// Column positions of cdr_csv's Master.csv: 16 base columns, uniqueid and
// userfield (logged by default), then peeraccount, linkedid and sequence when
// newcdrcolumns is on.
enum CdrColumn {
  kSrc = 1,
  kDst = 2,
  kClid = 4,
  kDstChannel = 6,
  kLastApp = 7,
  kLastData = 8,
  kStart = 9,
  kAnswer = 10,
  kEnd = 11,
  kDuration = 12,
  kBillsec = 13,
  kDisposition = 14,
  kUniqueId = 16,
  kUserField = 17,
  kLinkedId = 19,
  kSequence = 20,
};
constexpr size_t kCdrColumns = 18;
constexpr size_t kCdrColumnsWithLinkedId = 21;

absl::Status CdrTime(const csv::CsvRow& row, int column, absl::TimeZone zone,
                     std::optional<absl::Time>* out) {
  const std::string& text = row.fields[column];
  if (text.empty()) return absl::OkStatus();
  // Read as if in UTC only to take the local time apart.
  absl::Time as_utc;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", text, absl::UTCTimeZone(), &as_utc,
                       nullptr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", row.line, ", column ", column + 1, ": \"", text,
                     "\" is not a time like 2026-11-20 09:30:00"));
  }
  // The hour the clocks go back happens twice in local time: a CDR from it
  // cannot be placed without guessing.
  absl::StatusOr<absl::Time> time = csv::ResolveLocalTime(
      absl::ToCivilSecond(as_utc, absl::UTCTimeZone()), zone);
  if (!time.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", row.line, ", column ", column + 1, ": ",
        time.status().message(),
        "; or have Asterisk log in UTC (usegmtime=yes in cdr.conf) and "
        "set --cdr_time_zone=UTC"));
  }
  *out = *time;
  return absl::OkStatus();
}

absl::StatusOr<CallRecord> ReadCdrRow(const csv::CsvRow& row,
                                      const CallParseOptions& options) {
  if (row.fields.size() < kCdrColumns) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", row.line, ": has ", row.fields.size(),
        " columns; cdr_csv lines have at least 18 (with uniqueid and "
        "userfield)"));
  }
  const auto& f = row.fields;
  CallRecord call;
  call.format = "asterisk";
  call.call_id = f[kUniqueId];
  if (f.size() >= kCdrColumnsWithLinkedId && !f[kLinkedId].empty()) {
    call.call_id = f[kLinkedId];
  }
  if (call.call_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", row.line, ": uniqueid (column 17) is empty"));
  }
  call.caller = f[kSrc];
  call.callee = f[kDst];
  for (auto [column, out] : {std::pair{kStart, &call.started_at},
                             std::pair{kAnswer, &call.answered_at},
                             std::pair{kEnd, &call.ended_at}}) {
    if (absl::Status status = CdrTime(row, column, options.cdr_time_zone, out);
        !status.ok()) {
      return status;
    }
  }
  if (!call.started_at) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", row.line, ": start (column 10) is empty"));
  }
  if (!absl::SimpleAtoi(f[kDuration], &call.duration_seconds) ||
      !absl::SimpleAtoi(f[kBillsec], &call.billable_seconds) ||
      call.duration_seconds < 0 || call.billable_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", row.line,
                     ": duration and billsec (columns 13, 14) must be "
                     "whole seconds"));
  }
  auto disposition = DispositionNamed(f[kDisposition]);
  if (!disposition) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", row.line, ": disposition \"", f[kDisposition],
        "\" is not ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION"));
  }
  call.disposition = *disposition;
  // "SIP/201-0000002a" -> "SIP/201": the agent's device.
  call.agent = f[kDstChannel].substr(0, f[kDstChannel].rfind('-'));
  if (f[kLastApp] == "Queue")
    call.queue = f[kLastData].substr(0, f[kLastData].find(','));
  call.wrap_up_code = f[kUserField];
  uint64_t sequence = 0;
  if (f.size() >= kCdrColumnsWithLinkedId &&
      absl::SimpleAtoi(f[kSequence], &sequence)) {
    call.revision = sequence + 1;
  } else {
    const absl::Time last = call.ended_at.value_or(*call.started_at);
    call.revision = static_cast<uint64_t>(absl::ToUnixSeconds(last));
  }
  return call;
}

// The time covered by at least one of `spans` ([from, to) each), in whole
// seconds: spans that follow one another add up, spans that overlap count
// once.
int CoveredSeconds(std::vector<std::pair<absl::Time, absl::Time>> spans) {
  std::sort(spans.begin(), spans.end());
  absl::Duration covered;
  std::optional<absl::Time> reached;
  for (auto [from, to] : spans) {
    if (reached && from < *reached) from = *reached;
    if (to > from) covered += to - from;
    if (!reached || to > *reached) reached = to;
  }
  return static_cast<int>(absl::ToInt64Seconds(covered));
}

// Several CDR rows of one call (a transfer, a queue ringing agents) become one
// call, whatever order they come in (see the README): rows are taken in the
// order they ended. A row spans its duration and its answered part its
// billsec, both up to its end, so one row keeps its own figures, rows that
// follow one another (a transfer) add up, and legs rung at once count once.
CallRecord MergeRows(std::vector<CallRecord> rows) {
  const auto end_of = [](const CallRecord& row) {
    return row.ended_at.value_or(*row.started_at +
                                 absl::Seconds(row.duration_seconds));
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const CallRecord& a, const CallRecord& b) {
                     return end_of(a) < end_of(b);
                   });
  // Who called whom: the row that started first.
  CallRecord call = *std::min_element(
      rows.begin(), rows.end(), [](const CallRecord& a, const CallRecord& b) {
        return *a.started_at < *b.started_at;
      });
  std::vector<std::pair<absl::Time, absl::Time>> spans, answered_spans;
  bool answered = false;
  call.queue.clear();
  call.wrap_up_code.clear();
  for (const CallRecord& row : rows) {
    const absl::Time end = end_of(row);
    spans.emplace_back(end - absl::Seconds(row.duration_seconds), end);
    answered_spans.emplace_back(end - absl::Seconds(row.billable_seconds), end);
    if (row.ended_at && (!call.ended_at || *row.ended_at > *call.ended_at)) {
      call.ended_at = row.ended_at;
    }
    if (row.answered_at &&
        (!call.answered_at || *row.answered_at < *call.answered_at)) {
      call.answered_at = row.answered_at;
    }
    if (row.disposition == v1::CallDetail::DISPOSITION_ANSWERED) {
      answered = true;
      call.agent = row.agent;
    } else if (!answered) {
      call.disposition = row.disposition;
      call.agent = row.agent;
    }
    if (!row.queue.empty()) call.queue = row.queue;
    if (!row.wrap_up_code.empty()) call.wrap_up_code = row.wrap_up_code;
    call.revision = std::max(call.revision, row.revision);
  }
  if (answered) call.disposition = v1::CallDetail::DISPOSITION_ANSWERED;
  call.duration_seconds = CoveredSeconds(std::move(spans));
  call.billable_seconds = CoveredSeconds(std::move(answered_spans));
  return call;
}

// Without the direction in a CDR, a call from an extension to a full number is
// outbound; everything else is inbound.
void InferDirection(CallRecord& call) {
  int caller_digits = 0, callee_digits = 0;
  for (char c : call.caller) caller_digits += absl::ascii_isdigit(c);
  for (char c : call.callee) callee_digits += absl::ascii_isdigit(c);
  call.direction = caller_digits <= 6 && callee_digits > 6
                       ? v1::CallDetail::DIRECTION_OUTBOUND
                       : v1::CallDetail::DIRECTION_INBOUND;
}

// ---- Twilio -----------------------------------------------------------------

const std::string* FormValue(
    const std::multimap<std::string, std::string>& form, const char* name) {
  auto it = form.find(name);
  return it == form.end() ? nullptr : &it->second;
}

int StatusRank(absl::string_view status) {
  static const std::pair<absl::string_view, int> kRanks[] = {{"queued", 1},
                                                             {"initiated", 2},
                                                             {"ringing", 3},
                                                             {"in-progress", 4},
                                                             {"answered", 4}};
  for (const auto& [name, rank] : kRanks) {
    if (name == status) return rank;
  }
  return 5;  // completed, busy, failed, no-answer, canceled: final
}

}  // namespace

absl::StatusOr<std::vector<CallRecord>> ParseJsonCalls(
    absl::string_view body, const CallParseOptions& options) {
  absl::StatusOr<json> parsed =
      json_fields::ParseJsonBody(body, {.max_depth = options.max_json_depth,
                                        .root = "call",
                                        .root_array = "calls"});
  if (!parsed.ok()) return parsed.status();
  const json& document = *parsed;
  std::vector<CallRecord> calls;
  if (document.is_array()) {
    if (document.size() > options.max_records) {
      return absl::InvalidArgumentError(absl::StrCat("body: ", document.size(),
                                                     " calls; the limit is ",
                                                     options.max_records));
    }
    for (size_t i = 0; i < document.size(); ++i) {
      absl::StatusOr<CallRecord> call =
          ReadJsonCall(JsonFields(document[i], absl::StrCat("calls[", i, "]")));
      if (!call.ok()) return call.status();
      calls.push_back(*std::move(call));
    }
  } else {
    absl::StatusOr<CallRecord> call =
        ReadJsonCall(JsonFields(document, "call"));
    if (!call.ok()) return call.status();
    calls.push_back(*std::move(call));
  }
  return calls;
}

absl::StatusOr<std::vector<CallRecord>> ParseAsteriskCdr(
    absl::string_view body, const CallParseOptions& options) {
  csv::CsvLimits limits;
  limits.max_rows = options.max_records;
  absl::StatusOr<std::vector<csv::CsvRow>> rows = csv::ReadCsv(body, limits);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::InvalidArgumentError("body: no CDR lines");
  // Each call's rows, calls in the order of their first row.
  std::vector<std::vector<CallRecord>> rows_of_call;
  std::map<std::string, size_t> index_of_call;
  for (const csv::CsvRow& row : *rows) {
    absl::StatusOr<CallRecord> call = ReadCdrRow(row, options);
    if (!call.ok()) return call.status();
    auto [it, fresh] =
        index_of_call.emplace(call->call_id, rows_of_call.size());
    if (fresh) rows_of_call.emplace_back();
    rows_of_call[it->second].push_back(*std::move(call));
  }
  std::vector<CallRecord> calls;
  calls.reserve(rows_of_call.size());
  for (std::vector<CallRecord>& call_rows : rows_of_call) {
    calls.push_back(MergeRows(std::move(call_rows)));
    InferDirection(calls.back());
  }
  return calls;
}

absl::StatusOr<CallRecord> ParseTwilioCallback(
    const std::multimap<std::string, std::string>& form, absl::Time now) {
  CallRecord call;
  call.format = "twilio";
  const std::string* sid = FormValue(form, "CallSid");
  const std::string* status = FormValue(form, "CallStatus");
  if (sid == nullptr || sid->empty()) {
    return absl::InvalidArgumentError("CallSid: must be set");
  }
  if (status == nullptr || status->empty()) {
    return absl::InvalidArgumentError("CallStatus: must be set");
  }
  call.call_id = *sid;
  if (const std::string* from = FormValue(form, "From")) call.caller = *from;
  if (const std::string* to = FormValue(form, "To")) call.callee = *to;
  const std::string* direction = FormValue(form, "Direction");
  call.direction =
      direction != nullptr && absl::StartsWith(*direction, "outbound")
          ? v1::CallDetail::DIRECTION_OUTBOUND
          : v1::CallDetail::DIRECTION_INBOUND;
  if (*status == "in-progress" || *status == "answered") {
    call.disposition = v1::CallDetail::DISPOSITION_ANSWERED;
  } else if (auto known = DispositionNamed(*status)) {
    call.disposition = *known;
  } else if (StatusRank(*status) == 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("CallStatus: \"", *status, "\" is not a call status"));
  }
  if (const std::string* duration = FormValue(form, "CallDuration")) {
    if (!absl::SimpleAtoi(*duration, &call.duration_seconds) ||
        call.duration_seconds < 0) {
      return absl::InvalidArgumentError("CallDuration: must be whole seconds");
    }
    call.billable_seconds = call.duration_seconds;
  }
  absl::Time at = now;
  if (const std::string* stamp = FormValue(form, "Timestamp")) {
    if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S %z", *stamp, &at, nullptr)) {
      return absl::InvalidArgumentError(
          "Timestamp: must be like \"Mon, 16 Aug 2010 03:45:01 +0000\"");
    }
  }
  // A final callback comes when the call ends: it started CallDuration ago.
  call.ended_at = StatusRank(*status) == 5 ? std::optional(at) : std::nullopt;
  call.started_at = at - absl::Seconds(call.duration_seconds);
  if (const std::string* url = FormValue(form, "RecordingUrl")) {
    call.recording_url = *url;
  }
  uint64_t sequence = 0;
  const std::string* sequence_text = FormValue(form, "SequenceNumber");
  call.revision =
      sequence_text != nullptr && absl::SimpleAtoi(*sequence_text, &sequence)
          ? sequence + 1
          : static_cast<uint64_t>(StatusRank(*status));
  return call;
}

}  // namespace omnihub::phone

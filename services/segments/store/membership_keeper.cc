#include "services/segments/store/membership_keeper.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/blocking_calls.h"
#include "services/insights/store/customer_read.h"
#include "services/segments/store/customer_facts.h"

namespace omnihub::segments {
namespace {

using redis::Reply;

// Evaluations lost to concurrent changes of the customer before giving up
// (the sender retries, or the deadline stays due).
constexpr int kMaxAttempts = 8;

// A reply's content, to tell whether the view changed between two reads.
void AppendReply(const Reply& reply, std::string* out) {
  absl::StrAppend(out, static_cast<int>(reply.type), ":", reply.integer, ":",
                  reply.str.size(), ":", reply.str, "[");
  for (const Reply& element : reply.elements) AppendReply(element, out);
  out->push_back(']');
}

std::string Fingerprint(const Reply& reply) {
  std::string text;
  AppendReply(reply, &text);
  return text;
}

absl::Status CheckAll(redis::Replies replies, absl::string_view what) {
  for (absl::StatusOr<Reply>& reply : replies) {
    reply = redis::ErrorReplyAsStatus(std::move(reply), what);
    if (!reply.ok()) return reply.status();
  }
  return absl::OkStatus();
}

// A recorded membership: "version|since micros".
struct Recorded {
  int64_t version = 0;
  int64_t since_micros = 0;
};

std::optional<Recorded> ParseRecorded(absl::string_view text) {
  std::pair<std::string, std::string> parts = absl::StrSplit(text, '|');
  Recorded recorded;
  if (!absl::SimpleAtoi(parts.first, &recorded.version) ||
      !absl::SimpleAtoi(parts.second, &recorded.since_micros)) {
    return std::nullopt;
  }
  return recorded;
}

}  // namespace

MembershipKeeper::MembershipKeeper(const timeline::StoreContext* context,
                                   const SegmentKeys* keys,
                                   const SegmentScripts* scripts,
                                   const SegmentDefinitions* definitions,
                                   const insights::InsightsEngine* insights,
                                   SegmentMetrics* metrics,
                                   MembershipKeeperOptions options)
    : context_(context),
      keys_(keys),
      scripts_(scripts),
      definitions_(definitions),
      insights_(insights),
      metrics_(metrics),
      options_(options),
      workers_(std::max(options.threads, 1), options.max_queued) {}

void MembershipKeeper::PurchasesChanged(
    const std::string& customer_id,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  // EventsChanged follows whenever purchases change.
  (void)customer_id;
  std::move(done)(absl::OkStatus());
}

void MembershipKeeper::EventsChanged(
    const std::string& customer_id,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  // With no segment defined there is nothing to keep.
  if (definitions_->Get()->segments.empty()) {
    return std::move(done)(absl::OkStatus());
  }
  auto shared_done =
      std::make_shared<absl::AnyInvocable<void(absl::Status) &&>>(
          std::move(done));
  absl::Status queued =
      workers_.Schedule(timeline::WorkKind::kOther,
                        {.run =
                             [this, customer_id, shared_done] {
                               std::move (*shared_done)(Evaluate(
                                   customer_id, EvaluationTrigger::kEvent));
                             },
                         .drop =
                             [shared_done](absl::Status why) {
                               std::move (*shared_done)(std::move(why));
                             }});
  if (!queued.ok()) {
    std::move (*shared_done)(absl::UnavailableError(
        absl::StrCat("segment evaluations are backed up: ", queued.message())));
  }
}

void MembershipKeeper::Forgetting(
    const std::string& customer_id,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  // The observer before this one may report from a Redis client thread,
  // where a blocking call would wait for itself.
  auto shared_done =
      std::make_shared<absl::AnyInvocable<void(absl::Status) &&>>(
          std::move(done));
  workers_.Schedule([this, customer_id, shared_done] {
    std::move (*shared_done)(Forget(customer_id));
  });
}

absl::Status MembershipKeeper::Forget(const std::string& customer_id) const {
  absl::StatusOr<Reply> recorded = timeline::Expect(
      redis::CallAndWait(*context_->redis,
                         {"HGETALL", keys_->CustomerSegments(customer_id)}),
      Reply::Type::kArray, "a customer's segments");
  if (!recorded.ok()) return recorded.status();
  std::vector<std::vector<std::string>> commands;
  for (size_t i = 0; i + 1 < recorded->elements.size(); i += 2) {
    std::optional<Recorded> entry =
        ParseRecorded(recorded->elements[i + 1].str);
    if (!entry.has_value()) continue;
    commands.push_back({"ZREM",
                        keys_->MembersOf(customer_id, recorded->elements[i].str,
                                         entry->version),
                        customer_id});
  }
  // The index entries first: a failure after them leaves the customer's
  // own keys, and the next try finds them again.
  if (absl::Status status =
          CheckAll(redis::CallAllAndWait(*context_->redis, std::move(commands)),
                   "a segment's members");
      !status.ok()) {
    return status;
  }
  return CheckAll(redis::CallAllAndWait(
                      *context_->redis,
                      {{"DEL", keys_->CustomerSegments(customer_id),
                        keys_->CustomerLog(customer_id)},
                       {"ZREM", keys_->DeadlinesOf(customer_id), customer_id}}),
                  "forgetting a customer's segments");
}

absl::Status MembershipKeeper::Evaluate(const std::string& customer_id,
                                        EvaluationTrigger trigger) const {
  absl::Status status;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    bool changed = false;
    status = EvaluateOnce(customer_id, trigger, &changed);
    if (!status.ok() || !changed) break;
    status = absl::AbortedError(
        absl::StrCat("customer ", customer_id,
                     " kept changing while its segments were evaluated; try "
                     "again"));
  }
  if (metrics_ != nullptr) {
    metrics_->evaluations(static_cast<int>(trigger), status.ok()).Increment();
  }
  return status;
}

absl::Status MembershipKeeper::EvaluateOnce(const std::string& customer_id,
                                            EvaluationTrigger trigger,
                                            bool* changed) const {
  const timeline::CustomerKeys customer =
      context_->keys.ForCustomer(customer_id);
  const std::shared_ptr<const DefinitionSet> definitions = definitions_->Get();
  const absl::Time now = context_->options.clock();
  redis::Replies read = redis::CallAllAndWait(
      *context_->redis, {{"HGETALL", customer.view},
                         {"SMEMBERS", customer.aliases},
                         {"HGETALL", keys_->CustomerSegments(customer_id)}});
  for (absl::StatusOr<Reply>& reply : read) {
    reply = timeline::Expect(std::move(reply), Reply::Type::kArray,
                             "a customer's segments");
    if (!reply.ok()) return reply.status();
  }
  // Customers merged into this one keep no memberships of their own.
  for (const Reply& alias : read[1]->elements) {
    absl::StatusOr<Reply> has = timeline::Expect(
        redis::CallAndWait(*context_->redis,
                           {"EXISTS", keys_->CustomerSegments(alias.str)}),
        Reply::Type::kInteger, "a merged customer's segments");
    if (!has.ok()) return has.status();
    if (has->integer == 0) continue;
    if (absl::Status forgot = Forget(alias.str); !forgot.ok()) return forgot;
  }
  absl::StatusOr<ViewFacts> facts =
      FactsOfView(*read[0], SourcesOf(*insights_), now);
  if (!facts.ok()) return facts.status();
  if (facts->gone) return Forget(customer_id);

  std::vector<std::string> args = {
      absl::StrCat(absl::ToUnixMicros(now)),
      absl::StrCat(std::max(options_.history_limit, 1))};
  std::optional<absl::Time> next_change;
  std::vector<std::pair<const v1::Segment*, bool>> verdicts;
  for (const v1::Segment& segment : definitions->segments) {
    const Verdict verdict =
        segments::Evaluate(segment.condition(), facts->facts, now);
    if (verdict.next_change.has_value() &&
        (!next_change.has_value() || *verdict.next_change < *next_change)) {
      next_change = verdict.next_change;
    }
    verdicts.emplace_back(&segment, verdict.member);
    args.push_back(segment.name());
    args.push_back(absl::StrCat(segment.version()));
    args.push_back(verdict.member ? "1" : "0");
  }
  absl::StatusOr<Reply> written = timeline::Expect(
      redis::RunAndWait(*context_->redis, scripts_->write_memberships,
                        {keys_->CustomerSegments(customer_id),
                         keys_->CustomerLog(customer_id), customer.view},
                        std::move(args)),
      Reply::Type::kArray, "recording a customer's segments");
  if (!written.ok()) return written.status();
  if (written->elements.size() == 1 && written->elements[0].str == "gone") {
    // Merged away or being erased since the read.
    *changed = true;
    return absl::OkStatus();
  }

  std::vector<std::vector<std::string>> writes;
  const std::vector<Reply>& changes = written->elements;
  for (size_t i = 0; i + 2 < changes.size(); i += 3) {
    int64_t version = 0;
    if (!absl::SimpleAtoi(changes[i + 2].str, &version)) continue;
    writes.push_back(
        {changes[i].str == "+" ? "ZADD" : "ZREM",
         keys_->MembersOf(customer_id, changes[i + 1].str, version)});
    if (changes[i].str == "+") writes.back().push_back("0");
    writes.back().push_back(customer_id);
  }
  if (trigger != EvaluationTrigger::kEvent) {
    for (const auto& [segment, member] : verdicts) {
      const std::string key =
          keys_->MembersOf(customer_id, segment->name(), segment->version());
      if (member) {
        writes.push_back({"ZADD", key, "0", customer_id});
      } else {
        writes.push_back({"ZREM", key, customer_id});
      }
    }
  }
  if (next_change.has_value()) {
    writes.push_back({"ZADD", keys_->DeadlinesOf(customer_id),
                      absl::StrCat(absl::ToUnixMicros(*next_change)),
                      customer_id});
  } else {
    writes.push_back({"ZREM", keys_->DeadlinesOf(customer_id), customer_id});
  }
  if (absl::Status status =
          CheckAll(redis::CallAllAndWait(*context_->redis, std::move(writes)),
                   "a segment's members");
      !status.ok()) {
    return status;
  }

  absl::StatusOr<Reply> again = timeline::Expect(
      redis::CallAndWait(*context_->redis, {"HGETALL", customer.view}),
      Reply::Type::kArray, "a customer's segments");
  if (!again.ok()) return again.status();
  *changed = Fingerprint(*again) != Fingerprint(*read[0]);
  return absl::OkStatus();
}

}  // namespace omnihub::segments

#include "services/segments/store/membership_keeper.h"

#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/redis/blocking_calls.h"
#include "services/insights/store/customer_read.h"
#include "services/segments/store/customer_facts.h"

namespace omnihub::segments {
namespace {

using redis::Reply;

// Evaluations lost to concurrent changes of the customer before giving up
// (the sender retries, or the deadline stays due).
constexpr int kMaxAttempts = 8;

// Whether two reads of a view gave the same content (in the same order: a
// reordered hash counts as changed, which costs a retry only).
bool SameReply(const Reply& a, const Reply& b) {
  if (a.type != b.type || a.integer != b.integer || a.str != b.str ||
      a.elements.size() != b.elements.size()) {
    return false;
  }
  for (size_t i = 0; i < a.elements.size(); ++i) {
    if (!SameReply(a.elements[i], b.elements[i])) return false;
  }
  return true;
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

// A deadline entry's score (micros) as ZSCORE gives it; nullopt: none.
std::optional<int64_t> ScoreMicros(const Reply& reply) {
  double score = 0;
  if (reply.type != Reply::Type::kString ||
      !absl::SimpleAtod(reply.str, &score)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(score));
}

// Entries and exits among the index changes a write_memberships script
// returned: a segment with both a '-' and a '+' moved its member to a newer
// version, which is neither.
std::pair<int, int> EntriesAndExits(const std::vector<Reply>& changed) {
  std::map<absl::string_view, std::pair<bool, bool>> seen;  // +, -
  for (size_t c = 0; c + 2 < changed.size(); c += 3) {
    std::pair<bool, bool>& change = seen[changed[c + 1].str];
    (changed[c].str == "+" ? change.first : change.second) = true;
  }
  std::pair<int, int> counts = {0, 0};
  for (const auto& [name, change] : seen) {
    if (change.first && !change.second) ++counts.first;
    if (change.second && !change.first) ++counts.second;
  }
  return counts;
}

// Commands of several customers sent together; each reply's failure is
// its customer's.
struct OwnedCommands {
  std::vector<std::vector<std::string>> commands;
  std::vector<size_t> owners;

  void Add(size_t owner, std::vector<std::string> command) {
    commands.push_back(std::move(command));
    owners.push_back(owner);
  }
  // Sends them all and waits; the first failure of each owner lands in
  // `failures[owner]`.
  void Send(redis::RedisClient& redis, absl::string_view what,
            std::vector<absl::Status>& failures) {
    if (commands.empty()) return;
    redis::Replies replies = redis::CallAllAndWait(redis, std::move(commands));
    for (size_t i = 0; i < replies.size(); ++i) {
      absl::StatusOr<Reply> reply =
          redis::ErrorReplyAsStatus(std::move(replies[i]), what);
      if (!reply.ok() && failures[owners[i]].ok()) {
        failures[owners[i]] = reply.status();
      }
    }
  }
};

// What one round does for one customer whose record or indexes change.
struct Plan {
  size_t id = 0;  // index into the ids
  const Reply* view = nullptr;
  std::vector<std::string> script_args;  // empty: no script
  // Index removals of the exits foreseen, sent before the script.
  std::vector<std::vector<std::string>> before;
  // Index entries and the deadline, sent after it.
  std::vector<std::vector<std::string>> after;
  // Something was written that a concurrent evaluation could make wrong
  // (the record, an index entry): the view is read again (step 4).
  bool check_view = false;
};

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
      workers_(1) {
  for (int i = 0; i < std::max(options_.threads, 1); ++i) {
    loops_.emplace_back([this] { Loop(); });
  }
}

MembershipKeeper::~MembershipKeeper() {
  {
    absl::MutexLock lock(&queue_mutex_);
    stopping_ = true;
  }
  for (std::thread& loop : loops_) loop.join();
}

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
  {
    absl::MutexLock lock(&queue_mutex_);
    if (!stopping_ && waiters_ < options_.max_queued) {
      auto [entry, added] = waiting_.try_emplace(customer_id);
      entry->second.push_back(std::move(done));
      if (added) queue_.push_back(customer_id);
      ++waiters_;
      return;
    }
  }
  std::move(done)(absl::UnavailableError(absl::StrCat(
      "segment evaluations are backed up: more than ", options_.max_queued,
      " events wait for their customer's; send again later")));
}

bool MembershipKeeper::HasWork() const {
  if (stopping_) return true;
  for (const std::string& id : queue_) {
    if (!running_.contains(id)) return true;
  }
  return false;
}

void MembershipKeeper::Loop() {
  const size_t batch = static_cast<size_t>(std::max(options_.batch, 1));
  for (;;) {
    std::vector<std::string> ids;
    std::vector<std::vector<Done>> dones;
    {
      absl::MutexLock lock(&queue_mutex_);
      queue_mutex_.Await(absl::Condition(this, &MembershipKeeper::HasWork));
      // A customer another loop evaluates now stays queued: its waiters
      // came after that evaluation read the customer.
      std::deque<std::string> kept;
      while (!queue_.empty()) {
        std::string id = std::move(queue_.front());
        queue_.pop_front();
        if (ids.size() < batch && !running_.contains(id)) {
          ids.push_back(std::move(id));
        } else {
          kept.push_back(std::move(id));
        }
      }
      queue_ = std::move(kept);
      if (ids.empty()) {
        if (stopping_) return;
        continue;
      }
      for (const std::string& id : ids) {
        running_.insert(id);
        auto entry = waiting_.find(id);
        waiters_ -= entry->second.size();
        dones.push_back(std::move(entry->second));
        waiting_.erase(entry);
      }
    }
    std::vector<absl::Status> statuses =
        EvaluateMany(ids, EvaluationTrigger::kEvent);
    {
      absl::MutexLock lock(&queue_mutex_);
      for (const std::string& id : ids) running_.erase(id);
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      for (Done& done : dones[i]) std::move(done)(statuses[i]);
    }
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
  return EvaluateMany({customer_id}, trigger)[0];
}

std::vector<absl::Status> MembershipKeeper::EvaluateMany(
    const std::vector<std::string>& ids, EvaluationTrigger trigger,
    const std::set<std::string>* only) const {
  std::vector<absl::Status> statuses(ids.size());
  std::vector<size_t> todo(ids.size());
  std::iota(todo.begin(), todo.end(), 0);
  for (int attempt = 0; attempt < kMaxAttempts && !todo.empty(); ++attempt) {
    todo = EvaluateRound(ids, todo, trigger, only,
                         /*write_every_entry=*/attempt > 0, statuses);
  }
  for (size_t i : todo) {
    statuses[i] = absl::AbortedError(
        absl::StrCat("customer ", ids[i],
                     " kept changing while its segments were evaluated; try "
                     "again"));
  }
  if (metrics_ != nullptr) {
    for (const absl::Status& status : statuses) {
      metrics_->evaluations(static_cast<int>(trigger), status.ok()).Increment();
    }
  }
  return statuses;
}

std::vector<size_t> MembershipKeeper::EvaluateRound(
    const std::vector<std::string>& ids, const std::vector<size_t>& todo,
    EvaluationTrigger trigger, const std::set<std::string>* only,
    bool write_every_entry, std::vector<absl::Status>& statuses) const {
  const std::shared_ptr<const DefinitionSet> definitions = definitions_->Get();
  const FactSources sources = SourcesOf(*insights_);
  const absl::Time now = context_->options.clock();
  const std::string now_text = absl::StrCat(absl::ToUnixMicros(now));
  const std::string history_limit =
      absl::StrCat(std::max(options_.history_limit, 1));

  // Step 1, for the whole batch. The background pass (`only`: a few
  // segments, over every customer) reads less: the record of those
  // segments only, neither the customers merged into this one (events and
  // merges see to theirs) nor the deadline entry (one is added with LT,
  // which keeps an earlier one).
  const bool partial = only != nullptr;
  const size_t kReads = partial ? 2 : 4;
  std::vector<std::string> record_read = {"HMGET", ""};
  if (partial) {
    record_read.insert(record_read.end(), only->begin(), only->end());
  }
  std::vector<std::vector<std::string>> reads;
  reads.reserve(todo.size() * kReads);
  for (size_t i : todo) {
    const std::string& id = ids[i];
    const timeline::CustomerKeys customer = context_->keys.ForCustomer(id);
    reads.push_back({"HGETALL", customer.view});
    if (partial) {
      record_read[1] = keys_->CustomerSegments(id);
      reads.push_back(record_read);
      continue;
    }
    reads.push_back({"SMEMBERS", customer.aliases});
    reads.push_back({"HGETALL", keys_->CustomerSegments(id)});
    reads.push_back({"ZSCORE", keys_->DeadlinesOf(id), id});
  }
  redis::Replies read =
      redis::CallAllAndWait(*context_->redis, std::move(reads));

  // Step 2's merged customers, and the plans of step 3.
  OwnedCommands alias_checks;
  std::vector<std::string> aliases;
  std::vector<size_t> gone;
  std::vector<Plan> plans;
  for (size_t k = 0; k < todo.size(); ++k) {
    const size_t i = todo[k];
    const std::string& id = ids[i];
    absl::Status failed;
    for (size_t r = 0; r < kReads && failed.ok(); ++r) {
      absl::StatusOr<Reply>& reply = read[k * kReads + r];
      reply = r < 3 ? timeline::Expect(std::move(reply), Reply::Type::kArray,
                                       "a customer's segments")
                    : redis::ErrorReplyAsStatus(std::move(reply),
                                                "a customer's deadline");
      if (!reply.ok()) failed = reply.status();
    }
    if (!failed.ok()) {
      statuses[i] = failed;
      continue;
    }
    const Reply& view = *read[k * kReads];
    const Reply& recorded_reply = *read[k * kReads + (partial ? 1 : 2)];
    std::map<std::string, Recorded, std::less<>> recorded;
    if (partial) {
      auto name = only->begin();
      for (const Reply& value : recorded_reply.elements) {
        if (name == only->end()) break;
        if (value.type == Reply::Type::kString) {
          if (std::optional<Recorded> entry = ParseRecorded(value.str)) {
            recorded[*name] = *entry;
          }
        }
        ++name;
      }
    } else {
      for (size_t f = 0; f + 1 < recorded_reply.elements.size(); f += 2) {
        if (std::optional<Recorded> entry =
                ParseRecorded(recorded_reply.elements[f + 1].str)) {
          recorded[recorded_reply.elements[f].str] = *entry;
        }
      }
    }
    std::optional<int64_t> deadline;
    if (!partial) deadline = ScoreMicros(*read[k * kReads + 3]);
    if (!partial) {
      // Customers merged into this one keep no memberships of their own.
      for (const Reply& alias : read[k * kReads + 1]->elements) {
        alias_checks.Add(i, {"EXISTS", keys_->CustomerSegments(alias.str)});
        aliases.push_back(alias.str);
      }
    }
    absl::StatusOr<ViewFacts> facts = FactsOfView(view, sources, now);
    if (!facts.ok()) {
      statuses[i] = facts.status();
      continue;
    }
    if (facts->gone) {
      // Nothing kept of it: nothing to drop.
      if (!recorded.empty() || deadline.has_value()) {
        gone.push_back(i);
      } else {
        statuses[i] = absl::OkStatus();
      }
      continue;
    }

    Plan plan;
    plan.id = i;
    plan.view = &view;
    std::vector<std::string> args = {now_text, history_limit};
    bool changes = false;
    std::optional<absl::Time> next_change;
    for (const v1::Segment& segment : definitions->segments) {
      if (only != nullptr && !only->contains(segment.name())) continue;
      const Verdict verdict =
          segments::Evaluate(segment.condition(), facts->facts, now);
      if (verdict.next_change.has_value() &&
          (!next_change.has_value() || *verdict.next_change < *next_change)) {
        next_change = verdict.next_change;
      }
      auto found = recorded.find(segment.name());
      const Recorded* old = found == recorded.end() ? nullptr : &found->second;
      // Recorded under a newer version than this replica knows: not ours
      // (the script leaves it too).
      if (old != nullptr && old->version > segment.version()) continue;
      const bool recorded_member =
          old != nullptr && old->version == segment.version();
      if (verdict.member != recorded_member ||
          (old != nullptr && !recorded_member)) {
        // Only the verdicts that differ from the record go to the script.
        changes = true;
        plan.check_view = true;
        args.push_back(segment.name());
        args.push_back(absl::StrCat(segment.version()));
        args.push_back(verdict.member ? "1" : "0");
        // An exit leaves the index before the record says so.
        if (old != nullptr) {
          plan.before.push_back(
              {"ZREM", keys_->MembersOf(id, segment.name(), old->version), id});
        }
      }
      const std::string key =
          keys_->MembersOf(id, segment.name(), segment.version());
      if (verdict.member) {
        if (trigger != EvaluationTrigger::kEvent || write_every_entry) {
          plan.after.push_back({"ZADD", key, "0", id});
          plan.check_view = true;
        }
      } else if (trigger == EvaluationTrigger::kDeadline || write_every_entry) {
        plan.after.push_back({"ZREM", key, id});
        plan.check_view = true;
      }
    }
    std::optional<int64_t> wanted;
    if (next_change.has_value()) wanted = absl::ToUnixMicros(*next_change);
    // A deadline entry only has to come no later than the next change: one
    // that comes early finds nothing changed and is set again then. So an
    // entry still ahead is kept unless the change comes before it (an event
    // that moves a recency along writes nothing), and the segments a pass
    // does not evaluate keep theirs in it.
    const bool ahead =
        deadline.has_value() && *deadline > absl::ToUnixMicros(now);
    const bool write_deadline =
        partial ? wanted.has_value()
                : (ahead ? wanted.has_value() && *wanted < *deadline
                         : wanted != deadline);
    if (write_deadline) {
      if (partial) {
        // Unread: LT adds it, or moves an entry that comes later forward.
        plan.after.push_back(
            {"ZADD", keys_->DeadlinesOf(id), "LT", absl::StrCat(*wanted), id});
      } else {
        // Set outright: an evaluation meanwhile may have wanted it earlier.
        plan.check_view = true;
        if (wanted.has_value()) {
          plan.after.push_back(
              {"ZADD", keys_->DeadlinesOf(id), absl::StrCat(*wanted), id});
        } else {
          plan.after.push_back({"ZREM", keys_->DeadlinesOf(id), id});
        }
      }
    }
    if (changes) {
      plan.script_args = std::move(args);
    } else {
      plan.before.clear();
    }
    if (!changes && plan.after.empty()) {
      // As recorded: nothing to write, so no write to race with either.
      statuses[i] = absl::OkStatus();
      continue;
    }
    plans.push_back(std::move(plan));
  }

  std::vector<absl::Status> failures(ids.size());
  // Step 2.
  if (!alias_checks.commands.empty()) {
    const std::vector<size_t> owners = alias_checks.owners;
    redis::Replies found = redis::CallAllAndWait(
        *context_->redis, std::move(alias_checks.commands));
    for (size_t a = 0; a < found.size(); ++a) {
      absl::StatusOr<Reply> has =
          timeline::Expect(std::move(found[a]), Reply::Type::kInteger,
                           "a merged customer's segments");
      absl::Status status = has.status();
      if (has.ok() && has->integer != 0) status = Forget(aliases[a]);
      if (!status.ok() && failures[owners[a]].ok()) {
        failures[owners[a]] = status;
      }
    }
  }
  for (size_t i : gone) statuses[i] = Forget(ids[i]);

  // Step 3: the exits' index entries, the scripts, the index entries and
  // deadlines.
  OwnedCommands exits;
  std::vector<redis::ScriptCall> calls;
  std::vector<size_t> scripted;  // plans with a script call
  for (size_t p = 0; p < plans.size(); ++p) {
    Plan& plan = plans[p];
    if (!failures[plan.id].ok()) continue;
    for (const std::vector<std::string>& command : plan.before) {
      exits.Add(plan.id, command);
    }
  }
  exits.Send(*context_->redis, "a segment's members", failures);
  for (size_t p = 0; p < plans.size(); ++p) {
    const Plan& plan = plans[p];
    if (plan.script_args.empty() || !failures[plan.id].ok()) continue;
    const std::string& id = ids[plan.id];
    calls.push_back(
        {.keys = {keys_->CustomerSegments(id), keys_->CustomerLog(id),
                  context_->keys.ForCustomer(id).view},
         .args = plan.script_args});
    scripted.push_back(p);
  }
  std::vector<size_t> again;
  std::vector<bool> merged_away(plans.size(), false);
  if (!calls.empty()) {
    redis::Replies written = redis::RunAllAndWait(
        *context_->redis, scripts_->write_memberships, std::move(calls));
    for (size_t s = 0; s < written.size(); ++s) {
      Plan& plan = plans[scripted[s]];
      absl::StatusOr<Reply> reply =
          timeline::Expect(std::move(written[s]), Reply::Type::kArray,
                           "recording a customer's segments");
      if (!reply.ok()) {
        failures[plan.id] = reply.status();
        continue;
      }
      if (reply->elements.size() == 1 && reply->elements[0].str == "gone") {
        // Merged away or being erased since the read.
        merged_away[scripted[s]] = true;
        continue;
      }
      const std::vector<Reply>& changed = reply->elements;
      const std::string& id = ids[plan.id];
      if (metrics_ != nullptr) {
        const auto [entries, exits] = EntriesAndExits(changed);
        const int by = static_cast<int>(trigger);
        if (entries > 0) metrics_->changes(by, true).Increment(entries);
        if (exits > 0) metrics_->changes(by, false).Increment(exits);
      }
      for (size_t c = 0; c + 2 < changed.size(); c += 3) {
        int64_t version = 0;
        if (!absl::SimpleAtoi(changed[c + 2].str, &version)) continue;
        std::vector<std::string> command =
            changed[c].str == "+"
                ? std::vector<std::string>{"ZADD",
                                           keys_->MembersOf(
                                               id, changed[c + 1].str, version),
                                           "0", id}
                : std::vector<std::string>{
                      "ZREM", keys_->MembersOf(id, changed[c + 1].str, version),
                      id};
        // Written already (an exit foreseen) or to be (every member's
        // entry).
        if (absl::c_find(plan.before, command) == plan.before.end() &&
            absl::c_find(plan.after, command) == plan.after.end()) {
          plan.after.push_back(std::move(command));
        }
      }
    }
  }
  OwnedCommands writes;
  for (size_t p = 0; p < plans.size(); ++p) {
    Plan& plan = plans[p];
    if (!failures[plan.id].ok() || merged_away[p]) continue;
    for (std::vector<std::string>& command : plan.after) {
      writes.Add(plan.id, std::move(command));
    }
  }
  writes.Send(*context_->redis, "a segment's members", failures);

  // Step 4.
  std::vector<std::vector<std::string>> rereads;
  std::vector<size_t> reread;
  for (size_t p = 0; p < plans.size(); ++p) {
    const Plan& plan = plans[p];
    if (!failures[plan.id].ok()) {
      statuses[plan.id] = failures[plan.id];
    } else if (merged_away[p]) {
      again.push_back(plan.id);
    } else if (!plan.check_view) {
      // Only a deadline written, which an evaluation meanwhile may move but
      // cannot make wrong: one that comes early finds nothing changed.
      statuses[plan.id] = absl::OkStatus();
    } else {
      rereads.push_back(
          {"HGETALL", context_->keys.ForCustomer(ids[plan.id]).view});
      reread.push_back(p);
    }
  }
  redis::Replies views =
      redis::CallAllAndWait(*context_->redis, std::move(rereads));
  for (size_t r = 0; r < views.size(); ++r) {
    const Plan& plan = plans[reread[r]];
    absl::StatusOr<Reply> view = timeline::Expect(
        std::move(views[r]), Reply::Type::kArray, "a customer's segments");
    if (!view.ok()) {
      statuses[plan.id] = view.status();
    } else if (!SameReply(*view, *plan.view)) {
      again.push_back(plan.id);
    } else {
      statuses[plan.id] = absl::OkStatus();
    }
  }
  for (size_t k = 0; k < todo.size(); ++k) {
    // A merged customer's failure is its owner's.
    if (!failures[todo[k]].ok() && statuses[todo[k]].ok()) {
      statuses[todo[k]] = failures[todo[k]];
    }
  }
  return again;
}

}  // namespace omnihub::segments

#include "services/segments/store/segment_engine.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"
#include "common/redis/blocking_calls.h"
#include "google/protobuf/util/time_util.h"
#include "services/insights/analysis/customer_record.h"
#include "services/insights/store/customer_read.h"
#include "services/insights/store/customer_scan.h"
#include "services/insights/store/insights_keys.h"
#include "services/segments/store/customer_facts.h"
#include "services/segments/store/versioned_read.h"

namespace omnihub::segments {
namespace {

using insights::TextOf;
using redis::Reply;

constexpr absl::Duration kPassLease = absl::Seconds(30);
// Customers per step of the pass from the customer index (or, until the
// index is complete, keys SCAN looks at: a customer has several); each
// step's are evaluated together, and where the pass is is saved after it.
constexpr int kScanCount = 4096;
constexpr int kSweepBatch = 500;
constexpr int kSweepRounds = 20;
// Old versions' member indexes dropped once a newer version is complete.
constexpr int64_t kVersionsDropped = 8;
constexpr size_t kMaxDescription = 1000;

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

google::protobuf::Timestamp TimestampOf(absl::Time time) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(time));
}

absl::Status CheckName(const std::string& name, absl::string_view field) {
  if (name.empty() || name.size() > 64) {
    return Invalid(field, "must be 1 to 64 characters");
  }
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' ||
          c == '_')) {
      return Invalid(field, absl::StrCat("\"", name,
                                         "\" may hold only lower-case letters, "
                                         "digits, '-' and '_'"));
    }
  }
  return absl::OkStatus();
}

absl::Status NotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("no segment named \"", name, "\""));
}

}  // namespace

SegmentEngine::SegmentEngine(const timeline::StoreContext* context,
                             const insights::InsightsEngine* insights,
                             SegmentOptions options, SegmentMetrics* metrics)
    : context_(context),
      insights_(insights),
      options_(std::move(options)),
      metrics_(metrics),
      keys_(context->keys.prefix()),
      definitions_(context->redis, &keys_, &scripts_),
      keeper_(context, &keys_, &scripts_, &definitions_, insights, metrics,
              options_.keeper),
      workers_(std::max(options_.concurrency, 1)) {}

SegmentEngine::~SegmentEngine() { Stop(); }

void SegmentEngine::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    // While this replica's pass is unfinished, the next tick follows at
    // once: the pass gets every slice it can.
    while (!stop_.WaitForNotificationWithTimeout(
        pass_unfinished_ ? absl::ZeroDuration() : options_.tick)) {
      if (absl::Status status = Tick(); !status.ok()) {
        log::Warning("segments: %s", status.ToString());
      }
    }
  });
}

void SegmentEngine::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::Status SegmentEngine::Tick() {
  absl::Status status = definitions_.Load();
  if (!status.ok()) return status;
  pass_unfinished_ = false;
  absl::StatusOr<bool> done = Reevaluate(options_.pass_slice);
  if (!done.ok()) status = done.status();
  absl::StatusOr<int64_t> swept = SweepDeadlines();
  if (!swept.ok() && status.ok()) status = swept.status();
  if (options_.size_interval > absl::ZeroDuration() &&
      absl::Now() - last_count_ >= options_.size_interval) {
    last_count_ = absl::Now();
    if (absl::Status counted = CountSizes(); !counted.ok() && status.ok()) {
      status = counted;
    }
  }
  return status;
}

absl::Status SegmentEngine::EvaluateAll(const std::vector<std::string>& ids,
                                        EvaluationTrigger trigger,
                                        const std::set<std::string>* only,
                                        absl::FunctionRef<void()> meanwhile) {
  // Batches of the keeper's size, a few at once: one evaluates here while
  // Redis answers another's round trip.
  const size_t batch = std::max(options_.keeper.batch, 1);
  absl::Mutex mutex;
  int remaining = 0;
  absl::Status first_error;
  for (size_t from = 0; from < ids.size(); from += batch) {
    std::vector<std::string> part(
        ids.begin() + from, ids.begin() + std::min(ids.size(), from + batch));
    {
      absl::MutexLock lock(&mutex);
      ++remaining;
    }
    workers_.Schedule([&, part = std::move(part)] {
      std::vector<absl::Status> statuses =
          keeper_.EvaluateMany(part, trigger, only);
      absl::MutexLock lock(&mutex);
      for (const absl::Status& status : statuses) {
        if (!status.ok() && first_error.ok()) first_error = status;
      }
      --remaining;
    });
  }
  meanwhile();
  absl::MutexLock lock(&mutex);
  mutex.Await(absl::Condition(
      +[](int* left) { return *left == 0; }, &remaining));
  return first_error;
}

absl::StatusOr<bool> SegmentEngine::TakeLease(const std::string& key,
                                              absl::Duration ttl) {
  const std::string millis = absl::StrCat(absl::ToInt64Milliseconds(ttl));
  redis::Replies replies = redis::CallAllAndWait(
      *context_->redis,
      {{"SET", key, options_.replica, "NX", "PX", millis}, {"GET", key}});
  for (absl::StatusOr<Reply>& reply : replies) {
    reply = redis::ErrorReplyAsStatus(std::move(reply), "a lease");
    if (!reply.ok()) return reply.status();
  }
  if (replies[0]->type == Reply::Type::kStatus) return true;
  if (TextOf(*replies[1]) != options_.replica) return false;
  absl::StatusOr<Reply> renewed = redis::ErrorReplyAsStatus(
      redis::CallAndWait(*context_->redis, {"PEXPIRE", key, millis}),
      "a lease");
  if (!renewed.ok()) return renewed.status();
  return true;
}

absl::StatusOr<bool> SegmentEngine::Reevaluate(absl::Duration slice) {
  const std::shared_ptr<const DefinitionSet> definitions = definitions_.Get();
  if (definitions->segments.empty()) return true;
  redis::Replies state = redis::CallAllAndWait(
      *context_->redis,
      {{"HGETALL", keys_.Done()},
       {"HMGET", keys_.Pass(), "fingerprint", "cursor", "evaluated"}});
  for (absl::StatusOr<Reply>& reply : state) {
    reply = timeline::Expect(std::move(reply), Reply::Type::kArray,
                             "the segments' evaluation");
    if (!reply.ok()) return reply.status();
  }
  // Per segment, "version|evaluated|completed at|inputs" of its last
  // complete evaluation.
  std::map<std::string, std::vector<std::string>> done;
  for (size_t i = 0; i + 1 < state[0]->elements.size(); i += 2) {
    done[state[0]->elements[i].str] =
        absl::StrSplit(state[0]->elements[i + 1].str, '|');
  }
  // Only the segments whose version or inputs changed since their last
  // complete evaluation are evaluated; the others' memberships are kept
  // right by events and deadlines.
  std::map<std::string, std::string> inputs;
  std::set<std::string> stale;
  std::string fingerprint;  // "name:version,..." of them, then their inputs
  std::string stamps;
  for (const v1::Segment& segment : definitions->segments) {
    const std::string& stamp = inputs[segment.name()] = InputsStamp(segment);
    const std::vector<std::string>& last = done[segment.name()];
    if (last.size() >= 3 && last[0] == absl::StrCat(segment.version()) &&
        (last.size() >= 4 ? last[3] : std::string()) == stamp) {
      continue;
    }
    stale.insert(segment.name());
    absl::StrAppend(&fingerprint, segment.name(), ":", segment.version(), ",");
    if (!stamp.empty()) {
      absl::StrAppend(&stamps, "|", segment.name(), "@", stamp);
    }
  }
  if (stale.empty()) return true;
  fingerprint += stamps;
  absl::StatusOr<bool> lease = TakeLease(keys_.PassLease(), kPassLease);
  if (!lease.ok()) return lease.status();
  if (!*lease) return false;  // another replica is at it

  const std::vector<Reply>& pass = state[1]->elements;
  std::string cursor = "0";
  int64_t evaluated = 0;
  if (TextOf(pass[0]) == fingerprint && !TextOf(pass[1]).empty()) {
    cursor = TextOf(pass[1]);
    evaluated = timeline::IntegerOrZero(TextOf(pass[2]));
  } else {
    log::Info("segments: evaluating every customer under %s", fingerprint);
  }
  const insights::InsightsKeys customer_keys(context_->keys.prefix());
  const absl::Time until = absl::Now() + slice;
  absl::StatusOr<insights::CustomerIdsStep> step =
      insights::ScanCustomerIds(*context_, customer_keys, cursor, kScanCount);
  if (!step.ok()) return step.status();
  for (;;) {
    // The next customers are scanned while these are evaluated.
    std::optional<absl::StatusOr<insights::CustomerIdsStep>> next;
    if (absl::Status status = EvaluateAll(
            step->ids, EvaluationTrigger::kPass, &stale,
            [&] {
              if (step->cursor != "0") {
                next = insights::ScanCustomerIds(*context_, customer_keys,
                                                 step->cursor, kScanCount);
              }
            });
        !status.ok()) {
      return status;
    }
    cursor = step->cursor;
    evaluated += static_cast<int64_t>(step->ids.size());
    absl::StatusOr<Reply> saved = redis::ErrorReplyAsStatus(
        redis::CallAndWait(
            *context_->redis,
            {"HSET", keys_.Pass(), "fingerprint", fingerprint, "cursor", cursor,
             "evaluated", absl::StrCat(evaluated)}),
        "the segments' evaluation");
    if (!saved.ok()) return saved.status();
    if (cursor == "0" || absl::Now() >= until) break;
    if (!next->ok()) return next->status();
    step = *std::move(next);
  }
  if (cursor != "0") {
    pass_unfinished_ = true;
    return false;
  }

  // Done: every segment of these definitions is complete at its version
  // (a segment changed meanwhile had its entry removed by the change, and
  // the next pass is for its new version).
  std::vector<std::vector<std::string>> marks;
  const std::string completed =
      absl::StrCat(evaluated, "|", absl::ToUnixMicros(Now()));
  for (const v1::Segment& segment : definitions->segments) {
    if (!stale.contains(segment.name())) continue;
    marks.push_back({"HSET", keys_.Done(), segment.name(),
                     absl::StrCat(segment.version(), "|", completed, "|",
                                  inputs[segment.name()])});
  }
  marks.push_back({"DEL", keys_.Pass()});
  for (absl::StatusOr<Reply>& reply :
       redis::CallAllAndWait(*context_->redis, std::move(marks))) {
    reply = redis::ErrorReplyAsStatus(std::move(reply), "the evaluation");
    if (!reply.ok()) return reply.status();
  }
  for (const v1::Segment& segment : definitions->segments) {
    if (stale.contains(segment.name()) && segment.version() > 1) {
      DropIndexes(segment.name(),
                  std::max<int64_t>(1, segment.version() - kVersionsDropped),
                  segment.version() - 1);
    }
  }
  log::Info("segments: %d customers evaluated under %s", evaluated,
            fingerprint);
  return true;
}

std::string SegmentEngine::InputsStamp(const v1::Segment& segment) const {
  const ConditionInputs uses = InputsOf(segment.condition());
  std::string stamp;
  if (uses.rfm) {
    const std::shared_ptr<const insights::CurrentRfm> rfm =
        insights_->rfm().Get();
    absl::StrAppend(
        &stamp, "rfm=",
        rfm->proto.has_value()
            ? absl::StrCat(
                  google::protobuf::util::TimeUtil::TimestampToMicroseconds(
                      rfm->proto->computed_at()))
            : std::string("none"));
  }
  if (uses.model) {
    const std::shared_ptr<const insights::CurrentModel> model =
        insights_->model().Get();
    absl::StrAppend(
        &stamp, stamp.empty() ? "" : ";", "model=",
        model->proto.has_value()
            ? absl::StrCat(
                  google::protobuf::util::TimeUtil::TimestampToMicroseconds(
                      model->proto->fitted_at()))
            : std::string("none"));
  }
  return stamp;
}

void SegmentEngine::DropIndexes(const std::string& name, int64_t from_version,
                                int64_t to_version) {
  std::vector<std::vector<std::string>> drops;
  for (int64_t version = from_version; version <= to_version; ++version) {
    for (int shard = 0; shard < kSegmentShards; ++shard) {
      drops.push_back({"UNLINK", keys_.Members(shard, name, version)});
    }
  }
  for (absl::StatusOr<Reply>& reply :
       redis::CallAllAndWait(*context_->redis, std::move(drops))) {
    reply = redis::ErrorReplyAsStatus(std::move(reply), "a segment's index");
    if (!reply.ok()) {
      log::Warning("segments: dropping %s's old members: %s", name,
                   reply.status().ToString());
      return;
    }
  }
}

absl::StatusOr<int64_t> SegmentEngine::SweepDeadlines() {
  const std::string now = absl::StrCat(absl::ToUnixMicros(Now()));
  int64_t due = 0;
  // Every shard in one round trip; again for the shards that had more.
  std::vector<int> shards(kSegmentShards);
  std::iota(shards.begin(), shards.end(), 0);
  for (int round = 0; round < kSweepRounds && !shards.empty(); ++round) {
    std::vector<std::vector<std::string>> reads;
    for (int shard : shards) {
      reads.push_back({"ZRANGEBYSCORE", keys_.Deadlines(shard), "-inf", now,
                       "LIMIT", "0", absl::StrCat(kSweepBatch)});
    }
    redis::Replies entries =
        redis::CallAllAndWait(*context_->redis, std::move(reads));
    std::vector<std::string> ids;
    std::vector<int> more;
    for (size_t i = 0; i < entries.size(); ++i) {
      absl::StatusOr<Reply> entry =
          timeline::Expect(std::move(entries[i]), Reply::Type::kArray,
                           "the segments' deadline index");
      if (!entry.ok()) return entry.status();
      if (static_cast<int>(entry->elements.size()) == kSweepBatch) {
        more.push_back(shards[i]);
      }
      for (Reply& id : entry->elements) ids.push_back(std::move(id.str));
    }
    if (ids.empty()) break;
    due += static_cast<int64_t>(ids.size());
    if (absl::Status status = EvaluateAll(ids, EvaluationTrigger::kDeadline);
        !status.ok()) {
      return status;
    }
    shards = std::move(more);
  }
  return due;
}

absl::StatusOr<int64_t> SegmentEngine::SizeOf(const v1::Segment& segment) {
  std::vector<std::vector<std::string>> counts;
  for (int shard = 0; shard < kSegmentShards; ++shard) {
    counts.push_back(
        {"ZCARD", keys_.Members(shard, segment.name(), segment.version())});
  }
  int64_t size = 0;
  for (absl::StatusOr<Reply>& reply :
       redis::CallAllAndWait(*context_->redis, std::move(counts))) {
    reply = timeline::Expect(std::move(reply), Reply::Type::kInteger,
                             "a segment's size");
    if (!reply.ok()) return reply.status();
    size += reply->integer;
  }
  return size;
}

absl::Status SegmentEngine::CountSizes() {
  const std::shared_ptr<const DefinitionSet> definitions = definitions_.Get();
  std::map<std::string, int64_t> sizes;
  const std::string today = absl::StrCat(insights::DayOf(Now()));
  for (const v1::Segment& segment : definitions->segments) {
    absl::StatusOr<int64_t> size = SizeOf(segment);
    if (!size.ok()) return size.status();
    sizes[segment.name()] = *size;
    absl::StatusOr<Reply> recorded = redis::ErrorReplyAsStatus(
        redis::CallAndWait(
            *context_->redis,
            {"HSET", keys_.Sizes(segment.name()), today, absl::StrCat(*size)}),
        "a segment's size history");
    if (!recorded.ok()) return recorded.status();
  }
  if (metrics_ != nullptr) metrics_->SetSizes(sizes);
  return absl::OkStatus();
}

absl::Status SegmentEngine::CheckDefinition(const v1::Segment& segment) const {
  if (absl::Status name = CheckName(segment.name(), "segment.name");
      !name.ok()) {
    return name;
  }
  if (segment.description().size() > kMaxDescription) {
    return Invalid("segment.description",
                   absl::StrCat("at most ", kMaxDescription, " bytes"));
  }
  if (!segment.has_condition()) {
    return Invalid("segment.condition", "is required");
  }
  const google::protobuf::Message& message = segment;
  if (!message.GetReflection()->GetUnknownFields(message).empty()) {
    return Invalid("segment", "has a field this server does not know");
  }
  return ValidateCondition(segment.condition(), options_.condition,
                           "segment.condition");
}

absl::Status SegmentEngine::AddProgress(v1::Segment& segment) {
  redis::Replies replies = redis::CallAllAndWait(
      *context_->redis, {{"HGET", keys_.Done(), segment.name()},
                         {"HMGET", keys_.Pass(), "fingerprint", "evaluated"}});
  for (absl::StatusOr<Reply>& reply : replies) {
    reply = redis::ErrorReplyAsStatus(std::move(reply), "a segment's progress");
    if (!reply.ok()) return reply.status();
  }
  v1::SegmentReevaluation* progress = segment.mutable_reevaluation();
  std::vector<std::string> done = absl::StrSplit(TextOf(*replies[0]), '|');
  if (done.size() >= 3 && done[0] == absl::StrCat(segment.version())) {
    progress->set_complete(true);
    progress->set_customers_evaluated(timeline::IntegerOrZero(done[1]));
    *progress->mutable_completed_at() =
        TimestampOf(absl::FromUnixMicros(timeline::IntegerOrZero(done[2])));
    return absl::OkStatus();
  }
  if (replies[1]->type == Reply::Type::kArray &&
      replies[1]->elements.size() == 2 &&
      absl::StrContains(
          TextOf(replies[1]->elements[0]),
          absl::StrCat(segment.name(), ":", segment.version(), ","))) {
    progress->set_customers_evaluated(
        timeline::IntegerOrZero(TextOf(replies[1]->elements[1])));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Segment> SegmentEngine::Create(const v1::Segment& request) {
  if (absl::Status valid = CheckDefinition(request); !valid.ok()) return valid;
  if (absl::Status loaded = definitions_.Load(); !loaded.ok()) return loaded;
  if (static_cast<int>(definitions_.Get()->segments.size()) >=
      options_.max_segments) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", options_.max_segments,
                     " segments (--segments_max); delete one first"));
  }
  absl::StatusOr<int64_t> last = definitions_.LastVersion(request.name());
  if (!last.ok()) return last.status();
  v1::Segment segment;
  segment.set_name(request.name());
  segment.set_description(request.description());
  *segment.mutable_condition() = request.condition();
  segment.set_version(*last + 1);
  *segment.mutable_created_at() = TimestampOf(Now());
  *segment.mutable_updated_at() = segment.created_at();
  absl::StatusOr<bool> stored =
      definitions_.Put(segment.name(), std::nullopt, segment);
  if (!stored.ok()) return stored.status();
  if (!*stored) {
    return absl::AlreadyExistsError(
        absl::StrCat("a segment named \"", segment.name(), "\" exists"));
  }
  if (absl::Status status = AddProgress(segment); !status.ok()) return status;
  return segment;
}

absl::StatusOr<v1::Segment> SegmentEngine::Update(const v1::Segment& request,
                                                  int64_t expected_version) {
  if (absl::Status valid = CheckDefinition(request); !valid.ok()) return valid;
  absl::StatusOr<std::optional<v1::Segment>> current =
      definitions_.Read(request.name());
  if (!current.ok()) return current.status();
  if (!current->has_value()) return NotFound(request.name());
  if (expected_version != 0 && (*current)->version() != expected_version) {
    return absl::FailedPreconditionError(
        absl::StrCat("segment \"", request.name(), "\" is at version ",
                     (*current)->version(), ", not ", expected_version));
  }
  v1::Segment segment = **current;
  segment.clear_reevaluation();
  segment.set_description(request.description());
  *segment.mutable_condition() = request.condition();
  segment.set_version(segment.version() + 1);
  *segment.mutable_updated_at() = TimestampOf(Now());
  absl::StatusOr<bool> stored =
      definitions_.Put(segment.name(), *current, segment);
  if (!stored.ok()) return stored.status();
  if (!*stored) {
    return absl::AbortedError(absl::StrCat("segment \"", segment.name(),
                                           "\" changed meanwhile; try again"));
  }
  if (absl::Status status = AddProgress(segment); !status.ok()) return status;
  return segment;
}

absl::Status SegmentEngine::Delete(const std::string& name) {
  if (absl::Status valid = CheckName(name, "name"); !valid.ok()) return valid;
  absl::StatusOr<std::optional<v1::Segment>> current = definitions_.Read(name);
  if (!current.ok()) return current.status();
  if (!current->has_value()) return NotFound(name);
  absl::StatusOr<bool> deleted = definitions_.Put(name, *current, std::nullopt);
  if (!deleted.ok()) return deleted.status();
  if (!*deleted) {
    return absl::AbortedError(
        absl::StrCat("segment \"", name, "\" changed meanwhile; try again"));
  }
  absl::StatusOr<Reply> sizes = redis::ErrorReplyAsStatus(
      redis::CallAndWait(*context_->redis, {"UNLINK", keys_.Sizes(name)}),
      "a segment's sizes");
  if (!sizes.ok()) return sizes.status();
  // Each customer's own record of it stays (see write_memberships.lua).
  DropIndexes(name,
              std::max<int64_t>(1, (*current)->version() - kVersionsDropped),
              (*current)->version());
  return absl::OkStatus();
}

absl::StatusOr<v1::Segment> SegmentEngine::Get(const std::string& name) {
  if (absl::Status valid = CheckName(name, "name"); !valid.ok()) return valid;
  absl::StatusOr<std::optional<v1::Segment>> current = definitions_.Read(name);
  if (!current.ok()) return current.status();
  if (!current->has_value()) return NotFound(name);
  v1::Segment segment = **current;
  if (absl::Status status = AddProgress(segment); !status.ok()) return status;
  return segment;
}

absl::StatusOr<std::vector<v1::Segment>> SegmentEngine::List() {
  if (absl::Status loaded = definitions_.Load(); !loaded.ok()) return loaded;
  std::vector<v1::Segment> segments = definitions_.Get()->segments;
  for (v1::Segment& segment : segments) {
    if (absl::Status status = AddProgress(segment); !status.ok()) {
      return status;
    }
  }
  return segments;
}

void SegmentEngine::Members(const std::string& name, int page_size,
                            const std::string& page_token,
                            timeline::Done<MembersPage> done) {
  if (absl::Status valid = CheckName(name, "name"); !valid.ok()) {
    return std::move(done)(valid);
  }
  if (page_size < 0 || page_size > options_.max_page_size) {
    return std::move(done)(Invalid(
        "page_size", absl::StrCat("must be 0 to ", options_.max_page_size)));
  }
  if (!page_token.empty() && !timeline::IsWellFormedCustomerId(page_token)) {
    return std::move(done)(
        Invalid("page_token", "is not a token ListSegmentMembers gave"));
  }
  MemberPageQuery query{.name = name,
                        .page_size = page_size == 0 ? 100 : page_size,
                        .after = page_token};
  if (const v1::Segment* loaded = definitions_.Get()->Find(name)) {
    query.loaded_version = loaded->version();
  }
  ReadMemberPage(*context_->redis, keys_, std::move(query), std::move(done));
}

absl::StatusOr<v1::GetCustomerSegmentsResponse> SegmentEngine::CustomerSegments(
    const std::string& customer_id) {
  if (absl::Status loaded = definitions_.Load(); !loaded.ok()) return loaded;
  const std::shared_ptr<const DefinitionSet> definitions = definitions_.Get();
  const absl::Time now = Now();
  redis::Replies replies = redis::CallAllAndWait(
      *context_->redis,
      {{"HGETALL", context_->keys.ForCustomer(customer_id).view},
       {"HGETALL", keys_.CustomerSegments(customer_id)},
       {"LRANGE", keys_.CustomerLog(customer_id), "0",
        absl::StrCat(options_.keeper.history_limit - 1)}});
  for (absl::StatusOr<Reply>& reply : replies) {
    reply = timeline::Expect(std::move(reply), Reply::Type::kArray,
                             "a customer's segments");
    if (!reply.ok()) return reply.status();
  }
  absl::StatusOr<ViewFacts> facts =
      FactsOfView(*replies[0], SourcesOf(*insights_), now);
  if (!facts.ok()) return facts.status();
  if (facts->gone) {
    return absl::NotFoundError(
        absl::StrCat("customer ", customer_id, " is gone"));
  }
  std::map<std::string, int64_t> since;
  for (size_t i = 0; i + 1 < replies[1]->elements.size(); i += 2) {
    std::vector<std::string> parts =
        absl::StrSplit(replies[1]->elements[i + 1].str, '|');
    if (parts.size() == 2) {
      since[replies[1]->elements[i].str] = timeline::IntegerOrZero(parts[1]);
    }
  }
  v1::GetCustomerSegmentsResponse response;
  response.set_customer_id(customer_id);
  for (const v1::Segment& segment : definitions->segments) {
    if (!Evaluate(segment.condition(), facts->facts, now).member) continue;
    v1::CustomerSegmentMembership* membership = response.add_memberships();
    membership->set_segment(segment.name());
    membership->set_version(segment.version());
    if (auto found = since.find(segment.name()); found != since.end()) {
      *membership->mutable_since() =
          TimestampOf(absl::FromUnixMicros(found->second));
    }
  }
  for (const Reply& entry : replies[2]->elements) {
    std::vector<std::string> parts = absl::StrSplit(entry.str, '|');
    if (parts.size() != 4) continue;
    v1::SegmentMembershipChange* change = response.add_changes();
    *change->mutable_at() =
        TimestampOf(absl::FromUnixMicros(timeline::IntegerOrZero(parts[0])));
    change->set_entered(parts[1] == "+");
    change->set_segment(parts[2]);
    change->set_version(timeline::IntegerOrZero(parts[3]));
  }
  return response;
}

absl::StatusOr<v1::GetSegmentSizesResponse> SegmentEngine::Sizes(
    const std::string& name, int days) {
  if (days < 0 || days > options_.size_history_days) {
    return Invalid("days",
                   absl::StrCat("must be 0 to ", options_.size_history_days));
  }
  if (days == 0) days = 30;
  absl::StatusOr<v1::Segment> segment = Get(name);
  if (!segment.ok()) return segment.status();
  absl::StatusOr<int64_t> size = SizeOf(*segment);
  if (!size.ok()) return size.status();
  const int64_t today = insights::DayOf(Now());
  std::vector<std::string> read = {"HMGET", keys_.Sizes(name)};
  for (int64_t day = today - days + 1; day <= today; ++day) {
    read.push_back(absl::StrCat(day));
  }
  absl::StatusOr<Reply> history =
      timeline::Expect(redis::CallAndWait(*context_->redis, std::move(read)),
                       Reply::Type::kArray, "a segment's size history");
  if (!history.ok()) return history.status();
  v1::GetSegmentSizesResponse response;
  response.set_size(*size);
  response.set_version(segment->version());
  for (size_t i = 0; i < history->elements.size(); ++i) {
    if (history->elements[i].type != Reply::Type::kString) continue;
    v1::SegmentSizeOnDay* entry = response.add_history();
    *entry->mutable_day() =
        TimestampOf(insights::StartOfDay(today - days + 1 + i));
    entry->set_size(timeline::IntegerOrZero(history->elements[i].str));
  }
  return response;
}

absl::StatusOr<std::vector<v1::CustomerSegmentMembership>>
SegmentEngine::MembershipsOf(const std::string& customer_id) {
  // With no segment defined (as of the last tick's load) the insights
  // answer pays no round trip for them.
  if (definitions_.Get()->segments.empty()) {
    return std::vector<v1::CustomerSegmentMembership>();
  }
  absl::StatusOr<v1::GetCustomerSegmentsResponse> segments =
      CustomerSegments(customer_id);
  if (!segments.ok()) return segments.status();
  return std::vector<v1::CustomerSegmentMembership>(
      segments->memberships().begin(), segments->memberships().end());
}

void SegmentEngine::MembersAmong(
    const std::string& segment, std::vector<std::string> customer_ids,
    absl::AnyInvocable<void(absl::StatusOr<std::vector<bool>>) &&> done) {
  if (absl::Status valid = CheckName(segment, "segment"); !valid.ok()) {
    return std::move(done)(valid);
  }
  int64_t loaded_version = 0;
  if (const v1::Segment* loaded = definitions_.Get()->Find(segment)) {
    loaded_version = loaded->version();
  }
  auto ids =
      std::make_shared<const std::vector<std::string>>(std::move(customer_ids));
  ReadUnderStoredVersion(
      *context_->redis, keys_, segment, loaded_version,
      [this, segment, ids](int64_t version) {
        std::vector<std::vector<std::string>> checks;
        for (const std::string& id : *ids) {
          checks.push_back(
              {"ZSCORE", keys_.MembersOf(id, segment, version), id});
        }
        return checks;
      },
      [done = std::move(done)](absl::StatusOr<VersionedReplies> read) mutable {
        if (!read.ok()) return std::move(done)(read.status());
        std::vector<bool> members;
        for (absl::StatusOr<Reply>& reply : read->replies) {
          reply = redis::ErrorReplyAsStatus(std::move(reply),
                                            "a segment's members");
          if (!reply.ok()) return std::move(done)(reply.status());
          members.push_back(reply->type == Reply::Type::kString);
        }
        std::move(done)(std::move(members));
      });
}

}  // namespace omnihub::segments

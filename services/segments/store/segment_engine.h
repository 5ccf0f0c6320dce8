// The segments on one replica (any number run one each, against the same
// Redis): their definitions, the membership keeper to give the timeline
// store as an observer, and the background work of a tick:
//   - loads the definitions other replicas changed;
//   - after a definition changed, or the RFM boundaries or the purchase
//     model a segment's conditions read did, evaluates every customer again
//     for those segments only (one replica at a time, resumable where it
//     stopped, a tick after another until done), with progress kept in
//     Redis and readable in the segment;
//   - sweeps the deadline index: customers for whom a time-relative
//     condition changes now are evaluated at that moment;
//   - counts every segment's members now and then: the gauges, and the
//     day's size in the size history.
// Plus the operations of the gRPC service. Time comes from the store's
// clock, so tests move it without sleeping.
//
//   SegmentEngine engine(&store.context(), &insights, {}, &metrics);
//   observers.Add(&engine.keeper());
//   engine.Start();
#ifndef OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_ENGINE_H_
#define OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "omnihub/v1/segments.pb.h"
#include "services/insights/store/insights_engine.h"
#include "services/insights/store/segment_lookup.h"
#include "services/segments/condition/segment_condition.h"
#include "services/segments/store/member_page.h"
#include "services/segments/store/membership_keeper.h"
#include "services/segments/store/segment_definitions.h"
#include "services/segments/store/segment_keys.h"
#include "services/segments/store/segment_metrics.h"
#include "services/timeline/store_context.h"

namespace omnihub::segments {

struct SegmentOptions {
  ConditionLimits condition;
  int max_segments = 100;
  MembershipKeeperOptions keeper;
  absl::Duration tick = absl::Seconds(1);
  // Time the background evaluation may take from each tick.
  absl::Duration pass_slice = absl::Seconds(2);
  // Batches (of keeper.batch customers) evaluated at once by the pass and
  // the sweeper.
  int concurrency = 8;
  // Counts the members of every segment this often (zero: only on request).
  absl::Duration size_interval = absl::Minutes(1);
  // Days of size history kept per segment.
  int size_history_days = 400;
  int max_page_size = 1000;
  std::string replica = "omnihub";
};

class SegmentEngine : public insights::SegmentLookup {
 public:
  // `metrics` may be null. The context and the insights engine (its model,
  // RFM boundaries and value settings) must outlive the engine.
  SegmentEngine(const timeline::StoreContext* context,
                const insights::InsightsEngine* insights,
                SegmentOptions options, SegmentMetrics* metrics);
  ~SegmentEngine() override;

  SegmentEngine(const SegmentEngine&) = delete;
  SegmentEngine& operator=(const SegmentEngine&) = delete;

  MembershipKeeper& keeper() { return keeper_; }
  const SegmentOptions& options() const { return options_; }
  const SegmentKeys& keys() const { return keys_; }
  absl::Time Now() const { return context_->options.clock(); }

  void Start();
  void Stop();

  // One tick (tests call it directly): loads the definitions, evaluates
  // (for up to a slice of time), sweeps what is due, counts when due.
  absl::Status Tick();
  absl::Status LoadDefinitions() { return definitions_.Load(); }
  // Whether every customer has been evaluated under the current
  // definitions.
  absl::StatusOr<bool> Reevaluate(absl::Duration slice);
  // How many customers were due.
  absl::StatusOr<int64_t> SweepDeadlines();
  // Counts every segment, sets the gauges and records today's sizes.
  absl::Status CountSizes();

  // The service's operations. Blocking, but for Members.
  absl::StatusOr<v1::Segment> Create(const v1::Segment& request);
  absl::StatusOr<v1::Segment> Update(const v1::Segment& request,
                                     int64_t expected_version);
  absl::Status Delete(const std::string& name);
  absl::StatusOr<v1::Segment> Get(const std::string& name);
  absl::StatusOr<std::vector<v1::Segment>> List();
  // A page of the segment's members, without blocking: `done` runs once,
  // at once when the request is invalid, else on a Redis reply's thread.
  void Members(const std::string& name, int page_size,
               const std::string& page_token, timeline::Done<MembersPage> done);
  // Evaluated at the time of the read under the definitions in use, so a
  // customer the background evaluation has not reached yet is answered
  // with the current version's verdict too.
  absl::StatusOr<v1::GetCustomerSegmentsResponse> CustomerSegments(
      const std::string& customer_id);
  absl::StatusOr<v1::GetSegmentSizesResponse> Sizes(const std::string& name,
                                                    int days);
  absl::StatusOr<int64_t> SizeOf(const v1::Segment& segment);

  // insights::SegmentLookup: for the insights answer and the top customers
  // within a segment. MembershipsOf answers as CustomerSegments, but with
  // no round trip while no segment is defined (as of the last tick: a
  // segment defined on another replica shows within a tick).
  absl::StatusOr<std::vector<v1::CustomerSegmentMembership>> MembershipsOf(
      const std::string& customer_id) override;
  void MembersAmong(
      const std::string& segment, std::vector<std::string> customer_ids,
      absl::AnyInvocable<void(absl::StatusOr<std::vector<bool>>) &&> done)
      override;

 private:
  absl::Status CheckDefinition(const v1::Segment& segment) const;
  // Adds the background evaluation's progress to `segment`.
  absl::Status AddProgress(v1::Segment& segment);
  // What the segment's verdicts depend on beyond its definition and the
  // customer: the RFM boundaries' and the purchase model's times, for the
  // segments whose conditions read them ("" for the others). When it
  // changes (new boundaries, a new model), every customer is evaluated
  // again in the background, as after a new version.
  std::string InputsStamp(const v1::Segment& segment) const;
  // `only`: the segments to evaluate (nullptr: all). Runs `meanwhile` on
  // this thread while the batches are evaluated.
  absl::Status EvaluateAll(
      const std::vector<std::string>& ids, EvaluationTrigger trigger,
      const std::set<std::string>* only = nullptr,
      absl::FunctionRef<void()> meanwhile = [] {});
  absl::StatusOr<bool> TakeLease(const std::string& key, absl::Duration ttl);
  void DropIndexes(const std::string& name, int64_t from_version,
                   int64_t to_version);

  const timeline::StoreContext* context_;
  const insights::InsightsEngine* insights_;
  const SegmentOptions options_;
  SegmentMetrics* metrics_;
  const SegmentKeys keys_;
  const SegmentScripts scripts_;
  SegmentDefinitions definitions_;
  MembershipKeeper keeper_;
  absl::Time last_count_ = absl::InfinitePast();
  // This replica's pass stopped at the end of its slice, not done.
  std::atomic<bool> pass_unfinished_{false};
  absl::Notification stop_;
  std::thread thread_;
  // Last: joined first.
  timeline::WorkerPool workers_;
};

}  // namespace omnihub::segments

#endif  // OMNIHUB_SERVICES_SEGMENTS_STORE_SEGMENT_ENGINE_H_

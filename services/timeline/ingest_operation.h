// One event's way into Redis: look up its identities, resolve them to one
// customer (creating it if none is known), attach the unknown identities, then
// run the ingest script on that customer. Each step is a pipelined batch of
// commands; the next step starts from the last reply of the one before.
#ifndef OMNIHUB_SERVICES_TIMELINE_INGEST_OPERATION_H_
#define OMNIHUB_SERVICES_TIMELINE_INGEST_OPERATION_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/timeline/timeline_store.h"

namespace omnihub::timeline {

class IngestOperation : public std::enable_shared_from_this<IngestOperation> {
 public:
  IngestOperation(const TimelineStore::Context* context,
                  v1::InteractionEvent event, Done<IngestOutcome> done);

  void Start();

 private:
  // Sends one command about identity i; the reply goes to `reply_to`.
  using Send = void (IngestOperation::*)(size_t i,
                                         redis::ReplyCallback reply_to);
  // Sends for each identity in `which` at once (pipelined), records each
  // owner, and calls `next` once all have replied, or Fail on the first error.
  void ForEachIdentity(const std::vector<size_t>& which, Send send,
                       void (IngestOperation::*next)());

  void LookUp(size_t i, redis::ReplyCallback reply_to);
  void Claim(size_t i, redis::ReplyCallback reply_to);
  void RecordOwner(size_t i, redis::Reply reply);

  void ChooseCustomer();
  void AttachUnknownIdentities();
  void StoreEvent();
  void OnStored(absl::StatusOr<redis::Reply> reply);
  void Fail(absl::Status status);

  const TimelineStore::Context* context_;
  v1::InteractionEvent event_;
  Done<IngestOutcome> done_;
  // In resolution priority order; owners_[i] is the customer identities_[i]
  // belongs to, empty while unknown. Each index is written by one reply only.
  std::vector<v1::Identity> identities_;
  std::vector<std::string> identity_keys_;
  std::vector<std::string> owners_;
  std::string customer_id_;
  bool created_customer_ = false;

  std::atomic<int> pending_{0};
  absl::Mutex mutex_;
  absl::Status first_error_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_INGEST_OPERATION_H_

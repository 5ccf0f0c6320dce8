#include "services/timeline/ingest_operation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/timeline/stored_event.h"

namespace omnihub::timeline {
namespace {

// When an event's identities are known on different customers, the one of
// the most trustworthy kind decides where the event lands.
int ResolutionRank(v1::IdentityKind kind) {
  switch (kind) {
    case v1::IDENTITY_KIND_CRM_ID:
      return 0;
    case v1::IDENTITY_KIND_LOGIN_ID:
      return 1;
    case v1::IDENTITY_KIND_EMAIL:
      return 2;
    case v1::IDENTITY_KIND_PHONE:
      return 3;
    case v1::IDENTITY_KIND_LOYALTY_CARD:
      return 4;
    case v1::IDENTITY_KIND_WEB_ANONYMOUS_ID:
      return 5;
    default:
      return 6;
  }
}

absl::Status ReplyError(const redis::Reply& reply, absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("Redis refused ", what, ": ", reply.str));
}

}  // namespace

IngestOperation::IngestOperation(const TimelineStore::Context* context,
                                 v1::InteractionEvent event,
                                 Done<IngestOutcome> done)
    : context_(context), event_(std::move(event)), done_(std::move(done)) {
  identities_.assign(event_.identities().begin(), event_.identities().end());
  std::stable_sort(identities_.begin(), identities_.end(),
                   [](const v1::Identity& a, const v1::Identity& b) {
                     return ResolutionRank(a.kind()) < ResolutionRank(b.kind());
                   });
  for (const v1::Identity& identity : identities_) {
    identity_keys_.push_back(context_->keys.ForIdentity(identity));
  }
  owners_.resize(identities_.size());
}

void IngestOperation::Start() {
  std::vector<size_t> all(identities_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  ForEachIdentity(all, &IngestOperation::LookUp,
                  &IngestOperation::ChooseCustomer);
}

void IngestOperation::ForEachIdentity(const std::vector<size_t>& which,
                                      Send send,
                                      void (IngestOperation::*next)()) {
  if (which.empty()) return (this->*next)();
  pending_.store(static_cast<int>(which.size()));
  for (size_t i : which) {
    (this->*send)(i, [self = shared_from_this(), i,
                      next](absl::StatusOr<redis::Reply> reply) {
      if (reply.ok()) {
        self->RecordOwner(i, *std::move(reply));
      } else {
        absl::MutexLock lock(&self->mutex_);
        if (self->first_error_.ok()) self->first_error_ = reply.status();
      }
      if (self->pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
      absl::Status error;
      {
        absl::MutexLock lock(&self->mutex_);
        error = self->first_error_;
      }
      if (!error.ok()) return self->Fail(error);
      ((*self).*next)();
    });
  }
}

void IngestOperation::LookUp(size_t i, redis::ReplyCallback reply_to) {
  context_->redis->Execute({"GET", identity_keys_[i]}, std::move(reply_to));
}

// Gives identity i to the chosen customer unless someone already has it.
void IngestOperation::Claim(size_t i, redis::ReplyCallback reply_to) {
  context_->resolve_script.Run(*context_->redis, {identity_keys_[i]},
                               {customer_id_}, std::move(reply_to));
}

void IngestOperation::RecordOwner(size_t i, redis::Reply reply) {
  if (reply.type == redis::Reply::Type::kString) {
    owners_[i] = std::move(reply.str);
  } else if (reply.is_error()) {
    absl::MutexLock lock(&mutex_);
    if (first_error_.ok()) first_error_ = ReplyError(reply, "an identity");
  }
}

void IngestOperation::ChooseCustomer() {
  for (const std::string& owner : owners_) {
    if (!owner.empty()) {
      customer_id_ = owner;
      return AttachUnknownIdentities();
    }
  }
  // Nobody knows any identity yet: claim the most trustworthy one for a new
  // customer. If another event claimed it first, the script says whose it is.
  const std::string candidate = NewCustomerId();
  context_->resolve_script.Run(
      *context_->redis, {identity_keys_[0]}, {candidate},
      [self = shared_from_this(),
       candidate](absl::StatusOr<redis::Reply> reply) {
        if (!reply.ok()) return self->Fail(reply.status());
        if (reply->type != redis::Reply::Type::kString) {
          return self->Fail(ReplyError(*reply, "the new customer's identity"));
        }
        self->owners_[0] = self->customer_id_ = reply->str;
        self->created_customer_ = self->customer_id_ == candidate;
        self->AttachUnknownIdentities();
      });
}

void IngestOperation::AttachUnknownIdentities() {
  std::vector<size_t> unknown;
  for (size_t i = 0; i < owners_.size(); ++i) {
    if (owners_[i].empty()) unknown.push_back(i);
  }
  ForEachIdentity(unknown, &IngestOperation::Claim,
                  &IngestOperation::StoreEvent);
}

void IngestOperation::StoreEvent() {
  const CustomerKeys keys = context_->keys.ForCustomer(customer_id_);
  const StoredEventFields fields = StoredFieldsOf(event_);
  const TimelineStoreOptions& options = context_->options;
  const absl::Time now = options.clock();
  int64_t oldest_kept = 0;
  if (options.retention.max_age > absl::ZeroDuration()) {
    oldest_kept = absl::ToUnixMicros(now - options.retention.max_age);
  }
  std::vector<std::string> args = {
      event_.event_id(),
      fields.header,
      event_.SerializeAsString(),
      fields.revision,
      absl::StrCat(fields.occurred_at_micros),
      fields.channel,
      fields.currency,
      fields.amount_micros,
      fields.satisfaction_milli,
      absl::StrCat(absl::ToUnixMicros(now)),
      absl::StrCat(options.retention.max_events_per_customer),
      absl::StrCat(oldest_kept),
  };
  for (size_t i = 0; i < identities_.size(); ++i) {
    if (owners_[i] == customer_id_) {
      args.push_back(IdentityMember(identities_[i]));
    }
  }
  context_->ingest_script.Run(
      *context_->redis,
      {keys.events, keys.timeline, keys.view, keys.identities}, std::move(args),
      [self = shared_from_this()](absl::StatusOr<redis::Reply> reply) {
        self->OnStored(std::move(reply));
      });
}

void IngestOperation::OnStored(absl::StatusOr<redis::Reply> reply) {
  if (!reply.ok()) return Fail(reply.status());
  if (reply->type != redis::Reply::Type::kArray ||
      reply->elements.size() != 2) {
    return Fail(ReplyError(*reply, "the event"));
  }
  IngestOutcome outcome;
  const std::string& result = reply->elements[0].str;
  if (result == "accepted") {
    outcome.result = IngestOutcome::Result::kAccepted;
  } else if (result == "updated") {
    outcome.result = IngestOutcome::Result::kUpdated;
  } else {
    outcome.result = IngestOutcome::Result::kDuplicate;
  }
  outcome.trimmed_events = static_cast<int>(reply->elements[1].integer);
  outcome.customer_id = customer_id_;
  outcome.created_customer = created_customer_;
  for (const std::string& owner : owners_) {
    if (owner != customer_id_) ++outcome.conflicting_identities;
  }
  std::move(done_)(std::move(outcome));
}

void IngestOperation::Fail(absl::Status status) {
  std::move(done_)(std::move(status));
}

}  // namespace omnihub::timeline

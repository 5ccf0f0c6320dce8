// The single view as the read_customer script returns it, made into a
// CustomerView.
#ifndef OMNIHUB_SERVICES_TIMELINE_CUSTOMER_VIEW_H_
#define OMNIHUB_SERVICES_TIMELINE_CUSTOMER_VIEW_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/redis/redis_client.h"
#include "omnihub/v1/timeline.pb.h"

namespace omnihub::timeline {

// `reply` is read_customer's {'ok', view, identities, aliases, recent};
// its 'moved' and 'missing' answers are the caller's to handle.
absl::StatusOr<v1::CustomerView> CustomerViewFromReply(
    const std::string& customer_id, const redis::Reply& reply);

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_CUSTOMER_VIEW_H_

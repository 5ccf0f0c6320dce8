// Names of the Redis keys omnihub stores a customer and an identity under.
//
// Every key of one customer carries the customer id as its hash tag, so a
// customer lives on one Redis Cluster slot and one script can update it
// atomically:
//   omnihub:c:{c0123...}:ev    events hash
//   omnihub:c:{c0123...}:tl    timeline sorted set
//   omnihub:c:{c0123...}:v     single-view hash
//   omnihub:c:{c0123...}:ids   identity set
//   omnihub:id:{phone:+4420...}   identity -> customer id
#ifndef OMNIHUB_SERVICES_TIMELINE_KEY_SCHEMA_H_
#define OMNIHUB_SERVICES_TIMELINE_KEY_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::timeline {

struct CustomerKeys {
  std::string events;
  std::string timeline;
  std::string view;
  std::string identities;
};

class KeySchema {
 public:
  explicit KeySchema(std::string prefix = "omnihub:");

  CustomerKeys ForCustomer(absl::string_view customer_id) const;
  std::string ForIdentity(const v1::Identity& identity) const;

  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

// "kind:value", how an identity is written inside a customer's identity set.
std::string IdentityMember(const v1::Identity& identity);
// The reverse; false when `member` is not of that form or names no known kind.
bool ParseIdentityMember(absl::string_view member, v1::Identity* identity);

// Customer ids are "c" followed by 24 lower-case hex digits (96 random bits).
std::string NewCustomerId();
bool IsWellFormedCustomerId(absl::string_view customer_id);

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_KEY_SCHEMA_H_

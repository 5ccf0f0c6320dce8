// The rules that decide which identities may resolve and merge customers:
// some values are never to be trusted (a shop's own phone, a shared test
// account), some kinds may find a customer but never glue two together (a
// shared landline, a shop tablet's anonymous id), and some kinds are limited
// per customer (one login id per person).
//
//   absl::StatusOr<IdentityRules> rules = IdentityRules::Parse(
//       {.policies = "phone=attach", .limits = "login_id=1",
//        .blocked = "phone:+442079460000"}, normalizer);
//   if (rules->IsBlocked(identity)) ...
#ifndef OMNIHUB_SERVICES_TIMELINE_IDENTITY_RULES_H_
#define OMNIHUB_SERVICES_TIMELINE_IDENTITY_RULES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/identity/identity_normalizer.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::timeline {

enum class IdentityPolicy {
  // Finds the customer, and proves two customers are one person.
  kMerge,
  // Finds the customer and is attached to it, but never merges customers.
  kAttachOnly,
};

// The rules as written in flags; every part may be empty.
struct IdentityRulesSpec {
  // Kinds, most trustworthy first, e.g. "crm_id,login_id,email"; kinds left
  // out follow in the default order.
  std::string priority = "";
  // "kind=merge|attach,..."; kinds left out merge.
  std::string policies = "";
  // "kind=n,..." most identities of the kind on one customer; kinds left out
  // have no limit.
  std::string limits = "";
  // "kind:value,..." identities never used to resolve (normalised here).
  std::string blocked = "";
};

class IdentityRules {
 public:
  // crm_id, login_id, email, phone, loyalty_card, web_anonymous_id; every
  // kind merges; one crm_id and one login_id per customer; nothing blocked.
  IdentityRules();

  // INVALID_ARGUMENT naming the part and item that is wrong.
  static absl::StatusOr<IdentityRules> Parse(
      const IdentityRulesSpec& spec,
      const identity::IdentityNormalizer& normalizer);

  // 0 for the most trustworthy kind.
  int Rank(v1::IdentityKind kind) const;
  IdentityPolicy PolicyOf(v1::IdentityKind kind) const;
  // 0: no limit.
  int LimitOf(v1::IdentityKind kind) const;
  bool IsBlocked(const v1::Identity& identity) const;

  // The event's identities that may resolve, most trustworthy first.
  std::vector<v1::Identity> Usable(std::vector<v1::Identity> identities) const;

  // The limits as the Lua scripts take them: "login_id=1,crm_id=1".
  const std::string& limits_argument() const { return limits_argument_; }

  // When one customer holding all of `identities` would break a limit: which
  // kind, and how many it would have against how many are allowed.
  std::optional<std::string> LimitViolation(
      const std::vector<v1::Identity>& identities) const;

  // The rules in the flags' own syntax, for the start-up log.
  std::string Describe() const;

 private:
  void RebuildLimitsArgument();

  std::vector<v1::IdentityKind> priority_;
  absl::flat_hash_map<v1::IdentityKind, IdentityPolicy> policies_;
  absl::flat_hash_map<v1::IdentityKind, int> limits_;
  absl::flat_hash_set<std::string> blocked_;  // "kind:value"
  std::string limits_argument_;
};

}  // namespace omnihub::timeline

#endif  // OMNIHUB_SERVICES_TIMELINE_IDENTITY_RULES_H_

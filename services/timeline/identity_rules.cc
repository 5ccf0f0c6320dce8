#include "services/timeline/identity_rules.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/timeline/key_schema.h"

namespace omnihub::timeline {
namespace {

constexpr v1::IdentityKind kDefaultPriority[] = {
    v1::IDENTITY_KIND_CRM_ID,       v1::IDENTITY_KIND_LOGIN_ID,
    v1::IDENTITY_KIND_EMAIL,        v1::IDENTITY_KIND_PHONE,
    v1::IDENTITY_KIND_LOYALTY_CARD, v1::IDENTITY_KIND_WEB_ANONYMOUS_ID,
};

std::vector<absl::string_view> Items(absl::string_view list) {
  std::vector<absl::string_view> items;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

absl::Status BadItem(absl::string_view part, absl::string_view item,
                     absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(part, ": \"", item, "\" ", why));
}

absl::StatusOr<v1::IdentityKind> KindNamed(absl::string_view part,
                                           absl::string_view name) {
  v1::IdentityKind kind;
  if (!identity::ParseIdentityKindName(name, &kind)) {
    return BadItem(part, name,
                   "is not an identity kind (phone, email, web_anonymous_id, "
                   "login_id, loyalty_card, crm_id)");
  }
  return kind;
}

// "kind=value" items.
absl::StatusOr<std::vector<std::pair<v1::IdentityKind, std::string>>>
KindAssignments(absl::string_view part, absl::string_view list) {
  std::vector<std::pair<v1::IdentityKind, std::string>> assignments;
  for (absl::string_view item : Items(list)) {
    std::pair<absl::string_view, absl::string_view> kind_value =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    absl::StatusOr<v1::IdentityKind> kind =
        KindNamed(part, absl::StripAsciiWhitespace(kind_value.first));
    if (!kind.ok()) return kind.status();
    assignments.emplace_back(
        *kind, std::string(absl::StripAsciiWhitespace(kind_value.second)));
  }
  return assignments;
}

}  // namespace

IdentityRules::IdentityRules()
    : priority_(std::begin(kDefaultPriority), std::end(kDefaultPriority)),
      limits_{{v1::IDENTITY_KIND_CRM_ID, 1}, {v1::IDENTITY_KIND_LOGIN_ID, 1}} {
  RebuildLimitsArgument();
}

absl::StatusOr<IdentityRules> IdentityRules::Parse(
    const IdentityRulesSpec& spec,
    const identity::IdentityNormalizer& normalizer) {
  IdentityRules rules;
  if (!Items(spec.priority).empty()) {
    std::vector<v1::IdentityKind> priority;
    for (absl::string_view name : Items(spec.priority)) {
      absl::StatusOr<v1::IdentityKind> kind = KindNamed("priority", name);
      if (!kind.ok()) return kind.status();
      if (std::find(priority.begin(), priority.end(), *kind) !=
          priority.end()) {
        return BadItem("priority", name, "is named twice");
      }
      priority.push_back(*kind);
    }
    for (v1::IdentityKind kind : kDefaultPriority) {
      if (std::find(priority.begin(), priority.end(), kind) == priority.end()) {
        priority.push_back(kind);
      }
    }
    rules.priority_ = std::move(priority);
  }

  auto policies = KindAssignments("policy", spec.policies);
  if (!policies.ok()) return policies.status();
  for (const auto& [kind, value] : *policies) {
    if (value == "merge") {
      rules.policies_[kind] = IdentityPolicy::kMerge;
    } else if (value == "attach") {
      rules.policies_[kind] = IdentityPolicy::kAttachOnly;
    } else {
      return BadItem("policy", value, "must be merge or attach");
    }
  }

  auto limits = KindAssignments("limits", spec.limits);
  if (!limits.ok()) return limits.status();
  for (const auto& [kind, value] : *limits) {
    int limit = 0;
    if (!absl::SimpleAtoi(value, &limit) || limit < 0) {
      return BadItem("limits", value,
                     "must be a whole number of identities (0: no limit)");
    }
    if (limit == 0) {
      rules.limits_.erase(kind);
    } else {
      rules.limits_[kind] = limit;
    }
  }
  rules.RebuildLimitsArgument();

  for (absl::string_view item : Items(spec.blocked)) {
    std::pair<absl::string_view, absl::string_view> kind_value =
        absl::StrSplit(item, absl::MaxSplits(':', 1));
    absl::StatusOr<v1::IdentityKind> kind =
        KindNamed("blocked", kind_value.first);
    if (!kind.ok()) return kind.status();
    absl::StatusOr<std::string> value =
        normalizer.Normalize(*kind, kind_value.second);
    if (!value.ok()) return BadItem("blocked", item, value.status().message());
    v1::Identity identity;
    identity.set_kind(*kind);
    identity.set_value(*std::move(value));
    rules.blocked_.insert(IdentityMember(identity));
  }
  return rules;
}

int IdentityRules::Rank(v1::IdentityKind kind) const {
  auto it = std::find(priority_.begin(), priority_.end(), kind);
  return static_cast<int>(it - priority_.begin());
}

IdentityPolicy IdentityRules::PolicyOf(v1::IdentityKind kind) const {
  auto it = policies_.find(kind);
  return it == policies_.end() ? IdentityPolicy::kMerge : it->second;
}

int IdentityRules::LimitOf(v1::IdentityKind kind) const {
  auto it = limits_.find(kind);
  return it == limits_.end() ? 0 : it->second;
}

bool IdentityRules::IsBlocked(const v1::Identity& identity) const {
  return !blocked_.empty() && blocked_.contains(IdentityMember(identity));
}

std::vector<v1::Identity> IdentityRules::Usable(
    std::vector<v1::Identity> identities) const {
  std::vector<v1::Identity> usable;
  for (v1::Identity& identity : identities) {
    if (!IsBlocked(identity)) usable.push_back(std::move(identity));
  }
  std::stable_sort(usable.begin(), usable.end(),
                   [this](const v1::Identity& a, const v1::Identity& b) {
                     return Rank(a.kind()) < Rank(b.kind());
                   });
  return usable;
}

std::optional<std::string> IdentityRules::LimitViolation(
    const std::vector<v1::Identity>& identities) const {
  absl::flat_hash_map<v1::IdentityKind, absl::flat_hash_set<std::string>>
      values;
  for (const v1::Identity& identity : identities) {
    values[identity.kind()].insert(identity.value());
  }
  for (v1::IdentityKind kind : priority_) {
    const int limit = LimitOf(kind);
    const size_t count = values.contains(kind) ? values[kind].size() : 0;
    if (limit > 0 && count > static_cast<size_t>(limit)) {
      return absl::StrCat("one customer would have ", count, " ",
                          identity::IdentityKindName(kind),
                          " identities; the limit is ", limit);
    }
  }
  return std::nullopt;
}

void IdentityRules::RebuildLimitsArgument() {
  std::vector<std::string> items;
  for (v1::IdentityKind kind : priority_) {
    if (const int limit = LimitOf(kind); limit > 0) {
      items.push_back(
          absl::StrCat(identity::IdentityKindName(kind), "=", limit));
    }
  }
  limits_argument_ = absl::StrJoin(items, ",");
}

std::string IdentityRules::Describe() const {
  std::vector<std::string> priority;
  std::vector<std::string> attach_only;
  for (v1::IdentityKind kind : priority_) {
    priority.emplace_back(identity::IdentityKindName(kind));
    if (PolicyOf(kind) == IdentityPolicy::kAttachOnly) {
      attach_only.emplace_back(identity::IdentityKindName(kind));
    }
  }
  return absl::StrCat(
      "priority ", absl::StrJoin(priority, ","), "; attach-only: ",
      attach_only.empty() ? "none" : absl::StrJoin(attach_only, ","),
      "; limits: ", limits_argument_.empty() ? "none" : limits_argument_, "; ",
      blocked_.size(), " blocked value(s)");
}

}  // namespace omnihub::timeline

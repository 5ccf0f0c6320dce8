#include "services/recommendations/basket.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace omnihub::recommendations {
namespace {

bool SameLevel(absl::string_view a, absl::string_view b) {
  return a.substr(0, 2) == b.substr(0, 2);
}

}  // namespace

Basket BasketOf(const std::vector<v1::InteractionEvent>& purchases,
                size_t max_items) {
  Basket basket;
  size_t products = 0;
  size_t categories = 0;
  for (const v1::InteractionEvent& purchase : purchases) {
    for (const v1::LineItem& line : purchase.line_items()) {
      if (!line.sku().empty() && products < max_items &&
          basket.insert(absl::StrCat(kProductPrefix, line.sku())).second) {
        ++products;
      }
      if (!line.category().empty() && categories < max_items &&
          basket.insert(absl::StrCat(kCategoryPrefix, line.category()))
              .second) {
        ++categories;
      }
    }
  }
  return basket;
}

std::string EncodeBasket(const Basket& basket) {
  return absl::StrJoin(basket, "\n");
}

Basket ParseBasket(absl::string_view text) {
  Basket basket;
  for (absl::string_view item : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    basket.emplace(item);
  }
  return basket;
}

std::vector<ItemDelta> CountChanges(const Basket& before, const Basket& after) {
  std::map<std::string, ItemDelta> changes;
  auto delta = [&changes](const std::string& item) -> ItemDelta& {
    ItemDelta& change = changes[item];
    change.item = item;
    return change;
  };
  // A pair counts +1 for a customer once both are in its basket: the pairs
  // of `after` not in `before` gain one, those of `before` not in `after`
  // lose one.
  auto count_pairs = [&](const Basket& from, const Basket& other,
                         int64_t sign) {
    for (auto a = from.begin(); a != from.end(); ++a) {
      for (auto b = std::next(a); b != from.end(); ++b) {
        if (!SameLevel(*a, *b)) continue;
        if (other.contains(*a) && other.contains(*b)) continue;
        delta(*a).pairs[*b] += sign;
        delta(*b).pairs[*a] += sign;
      }
    }
  };
  for (const std::string& item : after) {
    if (!before.contains(item)) delta(item).self += 1;
  }
  for (const std::string& item : before) {
    if (!after.contains(item)) delta(item).self -= 1;
  }
  count_pairs(after, before, +1);
  count_pairs(before, after, -1);
  std::vector<ItemDelta> out;
  out.reserve(changes.size());
  for (auto& [item, change] : changes) out.push_back(std::move(change));
  return out;
}

LevelDeltas CustomerChanges(const Basket& before, const Basket& after) {
  auto has = [](const Basket& basket, absl::string_view prefix) {
    return std::any_of(basket.begin(), basket.end(), [&](const std::string& i) {
      return absl::StartsWith(i, prefix);
    });
  };
  LevelDeltas deltas;
  deltas.products = static_cast<int64_t>(has(after, kProductPrefix)) -
                    static_cast<int64_t>(has(before, kProductPrefix));
  deltas.categories = static_cast<int64_t>(has(after, kCategoryPrefix)) -
                      static_cast<int64_t>(has(before, kCategoryPrefix));
  return deltas;
}

double Rule::support() const {
  return customers > 0 ? static_cast<double>(both) / customers : 0;
}
double Rule::confidence() const {
  return with_antecedent > 0 ? static_cast<double>(both) / with_antecedent : 0;
}
double Rule::lift() const {
  if (with_item <= 0 || customers <= 0) return 0;
  return confidence() / (static_cast<double>(with_item) / customers);
}

std::vector<Rule> RankCandidates(std::vector<Rule> rules, const Basket& bought,
                                 int64_t min_customers, size_t limit) {
  // Measures computed once per rule; sorting by them is what ranks.
  struct Scored {
    double lift, confidence, support;
    size_t at;  // in `rules`
  };
  std::vector<Scored> scored;
  scored.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    if (bought.contains(rule.item) || rule.both < min_customers ||
        rule.both > rule.with_antecedent || rule.both > rule.with_item ||
        rule.with_item > rule.customers || rule.customers <= 0) {
      continue;
    }
    scored.push_back({rule.lift(), rule.confidence(), rule.support(), i});
  }
  auto better = [](const Scored& a, const Scored& b) {
    return std::tie(a.lift, a.confidence, a.support) >
           std::tie(b.lift, b.confidence, b.support);
  };
  // The best rule of each item: grouped by item, best (then earliest)
  // first in each group.
  std::sort(scored.begin(), scored.end(),
            [&](const Scored& a, const Scored& b) {
              const int items = rules[a.at].item.compare(rules[b.at].item);
              if (items != 0) return items < 0;
              if (better(a, b)) return true;
              if (better(b, a)) return false;
              return a.at < b.at;
            });
  auto last = std::unique(scored.begin(), scored.end(),
                          [&](const Scored& a, const Scored& b) {
                            return rules[a.at].item == rules[b.at].item;
                          });
  scored.erase(last, scored.end());
  auto ranks_before = [&](const Scored& a, const Scored& b) {
    if (better(a, b)) return true;
    if (better(b, a)) return false;
    return rules[a.at].item < rules[b.at].item;
  };
  const size_t kept = std::min(limit, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + kept, scored.end(),
                    ranks_before);
  std::vector<Rule> ranked;
  ranked.reserve(kept);
  for (size_t i = 0; i < kept; ++i) {
    ranked.push_back(std::move(rules[scored[i].at]));
  }
  return ranked;
}

std::vector<std::string> CandidateItems(const std::vector<Partners>& read,
                                        const Basket& bought,
                                        int64_t min_customers) {
  std::vector<std::string> items;
  for (const Partners& partners : read) {
    for (const auto& [item, both] : partners.both) {
      if (both >= min_customers && !bought.contains(item)) {
        items.push_back(item);
      }
    }
  }
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

std::vector<Rule> RankPartners(const std::vector<Partners>& read,
                               const std::vector<std::string>& candidates,
                               const std::vector<int64_t>& with_item,
                               int64_t customers, const Basket& bought,
                               int64_t min_customers, size_t limit) {
  std::vector<Rule> rules;
  for (const Partners& partners : read) {
    for (const auto& [item, both] : partners.both) {
      auto at = std::lower_bound(candidates.begin(), candidates.end(), item);
      if (at == candidates.end() || *at != item) continue;
      const size_t index = static_cast<size_t>(at - candidates.begin());
      rules.push_back(
          {.item = item,
           .antecedent = partners.antecedent,
           .both = both,
           .with_antecedent = partners.with_antecedent,
           .with_item = index < with_item.size() ? with_item[index] : 0,
           .customers = customers});
    }
  }
  return RankCandidates(std::move(rules), bought, min_customers, limit);
}

}  // namespace omnihub::recommendations

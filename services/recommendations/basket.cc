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
  auto better = [](const Rule& a, const Rule& b) {
    return std::make_tuple(a.lift(), a.confidence(), a.support()) >
           std::make_tuple(b.lift(), b.confidence(), b.support());
  };
  std::map<std::string, Rule> best;
  for (Rule& rule : rules) {
    if (bought.contains(rule.item) || rule.both < min_customers ||
        rule.both > rule.with_antecedent || rule.both > rule.with_item ||
        rule.with_item > rule.customers || rule.customers <= 0) {
      continue;
    }
    auto [at, added] = best.emplace(rule.item, rule);
    if (!added && better(rule, at->second)) at->second = std::move(rule);
  }
  std::vector<Rule> ranked;
  ranked.reserve(best.size());
  for (auto& [item, rule] : best) ranked.push_back(std::move(rule));
  std::stable_sort(ranked.begin(), ranked.end(), better);
  if (ranked.size() > limit) ranked.resize(limit);
  return ranked;
}

}  // namespace omnihub::recommendations

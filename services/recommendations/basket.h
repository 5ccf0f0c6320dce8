// What cross-selling counts, as plain data: a customer's basket (every
// product and category it has bought, as items "p:<sku>" and
// "c:<category>"), how a change of basket changes the counts, and how
// candidates are ranked from the counts. No Redis, no gRPC: the keeper and
// the query map their data onto these.
//
//   Basket before = ParseBasket(stored), after = BasketOf(purchases, 200);
//   std::vector<ItemDelta> deltas = CountChanges(before, after);
#ifndef OMNIHUB_SERVICES_RECOMMENDATIONS_BASKET_H_
#define OMNIHUB_SERVICES_RECOMMENDATIONS_BASKET_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::recommendations {

// Items are "p:" + sku or "c:" + category; pairs are only counted between
// items of one level (product with product, category with category).
using Basket = std::set<std::string>;

inline constexpr absl::string_view kProductPrefix = "p:";
inline constexpr absl::string_view kCategoryPrefix = "c:";

// The items of the line items of `purchases`, at most `max_items` of each
// level (the first ones in the order of the purchases).
Basket BasketOf(const std::vector<v1::InteractionEvent>& purchases,
                size_t max_items);

// As stored: the items joined by newlines (items hold no control
// characters); "" for an empty basket.
std::string EncodeBasket(const Basket& basket);
Basket ParseBasket(absl::string_view text);

// How one item's counts change: the number of customers who bought it
// (`self`), and with each other item of its level (`pairs`).
struct ItemDelta {
  std::string item;
  int64_t self = 0;
  std::map<std::string, int64_t> pairs;
};

// The changes to the counts when a customer's basket goes from `before` to
// `after`: one ItemDelta for every item whose own count or some pair count
// changes, pairs listed from both sides.
std::vector<ItemDelta> CountChanges(const Basket& before, const Basket& after);

// The change of the number of customers with at least one item of each
// level: -1, 0 or +1.
struct LevelDeltas {
  int64_t products = 0;
  int64_t categories = 0;
};
LevelDeltas CustomerChanges(const Basket& before, const Basket& after);

// One rule "bought antecedent -> buys item" with its counts.
struct Rule {
  std::string item;
  std::string antecedent;
  int64_t both = 0;             // n(antecedent and item)
  int64_t with_antecedent = 0;  // n(antecedent)
  int64_t with_item = 0;        // n(item)
  int64_t customers = 0;        // N
  double support() const;
  double confidence() const;
  double lift() const;
};

// The best rule for each item not in `bought`, best first (lift, then
// confidence, then support, then the item), at most `limit`; rules with
// fewer than `min_customers` customers with both, or whose counts are
// inconsistent (a count missing past the catalogue cap), are left out. Of
// two equally good rules for one item, the earlier in `rules` is kept.
std::vector<Rule> RankCandidates(std::vector<Rule> rules, const Basket& bought,
                                 int64_t min_customers, size_t limit);

// What a query read of one bought item (the antecedent): the number of
// customers who bought it, and its partners with the number of customers
// who bought both, as many as were read (the top ones by that number).
struct Partners {
  std::string antecedent;
  int64_t with_antecedent = 0;
  std::vector<std::pair<std::string, int64_t>> both;
};

// The items whose own counts ranking `read` needs: the partners not in
// `bought` with at least `min_customers` customers in common; sorted,
// each once.
std::vector<std::string> CandidateItems(const std::vector<Partners>& read,
                                        const Basket& bought,
                                        int64_t min_customers);

// RankCandidates over every rule "antecedent -> partner" of `read`, given
// the counts of the candidates (`with_item[i]` customers bought
// `candidates[i]`, as CandidateItems gave them) and `customers` (N).
std::vector<Rule> RankPartners(const std::vector<Partners>& read,
                               const std::vector<std::string>& candidates,
                               const std::vector<int64_t>& with_item,
                               int64_t customers, const Basket& bought,
                               int64_t min_customers, size_t limit);

}  // namespace omnihub::recommendations

#endif  // OMNIHUB_SERVICES_RECOMMENDATIONS_BASKET_H_

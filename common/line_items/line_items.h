// A purchase's line items as the adapters receive them: a JSON array of
// products (the Segment e-commerce spec's `products[]`, and the visit
// adapter's `items`), or the visit adapter's CSV column
// "sku:quantity[:price[:category]]" items separated by ";". Anything wrong
// is INVALID_ARGUMENT naming the field: "track.properties.products[2].price:
// must be a number like 12.34".
//
//   absl::StatusOr<std::vector<v1::LineItem>> items = LineItemsFromJson(
//       products, "track.properties.products", "EUR", {});
#ifndef OMNIHUB_COMMON_LINE_ITEMS_LINE_ITEMS_H_
#define OMNIHUB_COMMON_LINE_ITEMS_LINE_ITEMS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/money/money.h"
#include "nlohmann/json.hpp"
#include "omnihub/v1/event.pb.h"

namespace omnihub::line_items {

struct LineItemLimits {
  size_t max_items = 100;
  size_t max_field_bytes = 256;
};

// Each element an object: `sku` (else `product_id`; one is required),
// optional `name`, `category`, `quantity` (a whole number >= 1; default 1)
// and `price` (the price of one, a decimal number or string). Prices are in
// `currency`; a price without a currency is refused (naming `price`).
absl::StatusOr<std::vector<v1::LineItem>> LineItemsFromJson(
    const nlohmann::json& array, absl::string_view path,
    absl::string_view currency, const LineItemLimits& limits);

// "sku:quantity[:price[:category]]" items separated by ";", e.g.
// "A-1:2:9.99:shoes;B-7:1". Spaces around parts are ignored; an empty text
// is no items. `field` names the column in errors ("visits[3].items").
absl::StatusOr<std::vector<v1::LineItem>> LineItemsFromText(
    absl::string_view text, absl::string_view field, absl::string_view currency,
    money::DecimalMark mark, const LineItemLimits& limits);

}  // namespace omnihub::line_items

#endif  // OMNIHUB_COMMON_LINE_ITEMS_LINE_ITEMS_H_

#include "common/line_items/line_items.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/json_fields/json_fields.h"

namespace omnihub::line_items {
namespace {

using json = nlohmann::json;
using json_fields::FieldError;

constexpr int64_t kMaxQuantity = 1'000'000;

absl::Status TooMany(absl::string_view path, size_t count,
                     const LineItemLimits& limits) {
  return FieldError(
      path, "",
      absl::StrCat("has ", count, " items; the limit is ", limits.max_items));
}

// The price of one in `currency`; the problem alone (no field) when wrong.
absl::Status SetPrice(absl::string_view text, absl::string_view currency,
                      money::DecimalMark mark, v1::LineItem* item) {
  absl::StatusOr<int64_t> micros = money::ParseDecimalMicros(text, mark);
  if (!micros.ok()) return micros.status();
  if (currency.empty()) {
    return absl::InvalidArgumentError(
        "needs a currency (an ISO 4217 code like EUR) on the purchase");
  }
  item->mutable_unit_price()->set_amount_micros(*micros);
  item->mutable_unit_price()->set_currency(std::string(currency));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::LineItem>> LineItemsFromJson(
    const json& array, absl::string_view path, absl::string_view currency,
    const LineItemLimits& limits) {
  if (!array.is_array()) return FieldError(path, "", "must be a JSON array");
  if (array.size() > limits.max_items) {
    return TooMany(path, array.size(), limits);
  }
  std::vector<v1::LineItem> items;
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string item_path = absl::StrCat(path, "[", i, "]");
    if (!array[i].is_object()) {
      return FieldError(item_path, "", "must be a JSON object");
    }
    json_fields::JsonFields in(array[i], item_path);
    v1::LineItem item;
    std::string sku, product_id, name, category;
    for (absl::Status status :
         {in.String("sku", &sku, false, limits.max_field_bytes),
          in.String("product_id", &product_id, false, limits.max_field_bytes),
          in.String("name", &name, false, limits.max_field_bytes),
          in.String("category", &category, false, limits.max_field_bytes)}) {
      if (!status.ok()) return status;
    }
    if (sku.empty()) sku = std::move(product_id);
    if (sku.empty()) return in.Error("sku", "sku or product_id must be set");
    item.set_sku(std::move(sku));
    item.set_name(std::move(name));
    item.set_category(std::move(category));
    int64_t quantity = 1;
    if (absl::Status status =
            in.Integer("quantity", 1, kMaxQuantity, &quantity);
        !status.ok()) {
      return status;
    }
    item.set_quantity(quantity);
    if (const json* price = in.Find("price")) {
      std::string text;
      if (price->is_string()) {
        text = price->get<std::string>();
      } else if (price->is_number()) {
        text = price->dump();
      } else {
        return in.Error("price", "must be a number like 12.34");
      }
      if (absl::Status status =
              SetPrice(text, currency, money::DecimalMark::kPoint, &item);
          !status.ok()) {
        return in.Error("price", status.message());
      }
    }
    items.push_back(std::move(item));
  }
  return items;
}

absl::StatusOr<std::vector<v1::LineItem>> LineItemsFromText(
    absl::string_view text, absl::string_view field, absl::string_view currency,
    money::DecimalMark mark, const LineItemLimits& limits) {
  std::vector<v1::LineItem> items;
  const std::string path(field);
  std::vector<absl::string_view> entries =
      absl::StrSplit(text, ';', absl::SkipWhitespace());
  if (entries.size() > limits.max_items) {
    return TooMany(field, entries.size(), limits);
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string where = absl::StrCat(
        "item ", i + 1, " (\"",
        absl::StripAsciiWhitespace(entries[i]).substr(0, 40), "\")");
    std::vector<absl::string_view> parts = absl::StrSplit(entries[i], ':');
    for (absl::string_view& part : parts)
      part = absl::StripAsciiWhitespace(part);
    if (parts.size() < 2 || parts.size() > 4 || parts[0].empty()) {
      return FieldError(
          path, "",
          absl::StrCat(where, ": must be sku:quantity[:price[:category]]"));
    }
    v1::LineItem item;
    if (parts[0].size() > limits.max_field_bytes ||
        (parts.size() == 4 && parts[3].size() > limits.max_field_bytes)) {
      return FieldError(path, "",
                        absl::StrCat(where, ": sku and category are at most ",
                                     limits.max_field_bytes, " bytes"));
    }
    item.set_sku(std::string(parts[0]));
    int64_t quantity = 0;
    if (!absl::SimpleAtoi(parts[1], &quantity) || quantity < 1 ||
        quantity > kMaxQuantity) {
      return FieldError(path, "",
                        absl::StrCat(where,
                                     ": the quantity must be a whole "
                                     "number from 1 to ",
                                     kMaxQuantity));
    }
    item.set_quantity(quantity);
    if (parts.size() >= 3 && !parts[2].empty()) {
      if (absl::Status status = SetPrice(parts[2], currency, mark, &item);
          !status.ok()) {
        return FieldError(
            path, "", absl::StrCat(where, ": the price ", status.message()));
      }
    }
    if (parts.size() == 4) item.set_category(std::string(parts[3]));
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace omnihub::line_items

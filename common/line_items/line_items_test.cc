#include "common/line_items/line_items.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omnihub::line_items {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

TEST(LineItemsTest, SegmentProductsBecomeLineItems) {
  const json products = json::parse(R"([
    {"product_id": "507f1f77", "sku": "G-32", "name": "Monopoly",
     "category": "Games", "quantity": 2, "price": 18.99},
    {"product_id": "505bd76785", "price": "3.5"}])");
  absl::StatusOr<std::vector<v1::LineItem>> items =
      LineItemsFromJson(products, "track.properties.products", "USD", {});
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].sku(), "G-32");  // sku before product_id
  EXPECT_EQ((*items)[0].name(), "Monopoly");
  EXPECT_EQ((*items)[0].category(), "Games");
  EXPECT_EQ((*items)[0].quantity(), 2);
  EXPECT_EQ((*items)[0].unit_price().amount_micros(), 18'990'000);
  EXPECT_EQ((*items)[0].unit_price().currency(), "USD");
  EXPECT_EQ((*items)[1].sku(), "505bd76785");
  EXPECT_EQ((*items)[1].quantity(), 1);  // default
  EXPECT_EQ((*items)[1].unit_price().amount_micros(), 3'500'000);
}

TEST(LineItemsTest, BadProductsNameTheField) {
  const auto error = [](const char* text, absl::string_view currency = "USD") {
    absl::StatusOr<std::vector<v1::LineItem>> items =
        LineItemsFromJson(json::parse(text), "p", currency, {.max_items = 3});
    EXPECT_FALSE(items.ok()) << text;
    return std::string(items.status().message());
  };
  EXPECT_THAT(error(R"({"sku": "a"})"), HasSubstr("p: must be a JSON array"));
  EXPECT_THAT(error(R"([{"sku": "a"}, 3])"), HasSubstr("p[1]:"));
  EXPECT_THAT(error(R"([{"name": "a"}])"), HasSubstr("p[0].sku:"));
  EXPECT_THAT(error(R"([{"sku": "a", "quantity": 0}])"),
              HasSubstr("p[0].quantity:"));
  EXPECT_THAT(error(R"([{"sku": "a", "quantity": 1.5}])"),
              HasSubstr("p[0].quantity:"));
  EXPECT_THAT(error(R"([{"sku": "a"}, {"sku": "b", "price": "x"}])"),
              HasSubstr("p[1].price:"));
  EXPECT_THAT(error(R"([{"sku": "a", "price": -1}])"),
              HasSubstr("p[0].price:"));
  EXPECT_THAT(error(R"([{"sku": "a", "price": 1}])", ""),
              HasSubstr("p[0].price: needs a currency"));
  EXPECT_THAT(error(R"([{"sku": 7}])"), HasSubstr("p[0].sku:"));
  EXPECT_THAT(
      error(R"([{"sku": "a"}, {"sku": "b"}, {"sku": "c"}, {"sku": "d"}])"),
      HasSubstr("4 items; the limit is 3"));
}

TEST(LineItemsTest, ColumnForm) {
  absl::StatusOr<std::vector<v1::LineItem>> items =
      LineItemsFromText(" A-1:2:9,99:shoes ; B-7:1;", "visits[0].items", "EUR",
                        money::DecimalMark::kComma, {});
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].sku(), "A-1");
  EXPECT_EQ((*items)[0].quantity(), 2);
  EXPECT_EQ((*items)[0].unit_price().amount_micros(), 9'990'000);
  EXPECT_EQ((*items)[0].category(), "shoes");
  EXPECT_EQ((*items)[1].sku(), "B-7");
  EXPECT_FALSE((*items)[1].has_unit_price());
  EXPECT_TRUE(
      LineItemsFromText("", "f", "", money::DecimalMark::kPoint, {})->empty());
  for (const char* bad : {"A", "A:0", "A:x", ":1", "A:1:x", "A:1:2:c:d"}) {
    absl::StatusOr<std::vector<v1::LineItem>> wrong = LineItemsFromText(
        bad, "visits[3].items", "EUR", money::DecimalMark::kPoint, {});
    ASSERT_FALSE(wrong.ok()) << bad;
    EXPECT_THAT(wrong.status().message(), HasSubstr("visits[3].items: item 1"))
        << bad;
  }
  EXPECT_FALSE(
      LineItemsFromText("A:1:2", "f", "", money::DecimalMark::kPoint, {}).ok());
}

}  // namespace
}  // namespace omnihub::line_items

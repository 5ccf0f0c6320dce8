#include "common/money/money.h"

#include "gtest/gtest.h"

namespace omnihub::money {
namespace {

TEST(MoneyTest, DecimalsAreReadExactly) {
  EXPECT_EQ(*ParseDecimalMicros("0.1"), 100'000);
  EXPECT_EQ(*ParseDecimalMicros(" 12 "), 12'000'000);
  EXPECT_EQ(*ParseDecimalMicros("12.345678"), 12'345'678);
  EXPECT_EQ(*ParseDecimalMicros("0.000001"), 1);
  EXPECT_EQ(*ParseDecimalMicros("1000000000000"), 1'000'000'000'000'000'000);
}

TEST(MoneyTest, AnythingElseIsRefused) {
  for (const char* bad :
       {"", "-1", "+1", "1e3", "1.", ".5", "1.2345678", "1,5", "NaN", "inf",
        "10000000000000", "99999999999999999999", "1 000", "0x10"}) {
    EXPECT_FALSE(ParseDecimalMicros(bad).ok()) << bad;
  }
}

TEST(MoneyTest, CurrencyCodesAreThreeCapitals) {
  EXPECT_TRUE(IsCurrencyCode("EUR"));
  EXPECT_FALSE(IsCurrencyCode("eur"));
  EXPECT_FALSE(IsCurrencyCode("EURO"));
  EXPECT_FALSE(IsCurrencyCode("E1R"));
  EXPECT_FALSE(IsCurrencyCode(""));
}

}  // namespace
}  // namespace omnihub::money

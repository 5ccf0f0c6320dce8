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

TEST(MoneyTest, DecimalCommasAreReadWhenSaid) {
  const DecimalMark comma = DecimalMark::kComma;
  EXPECT_EQ(*ParseDecimalMicros("59,90", comma), 59'900'000);
  EXPECT_EQ(*ParseDecimalMicros(" 1.059,90 ", comma), 1'059'900'000);
  EXPECT_EQ(*ParseDecimalMicros("1.234.567,000001", comma), 1'234'567'000'001);
  EXPECT_EQ(*ParseDecimalMicros("1059", comma), 1'059'000'000);
  // With a decimal comma said, a point can only separate thousands.
  EXPECT_EQ(*ParseDecimalMicros("1.059", comma), 1'059'000'000);
  for (const char* bad :
       {"", "59.90", "1.05", "1..059,00", ".059,00", "1059.000,00", "1.059.9",
        "59,", ",5", "1,2,3", "59,90.", "-1,5", "1,2345678", "1 059,90",
        "59.90,00"}) {
    EXPECT_FALSE(ParseDecimalMicros(bad, comma).ok()) << bad;
  }
  // Without it, a comma is refused whatever it might have meant.
  EXPECT_FALSE(ParseDecimalMicros("59,90").ok());
  EXPECT_FALSE(ParseDecimalMicros("1,059.90").ok());
}

TEST(MoneyTest, DecimalMarkNames) {
  EXPECT_EQ(*ParseDecimalMark("point"), DecimalMark::kPoint);
  EXPECT_EQ(*ParseDecimalMark("comma"), DecimalMark::kComma);
  EXPECT_FALSE(ParseDecimalMark("Comma").ok());
  EXPECT_FALSE(ParseDecimalMark("").ok());
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

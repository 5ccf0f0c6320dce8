#include "common/csv/csv_reader.h"

#include "gtest/gtest.h"

namespace omnihub::csv {
namespace {

std::vector<CsvRow> Read(absl::string_view text, CsvLimits limits = {}) {
  absl::StatusOr<std::vector<CsvRow>> rows = ReadCsv(text, limits);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.value_or(std::vector<CsvRow>{});
}

TEST(CsvReaderTest, PlainRowsWithLineNumbers) {
  std::vector<CsvRow> rows = Read("a,b,c\n1,2,3\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rows[1].line, 2);
}

TEST(CsvReaderTest, QuotesCommasNewlinesAndDoubledQuotes) {
  std::vector<CsvRow> rows =
      Read("id,note\n1,\"Hello, \"\"world\"\"\"\n2,\"two\nlines\"\n3,end");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].fields[1], "Hello, \"world\"");
  EXPECT_EQ(rows[2].fields[1], "two\nlines");
  EXPECT_EQ(rows[2].line, 3);
  EXPECT_EQ(rows[3].line, 5);           // after the embedded newline
  EXPECT_EQ(rows[3].fields[1], "end");  // no final newline
}

TEST(CsvReaderTest, EmptyFieldsUtf8AndCrlf) {
  std::vector<CsvRow> rows = Read("a,,c\r\n\"\",Zoë 🙂,\r\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"a", "", "c"}));
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"", "Zoë 🙂", ""}));
}

TEST(CsvReaderTest, BlankLinesAreSkippedButCounted) {
  std::vector<CsvRow> rows = Read("a\n\n\nb\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].line, 4);
}

TEST(CsvReaderTest, MalformedQuotingNamesTheLine) {
  absl::StatusOr<std::vector<CsvRow>> rows =
      ReadCsv("ok,row\nbad,\"unterminated\n", CsvLimits{});
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  rows = ReadCsv("a,b\"c\n", CsvLimits{});
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("line 1"), std::string::npos)
      << rows.status();
}

TEST(CsvReaderTest, LimitsAreEnforced) {
  CsvLimits limits;
  limits.max_field_bytes = 10;
  EXPECT_FALSE(ReadCsv("short," + std::string(11, 'x') + "\n", limits).ok());
  limits = CsvLimits();
  limits.max_rows = 2;
  absl::StatusOr<std::vector<CsvRow>> rows = ReadCsv("a\nb\nc\n", limits);
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("more than 2 rows"),
            std::string::npos);
  limits = CsvLimits();
  limits.max_fields_per_row = 2;
  EXPECT_FALSE(ReadCsv("a,b,c\n", limits).ok());
}

TEST(CsvReaderTest, HugeFieldWithinLimitSurvives) {
  CsvLimits limits;
  limits.max_field_bytes = 1 << 20;
  const std::string big(1 << 19, 'z');
  std::vector<CsvRow> rows = Read("\"" + big + "\"\n", limits);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields[0].size(), big.size());
}

}  // namespace
}  // namespace omnihub::csv

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

TEST(CsvReaderTest, SemicolonsAndTabsAsDelimiters) {
  absl::StatusOr<std::vector<CsvRow>> rows =
      ReadCsv("a;b;c\n\"x;y\";59,90;\n", CsvLimits{}, ';');
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ((*rows)[1].fields, (std::vector<std::string>{"x;y", "59,90", ""}));
  // Empty fields between tabs stay fields.
  rows = ReadCsv("a\tb\tc\n1\t\t3\n\t\t\n", CsvLimits{}, '\t');
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[1].fields, (std::vector<std::string>{"1", "", "3"}));
  EXPECT_EQ((*rows)[2].fields, (std::vector<std::string>{"", "", ""}));
  EXPECT_FALSE(ReadCsv("a|b\n", CsvLimits{}, '|').ok());
}

TEST(CsvReaderTest, DelimiterIsDetectedFromTheHeader) {
  EXPECT_EQ(*DetectDelimiter("visit_id,store_id\n1;2;3;4\n"), ',');
  EXPECT_EQ(*DetectDelimiter("visit_id;store_id;amount\n1;2;59,90\n"), ';');
  EXPECT_EQ(*DetectDelimiter("\r\n\nvisit_id\tstore_id\n"), '\t');
  // Delimiters inside quoted names do not count.
  EXPECT_EQ(*DetectDelimiter("\"a,b,c\";d;e\n"), ';');
  EXPECT_EQ(*DetectDelimiter("\"Importe; total\"\n"), ',');
  EXPECT_EQ(*DetectDelimiter(""), ',');
  // As many of two is a question only the sender can answer.
  absl::StatusOr<char> unclear = DetectDelimiter("a;b,c\n");
  ASSERT_FALSE(unclear.ok());
  EXPECT_NE(unclear.status().message().find("as many commas as semicolons"),
            std::string::npos)
      << unclear.status();
}

TEST(CsvReaderTest, DelimiterNames) {
  EXPECT_EQ(*ParseDelimiterName("semicolon"), ';');
  EXPECT_EQ(*ParseDelimiterName(";"), ';');
  EXPECT_EQ(*ParseDelimiterName("tab"), '\t');
  EXPECT_EQ(*ParseDelimiterName("comma"), ',');
  EXPECT_EQ(*ParseDelimiterName("auto"), '\0');
  EXPECT_FALSE(ParseDelimiterName("pipe").ok());
  EXPECT_EQ(DelimiterName(';'), "semicolon");
}

}  // namespace
}  // namespace omnihub::csv

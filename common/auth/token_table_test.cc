#include "common/auth/token_table.h"

#include "gtest/gtest.h"

namespace omnihub::auth {
namespace {

TEST(Sha256HexTest, MatchesSha256sum) {
  // printf test | sha256sum
  EXPECT_EQ(Sha256Hex("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(TokenTableTest, FindsTheTokensPrincipalAndScopes) {
  absl::StatusOr<TokenTable> table = TokenTable::Parse(
      "# comment\n\n" + Sha256Hex("secret-1") +
      " phone-adapter ingest,ingest-verified  # trailing comment\n" +
      Sha256Hex("secret-2") + "\tdashboard\tread\r\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 2u);
  const Principal* adapter = table->Find("secret-1");
  ASSERT_NE(adapter, nullptr);
  EXPECT_EQ(adapter->name, "phone-adapter");
  EXPECT_TRUE(adapter->scopes.Has(Scope::kIngest));
  EXPECT_TRUE(adapter->scopes.Has(Scope::kIngestVerified));
  EXPECT_FALSE(adapter->scopes.Has(Scope::kRead));
  const Principal* dashboard = table->Find("secret-2");
  ASSERT_NE(dashboard, nullptr);
  EXPECT_EQ(dashboard->scopes.ToString(), "read");
  EXPECT_EQ(table->Find("secret-3"), nullptr);
  EXPECT_EQ(table->Find(""), nullptr);
  // The hash is not a token.
  EXPECT_EQ(table->Find(Sha256Hex("secret-1")), nullptr);
}

TEST(TokenTableTest, UpperCaseHashesAreFound) {
  std::string hash = Sha256Hex("x");
  for (char& c : hash) c = static_cast<char>(std::toupper(c));
  absl::StatusOr<TokenTable> table = TokenTable::Parse(hash + " a read\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_NE(table->Find("x"), nullptr);
}

TEST(TokenTableTest, RefusesMalformedLinesNamingTheLineNotItsText) {
  const std::string hash = Sha256Hex("t");
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& bad : std::vector<Case>{
           {"plain-token-pasted-here reader read\n", "line 1: the first"},
           {"\n" + hash + " reader\n", "line 2: want three fields"},
           {hash + " reader read,write\n", "unknown scope \"write\""},
           {hash + " bad/name read\n", "principal must be"},
           {hash + " a read\n" + hash + " b read\n", "listed twice"},
       }) {
    absl::StatusOr<TokenTable> table = TokenTable::Parse(bad.text);
    ASSERT_FALSE(table.ok()) << bad.text;
    EXPECT_TRUE(absl::IsInvalidArgument(table.status()));
    EXPECT_NE(table.status().message().find(bad.message), std::string::npos)
        << table.status();
    EXPECT_EQ(table.status().message().find("plain-token-pasted-here"),
              std::string::npos);
  }
}

TEST(ScopesTest, ParseAndName) {
  absl::StatusOr<ScopeSet> scopes =
      ParseScopes("admin, privacy,link,read,ingest-verified,ingest");
  ASSERT_TRUE(scopes.ok()) << scopes.status();
  EXPECT_EQ(scopes->ToString(),
            "ingest,ingest-verified,read,link,privacy,admin");
  EXPECT_FALSE(ParseScopes("").ok());
  EXPECT_FALSE(ParseScopes("Read").ok());
}

}  // namespace
}  // namespace omnihub::auth

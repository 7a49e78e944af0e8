// The text-level limits on users' SQL (engine/sql_limits.h) and the settings behind them.
#include <gtest/gtest.h>

#include <cstdlib>

#include "common/config.h"
#include "engine/sql_limits.h"

namespace supertable {

TEST(SqlLimits, BracketDepthCountsNestingAndEmptyPairs) {
  EXPECT_EQ(BracketDepth(""), 0);
  EXPECT_EQ(BracketDepth("(a)(b)(c)"), 1);
  EXPECT_EQ(BracketDepth("((a))"), 2);
  EXPECT_EQ(BracketDepth("[{(x)}]"), 3);
  EXPECT_EQ(BracketDepth("INTEGER[][][]"), 3);  // a list of lists of lists
  EXPECT_EQ(BracketDepth("INTEGER[] []"), 2);
  EXPECT_EQ(BracketDepth("x[1][2]"), 1);  // indexing does not nest
  EXPECT_EQ(BracketDepth(")))((("), 3);   // stray closers do not hide what follows
}

TEST(SqlLimits, TextLimits) {
  SqlLimits limits{100, 10, 5};
  EXPECT_TRUE(CheckSqlText("SELECT ((1))", limits).ok());
  Status big = CheckSqlText(std::string(101, ' '), limits);
  EXPECT_NE(big.message().find("SUPERTABLE_MAX_SQL_BYTES"), std::string::npos) << big.message();
  Status deep = CheckSqlText("SELECT ((((((1))))))", limits);
  EXPECT_NE(deep.message().find("SUPERTABLE_MAX_SQL_DEPTH"), std::string::npos) << deep.message();
  // Brackets inside names and comments do not count; inside string constants they count on
  // their own (a string may be a type or JSON structure that a function parses).
  EXPECT_TRUE(
      CheckSqlText("SELECT 1 AS \"((((((\" -- ((((((\n/* (((((( /* ((((( */ */", limits).ok());
  EXPECT_TRUE(CheckSqlText("SELECT '((((' , '))))', ((('x')))", limits).ok());
  EXPECT_FALSE(CheckSqlText("SELECT '[[[[[[\"INTEGER\"]]]]]]'", limits).ok());
  EXPECT_FALSE(CheckSqlText("SELECT $$[[[[[[1]]]]]]$$", limits).ok());
  EXPECT_FALSE(CheckSqlText("SELECT $t$[[[[[[1]]]]]]$t$", limits).ok());
  EXPECT_FALSE(CheckSqlText("SELECT NULL::INTEGER[][][][][][]", limits).ok());
  // A string cannot close brackets opened in the code around it.
  EXPECT_FALSE(CheckSqlText("SELECT (((')))))'(((1)))))))", limits).ok());
  // Escaped quotes keep the lexer inside the string.
  EXPECT_TRUE(CheckSqlText("SELECT (('it''s ((((')), ((E'\\' (((('))", limits).ok());
  // $1 is a parameter, not the start of a string.
  EXPECT_FALSE(CheckSqlText("SELECT $1, ((((((1))))))", limits).ok());
}

TEST(SqlLimits, SettingsHaveCeilings) {
  setenv("SUPERTABLE_MAX_SQL_DEPTH", "100000", 1);
  setenv("SUPERTABLE_MAX_SQL_EXPRESSIONS", "100000000", 1);
  setenv("SUPERTABLE_MAX_SQL_BYTES", "2048", 1);
  auto c = Config::FromEnvironment();
  unsetenv("SUPERTABLE_MAX_SQL_DEPTH");
  unsetenv("SUPERTABLE_MAX_SQL_EXPRESSIONS");
  unsetenv("SUPERTABLE_MAX_SQL_BYTES");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->max_sql_depth, kMaxSqlDepthCeiling);
  EXPECT_EQ(c->max_sql_expressions, kMaxSqlExpressionsCeiling);
  EXPECT_EQ(c->max_sql_bytes, 2048);
  setenv("SUPERTABLE_MAX_SQL_DEPTH", "0", 1);
  EXPECT_FALSE(Config::FromEnvironment().ok());
  unsetenv("SUPERTABLE_MAX_SQL_DEPTH");
}

}  // namespace supertable

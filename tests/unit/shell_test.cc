// The shell's statement splitter: where what a user types ends a SQL statement.
#include <gtest/gtest.h>

#include "cli/shell.h"

namespace supertable {

TEST(StatementSplitter, EndsStatementsOnlyAtSemicolonsThatAreCode) {
  StatementSplitter s;
  EXPECT_TRUE(s.Add("SELECT 1").empty());
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.Add("  + 1;"), std::vector<std::string>{"SELECT 1\n  + 1"});
  EXPECT_TRUE(s.empty());
  // Several on one line; empty ones dropped.
  EXPECT_EQ(s.Add("SELECT 1; ;; SELECT 2;"), (std::vector<std::string>{"SELECT 1", "SELECT 2"}));
  // Semicolons in strings, quoted names and comments do not end anything.
  EXPECT_EQ(s.Add("SELECT 'a;b', \"c;d\" -- e;f"), std::vector<std::string>{});
  EXPECT_EQ(s.Add(";"), std::vector<std::string>{"SELECT 'a;b', \"c;d\" -- e;f"});
  EXPECT_EQ(s.Add("SELECT 'it''s; fine';"), std::vector<std::string>{"SELECT 'it''s; fine'"});
  EXPECT_TRUE(s.Add("SELECT /* a; multi-line").empty());
  EXPECT_TRUE(s.Add("comment; */ 3").empty());
  EXPECT_EQ(s.Add(";"), std::vector<std::string>{"SELECT /* a; multi-line\ncomment; */ 3"});
  // A string left open runs on over lines, semicolons and all.
  EXPECT_TRUE(s.Add("SELECT 'line one;").empty());
  EXPECT_EQ(s.Add("line two';"), std::vector<std::string>{"SELECT 'line one;\nline two'"});
  // Comments and blanks alone leave nothing pending (the next line may be a dot command).
  EXPECT_TRUE(s.Add("-- just a note; really").empty());
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.Add("   ").empty());
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.Add("/* note */ ;").empty());
  EXPECT_TRUE(s.empty());
  // Clear drops a half-typed statement, inside a string too.
  EXPECT_TRUE(s.Add("SELECT 'half").empty());
  s.Clear();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.Add("SELECT 7;"), std::vector<std::string>{"SELECT 7"});
}

}  // namespace supertable

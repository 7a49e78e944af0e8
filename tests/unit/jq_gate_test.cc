// The jq gate: forbidden builtins refused wherever they hide in code, never where they are only
// text (strings, comments, field names); names and variables found as the library needs them.
#include "library/jq_gate.h"

#include <gtest/gtest.h>

namespace supertable::library {
namespace {

TEST(JqGate, RefusesBuiltinsThatReachOutside) {
  for (const char* p : {"env",
                        "$ENV.HOME",
                        "input",
                        "[inputs]",
                        "input_filename",
                        "input_line_number",
                        "import \"x\" as x; .",
                        "include \"x\"; .",
                        "modulemeta",
                        "halt",
                        "halt_error(1)",
                        "debug",
                        "stderr",
                        "$__loc__",
                        "get_search_list",
                        "get_prog_origin",
                        "get_jq_origin",
                        ". | (env)",
                        "\"\\(env.HOME)\"",
                        "def f: input; f",
                        "x::y",
                        "[.[] | debug]"}) {
    Status s = CheckJqProgram(p);
    EXPECT_FALSE(s.ok()) << p;
    EXPECT_NE(s.message().find("not allowed"), std::string::npos) << p << ": " << s.message();
  }
}

TEST(JqGate, AllowsThoseNamesAsText) {
  for (const char* p : {".env", ".input | .debug", "\"env input halt\"", "# env\n.", "{\"env\": 1}",
                        ".[\"stderr\"]", "@base64", "getpath([\"a\"])", "1e18 | floor",
                        "\"a\\\"env\\\"\" | length", "def f($revenue): $revenue; f(1)"}) {
    Status s = CheckJqProgram(p);
    EXPECT_TRUE(s.ok()) << p << ": " << s.message();
  }
}

TEST(JqGate, SaysWhereAndWhy) {
  Status s = CheckJqProgram(".a |\n  env");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("line 2, column 3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("environment"), std::string::npos) << s.message();
  Status open = CheckJqProgram("\"never closed");
  EXPECT_NE(open.message().find("never closed"), std::string::npos) << open.message();
}

TEST(JqGate, FindsNamesAndVariables) {
  auto names = JqNamesUsed(
      "def g: 1; calculate_efficiency(.revenue; .cost) as $e | \"\\(analyze_trends(.; $w))\" | "
      "if $e > 0 then g else empty end");
  EXPECT_TRUE(names.count("calculate_efficiency"));
  EXPECT_TRUE(names.count("analyze_trends"));
  EXPECT_TRUE(names.count("g"));
  EXPECT_FALSE(names.count("revenue"));  // a field
  EXPECT_FALSE(names.count("if"));       // a keyword
  auto vars = JqVariablesUsed("$a + .b | \"\\($c)\" | \"$d\"");
  EXPECT_EQ(vars, (std::set<std::string>{"a", "c"}));
}

TEST(JqGate, PlaceholdersBecomeVariables) {
  EXPECT_EQ(JqPlaceholdersToVariables("analyze_trends(.; ${window_size})"),
            "analyze_trends(.; $window_size)");
  EXPECT_EQ(JqPlaceholdersToVariables("{dataset: \"${dataset_name}\"}"),
            "{dataset: \"\\($dataset_name)\"}");
  // Inside an interpolation's code, and in a string within it.
  EXPECT_EQ(JqPlaceholdersToVariables("\"n=\\(${n} + 1) s=\\(\"${s}\")\""),
            "\"n=\\($n + 1) s=\\(\"\\($s)\")\"");
  // Not a placeholder: left alone.
  EXPECT_EQ(JqPlaceholdersToVariables("\"$x ${ y}\" # ${z}"), "\"$x ${ y}\" # ${z}");
}

}  // namespace
}  // namespace supertable::library

// The CLI as a user meets it: help, exit codes, one clear error line for bad input, output formats.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace supertable {

using testing::RunCli;
using testing::TempDir;

class Cli : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string home() const { return dir_.path() + "/home"; }
  testing::CommandResult Run(std::vector<std::string> args) { return RunCli(args, home()); }
  std::string File(const std::string& name, const std::string& content) {
    return dir_.Write(name, content);
  }
  // Bad input: exit 1, exactly one line on stderr starting with "error:" and mentioning `what`.
  void ExpectUserError(const testing::CommandResult& r, const std::string& what) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  }
};

TEST_F(Cli, HelpOnEveryCommand) {
  for (const char* cmd : {"init", "ingest", "supers", "tables", "describe", "history", "query",
                          "compact", "gc", "drop", "demo", "mcp", "serve", "audit"}) {
    auto r = Run({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
  auto top = Run({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("ingest"), std::string::npos);
  auto version = Run({"--version"});
  EXPECT_EQ(version.exit_code, 0);  // regression: CLI11's version exception was a parse error
  EXPECT_EQ(version.out, "supertable 0.1.0\n");
  auto none = Run({});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(Run({"frobnicate"}).exit_code, 1);
}

TEST_F(Cli, IngestQueryDescribeHistory) {
  auto init = Run({"init"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto in = Run({"ingest", "shop", "orders",
                 File("o.csv", "id,amount,day\n1,9.5,2024-01-02\n2,3.25,2024-01-03\n")});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_NE(in.out.find("version 1"), std::string::npos);
  auto up = Run({"ingest", "shop", "orders", File("u.csv", "id,amount,day\n2,4,2024-01-04\n"),
                 "--overwrite-columns", "id"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("1 inserted, 1 deleted"), std::string::npos) << up.out;

  auto q =
      Run({"query", "shop", "SELECT id, amount, day FROM orders ORDER BY id", "--format", "json"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  auto j = nlohmann::json::parse(q.out);
  EXPECT_EQ(j["columns"][2]["type"], "DATE");
  EXPECT_EQ(j["rows"][1][1], 4.0);
  EXPECT_EQ(j["rows"][1][2], "2024-01-04");
  EXPECT_EQ(j["truncated"], false);

  auto csv =
      Run({"query", "shop", "SELECT id, 'a,b' AS s FROM orders ORDER BY id", "--format", "csv"});
  EXPECT_EQ(csv.out, "id,s\n1,\"a,b\"\n2,\"a,b\"\n");
  auto limited = Run({"query", "shop", "SELECT * FROM orders", "--limit", "1", "--format", "json"});
  EXPECT_EQ(nlohmann::json::parse(limited.out)["truncated"], true);

  auto d = Run({"describe", "shop", "orders"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("version 2, 2 rows"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("2024-01-02"), std::string::npos) << d.out;
  auto h = Run({"history", "shop", "orders", "--format", "json"});
  auto hj = nlohmann::json::parse(h.out);
  ASSERT_EQ(hj["rows"].size(), 2u);
  EXPECT_EQ(hj["rows"][1][2], "upsert");
  auto sys = Run({"query", "shop", "SELECT count(*) FROM orders WHERE __st_row_id >= 0",
                  "--system-columns", "--format", "csv"});
  EXPECT_EQ(sys.out, "count_star()\n2\n") << sys.err;
  EXPECT_EQ(Run({"supers", "--format", "csv"}).out, "super,tables\nshop,1\n");
  EXPECT_EQ(Run({"tables", "shop", "--format", "csv"}).out.substr(0, 5), "table");
}

TEST_F(Cli, BadInputsGetOneClearLineAndChangeNothing) {
  ASSERT_EQ(Run({"ingest", "s", "t", File("ok.csv", "id,v\n1,a\n")}).exit_code, 0);

  ExpectUserError(Run({"ingest", "s", "t", dir_.path() + "/missing.csv"}),
                  "missing.csv: no such file");
  ExpectUserError(Run({"ingest", "s", "bad-name", File("a.csv", "id\n1\n")}),
                  "invalid table name 'bad-name'");
  ExpectUserError(Run({"ingest", "9s", "t", File("b.csv", "id\n1\n")}), "invalid super table name");
  ExpectUserError(Run({"ingest", "s", "t", File("c.txt.bin", "id\n1\n")}), "--format");
  ExpectUserError(Run({"ingest", "s", "t", File("d.json", "[{\"id\": 1}, {\"id\": ")}), "d.json");
  ExpectUserError(Run({"ingest", "s", "t", File("e.csv", "id,v\n2,\"unterminated\n")}),
                  "closing quote");
  ExpectUserError(Run({"ingest", "s", "t", File("e2.csv", "id,v\n1,2,3\n")}),
                  "as many fields as the header");
  ExpectUserError(Run({"ingest", "s", "t", File("e3.csv", "a,b,c\n1,2\n3,4,5\n")}), "e3.csv");
  ExpectUserError(Run({"ingest", "s", "t", File("e4.csv", "")}), "expected a header row");
  ExpectUserError(Run({"ingest", "s", "t", File("d2.json", "[{\"id\": 1},\n")}), "not closed");
  ExpectUserError(Run({"ingest", "s", "t", File("d3.ndjson", "{\"id\": 1}\n{\"id\": 2\n")}),
                  "d3.ndjson");
  ExpectUserError(Run({"ingest", "s", "t", File("d4.json", "  \n")}), "empty");
  ExpectUserError(Run({"ingest", "s", "t", File("f.csv", "id,v\nnot a number,b\n")}),
                  "not a number");
  ExpectUserError(
      Run({"ingest", "s", "t", File("g.csv", "id,v\n1,a\n"), "--overwrite-columns", "idd"}),
      "did you mean 'id'");
  ExpectUserError(Run({"ingest", "s", "t", File("h.csv", "id,v\n1,a\n"), "--newer-than", "v"}),
                  "--newer-than needs key columns");
  ExpectUserError(Run({"ingest", "s", "t", File("i.parquet", "PAR1 this is not parquet")}),
                  "i.parquet");
  ExpectUserError(Run({"ingest", "s", "t", File("j.csv", "id,__st_row_id\n1,2\n")}),
                  "reserved prefix");
  std::string wide;
  for (int i = 0; i < 5000; ++i) wide += (i ? ",c" : "c") + std::to_string(i);
  ExpectUserError(Run({"ingest", "s", "t", File("wide.csv", wide + "\n")}),
                  "wide.csv has 5000 columns; at most 1000 are allowed "
                  "(SUPERTABLE_MAX_INPUT_COLUMNS)");
  ExpectUserError(Run({"query", "nosuch", "SELECT 1"}), "unknown super table 'nosuch'");
  ExpectUserError(Run({"describe", "s", "tt"}),
                  "unknown table 'tt' in super table 's'; did you mean 't'?");
  ExpectUserError(Run({"history", "S_", "t"}), "unknown super table");
  ExpectUserError(Run({"query", "s", "SELECT nope FROM t"}), "unknown column 'nope'");
  ExpectUserError(Run({"query", "s", "SELECT idd FROM t"}),
                  "unknown column 'idd'; did you mean 'id'?");
  ExpectUserError(Run({"query", "s", "SELECT 1", "--format", "xml"}),
                  "expected table, csv, json or line");
  ExpectUserError(Run({"gc", "--grace", "soon"}), "invalid duration");

  // Nothing above changed the table.
  auto h = Run({"history", "s", "t", "--format", "csv"});
  EXPECT_EQ(std::count(h.out.begin(), h.out.end(), '\n'), 2) << h.out;
  EXPECT_EQ(Run({"query", "s", "SELECT * FROM t", "--format", "csv"}).out, "id,v\n1,a\n");
}

TEST_F(Cli, CompactGcDrop) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Run({"ingest", "s", "t",
                   File("x" + std::to_string(i) + ".csv", "id\n" + std::to_string(i) + "\n")})
                  .exit_code,
              0);
  }
  auto c = Run({"compact", "s"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("3 -> 1 files"), std::string::npos) << c.out;
  auto g = Run({"gc", "--retention", "0", "--grace", "0"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  // Versions current within the query timeout stay: a running query may have pinned them.
  EXPECT_NE(g.out.find("0 version(s) expired"), std::string::npos) << g.out;
  EXPECT_EQ(Run({"query", "s", "SELECT sum(id) FROM t", "--format", "csv"}).out, "sum(id)\n3\n");
  ASSERT_EQ(Run({"drop", "s", "t"}).exit_code, 0);
  ExpectUserError(Run({"query", "s", "SELECT * FROM t"}), "t");
  ASSERT_EQ(Run({"drop", "s"}).exit_code, 0);
  EXPECT_EQ(Run({"supers", "--format", "csv"}).out, "super,tables\n");
}

// --cluster-by sorts and is remembered, --sort-by rewrites in that order, and --log-level info
// says how many files a query read.
TEST_F(Cli, ClusterSortAndFilesRead) {
  for (int i = 0; i < 3; ++i) {
    std::string rows = "id,k\n";
    for (int j = 9; j >= 0; --j) rows += fmt::format("{},{}\n", i * 10 + j, j);
    auto r = Run({"ingest", "s", "t", File(fmt::format("c{}.csv", i), rows), "--cluster-by",
                  i == 0 ? "id" : ""});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto q = Run(
      {"--log-level", "info", "query", "s", "SELECT k FROM t WHERE id = 12", "--format", "csv"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.out, "k\n2\n");
  EXPECT_NE(q.err.find("read 1 of 3 data files (2 pruned by statistics)"), std::string::npos)
      << q.err;
  ExpectUserError(Run({"ingest", "s", "t", File("bad.csv", "id,k\n1,1\n"), "--cluster-by", "x"}),
                  "cannot cluster by 'x'");
  auto c = Run({"compact", "s", "t", "--sort-by", "k"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("3 -> 1 files"), std::string::npos) << c.out;
  EXPECT_EQ(Run({"query", "s",
                 "SELECT string_agg(id::VARCHAR, ' ' ORDER BY id) AS ids FROM t "
                 "WHERE k = 3",
                 "--format", "csv"})
                .out,
            "ids\n3 13 23\n");
}

TEST_F(Cli, JsonEncodingOfTypes) {
  ASSERT_EQ(Run({"ingest", "s", "t", File("a.csv", "id\n1\n")}).exit_code, 0);
  auto r = Run({"query", "s",
                "SELECT TIMETZ '12:34:56+02' AS a, TIMETZ '12:34:56.25+02' AS b, TIMESTAMPTZ "
                "'2024-01-02 03:04:05+00' AS c, "
                "123456789012345678::DECIMAL(18,0) AS d, 'NaN'::DOUBLE AS e, INTERVAL 1 DAY + "
                "INTERVAL 90 MINUTE AS f, "
                "'\\xAB'::BLOB AS g, {'k': [1, NULL]} AS h, MAP {'x': 1} AS i, 9007199254740993 AS "
                "j, NULL AS k",
                "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto row = nlohmann::json::parse(r.out)["rows"][0];
  EXPECT_EQ(row[0], "12:34:56+02:00");
  EXPECT_EQ(row[1], "12:34:56.25+02:00");
  EXPECT_EQ(row[2], "2024-01-02T03:04:05Z");
  EXPECT_EQ(row[3], "123456789012345678");
  EXPECT_EQ(row[4], "NaN");
  EXPECT_EQ(row[5], "P1DT1H30M");
  EXPECT_EQ(row[6], "qw==");
  EXPECT_EQ(row[7], nlohmann::json::parse("{\"k\": [1, null]}"));
  EXPECT_EQ(row[8], nlohmann::json::parse("{\"x\": 1}"));
  EXPECT_EQ(row[9], "9007199254740993");
  EXPECT_TRUE(row[10].is_null());
}

TEST_F(Cli, QueryTimeTravelAndTimeout) {
  ASSERT_EQ(Run({"ingest", "s", "t", File("a.csv", "id\n1\n")}).exit_code, 0);
  ASSERT_EQ(Run({"ingest", "s", "t", File("b.csv", "id\n2\n")}).exit_code, 0);
  EXPECT_EQ(Run({"query", "s", "SELECT count(*) AS n FROM t", "--format", "csv"}).out, "n\n2\n");
  EXPECT_EQ(
      Run({"query", "s", "SELECT count(*) AS n FROM t", "--as-of", "1", "--format", "csv"}).out,
      "n\n1\n");
  EXPECT_EQ(
      Run({"query", "s", "SELECT count(*) AS n FROM t AT (VERSION => 1)", "--format", "csv"}).out,
      "n\n1\n");
  ExpectUserError(Run({"query", "s", "SELECT 1 FROM t", "--as-of", "2001-01-01"}),
                  "has no version as of");
  ExpectUserError(Run({"query", "s", "SELECT 1", "--as-of", "yesterday"}), "invalid --as-of");
  ExpectUserError(
      Run({"query", "s",
           "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
           "--timeout", "300ms"}),
      "time limit of 300 ms");
  ExpectUserError(Run({"query", "s", "SELECT * FROM read_csv('/etc/passwd')"}), "not allowed");
  // Regressions: a sub-millisecond timeout is a limit, not "none"; absurd durations are refused.
  ExpectUserError(
      Run({"query", "s",
           "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
           "--timeout", "0.5ms"}),
      "time limit of 1 ms");
  ExpectUserError(Run({"query", "s", "SELECT 1", "--timeout", "1e30d"}), "invalid duration");
  ExpectUserError(Run({"query", "s", "SELECT 1", "--as-of", "99999999999999999999"}),
                  "version too large");
  // A truncated CSV result says so on stderr.
  auto cut = Run({"query", "s", "SELECT * FROM range(10)", "--format", "csv", "--limit", "3"});
  EXPECT_EQ(cut.exit_code, 0);
  EXPECT_NE(cut.err.find("truncated after 3 rows by the row limit"), std::string::npos) << cut.err;
}

TEST_F(Cli, BadDuckDbSettingIsOneClearError) {
  // Regression: the engines open on first use, and their settings errors must still be caught.
  ASSERT_EQ(Run({"ingest", "s", "t", File("a.csv", "id\n1\n")}).exit_code, 0);
  setenv("SUPERTABLE_DUCKDB_MEMORY_LIMIT", "lots", 1);
  auto q = Run({"query", "s", "SELECT 1"});
  auto i = Run({"ingest", "s", "t", File("b.csv", "id\n2\n")});
  unsetenv("SUPERTABLE_DUCKDB_MEMORY_LIMIT");
  ExpectUserError(q, "cannot start DuckDB");
  ExpectUserError(i, "cannot start DuckDB");
}

TEST_F(Cli, OrganizationsAreSeparate) {
  ASSERT_EQ(Run({"--org", "acme", "ingest", "s", "t", File("a.csv", "id\n1\n")}).exit_code, 0);
  EXPECT_EQ(Run({"--org", "acme", "supers", "--format", "csv"}).out, "super,tables\ns,1\n");
  EXPECT_EQ(Run({"--org", "other", "supers", "--format", "csv"}).out, "super,tables\n");
  ExpectUserError(Run({"--org", "bad org", "supers"}), "invalid organization name");
}

TEST_F(Cli, DemoRuns) {
  // The demo stays on local disk even when the environment names a bucket (unreachable here).
  testing::ScopedEnv remote({{"STORAGE_TYPE", "MINIO"},
                             {"STORAGE_ENDPOINT_URL", "http://127.0.0.1:9"},
                             {"STORAGE_BUCKET", "team-bucket"}});
  auto r = Run({"demo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("History of shop.orders"), std::string::npos);
  EXPECT_NE(r.out.find("upsert"), std::string::npos);
  EXPECT_NE(r.out.find("4100 live rows"), std::string::npos) << r.out;
}

}  // namespace supertable

// The query engine: the sandbox (hostile SQL), pinned snapshots, time travel, names across
// supers, access policies and limits.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "engine/query_sandbox.h"
#include "engine/row_filter.h"
#include "mcp/server.h"
#include "security/principal.h"
#include "support/test_support.h"
#include "tools/warehouse_tools.h"

namespace supertable {

using testing::WarehouseTest;

namespace {

class CollectSink : public ResultSink {
 public:
  std::vector<Column> columns;
  std::vector<std::vector<nlohmann::json>> rows;
  bool truncated = false;
  std::function<void(size_t)> on_row;
  void Begin(const std::vector<Column>& c) override { columns = c; }
  void Row(const std::vector<nlohmann::json>& r) override {
    rows.push_back(r);
    if (on_row) on_row(rows.size());
  }
  void End(bool t) override { truncated = t; }
};

const char* kMarker = "/tmp/supertable-sandbox-escape";

// Ways to reach a catalog name, a setting or a file through name scoping (a CTE defined in one
// place hiding a table name in another), catalog views, table functions and paths; each in
// plain form and under EXPLAIN. `data` is the data root, `file` a data file's key under it.
std::vector<std::string> EscapeAttempts(const std::string& data, const std::string& file) {
  std::string glob = data + "/*/*/*/data/*.parquet";
  std::string path = data + "/" + file;
  std::vector<std::string> plain = {
      // The reported reproductions: a CTE in a scalar subquery hid the name of the outer FROM.
      "SELECT (WITH \"" + glob + "\" AS (SELECT 1) SELECT 1) x, * FROM '" + glob + "'",
      "SELECT (WITH pg_settings AS (SELECT 1) SELECT 1) x, name, setting FROM pg_settings",
      // The same CTE placed in WHERE, IN, another CTE, a lateral join, a set operation branch,
      // a join condition, ORDER BY, HAVING, a derived table, a recursive CTE.
      "SELECT name FROM pg_settings WHERE EXISTS (WITH pg_settings AS (SELECT 1) SELECT 1)",
      "SELECT name FROM pg_settings WHERE 1 IN (WITH pg_settings AS (SELECT 1 a) SELECT a FROM "
      "pg_settings)",
      "WITH a AS (WITH pg_settings AS (SELECT 1) SELECT 1) SELECT name FROM pg_settings, a",
      "WITH a AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) SELECT * FROM a",
      "SELECT * FROM pg_settings, LATERAL (WITH pg_settings AS (SELECT 1 a) SELECT a FROM "
      "pg_settings) l",
      "SELECT name FROM pg_settings UNION ALL (WITH pg_settings AS (SELECT 'x' n) SELECT n FROM "
      "pg_settings)",
      "(WITH pg_settings AS (SELECT 'x' n) SELECT n FROM pg_settings) UNION ALL SELECT name FROM "
      "pg_settings",
      "SELECT s.name FROM pg_settings s JOIN orders o ON (WITH pg_settings AS (SELECT 1) SELECT "
      "true)",
      "SELECT name FROM pg_settings ORDER BY (WITH pg_settings AS (SELECT 1) SELECT 1)",
      "SELECT count(*) FROM pg_settings HAVING (WITH pg_settings AS (SELECT 1) SELECT true)",
      "SELECT * FROM (WITH pg_settings AS (SELECT 1) SELECT 1) d, pg_settings",
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 2) SELECT * FROM "
      "r, (SELECT (WITH RECURSIVE duckdb_settings AS (SELECT 1) SELECT 1)) x, duckdb_settings",
      "SELECT * FROM '" + path + "', (SELECT (WITH \"" + path + "\" AS (SELECT 1) SELECT 1))",
      // Quoting and case: DuckDB matches CTE names case-insensitively, quoted or not.
      "SELECT (WITH \"PG_SETTINGS\" AS (SELECT 1) SELECT 1), name FROM pg_settings",
      "SELECT (WITH Pg_Settings AS (SELECT 1) SELECT 1), name FROM \"pg_settings\"",
      // A subquery aliased like the CTE it reads: DuckDB's binder skips the CTE there and looks
      // further out (1.4.4 then finds it); the guard takes the name for a table.
      "WITH pg_settings AS (SELECT 1 AS name) SELECT * FROM (SELECT * FROM pg_settings) "
      "pg_settings",
      "SELECT * FROM (WITH duckdb_views AS (SELECT 1) SELECT * FROM duckdb_views) duckdb_views",
      // A CTE's own body, non-recursive, does not see its name.
      "WITH pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings",
      // Qualified catalog names, catalog functions, file functions and paths.
      "SELECT * FROM main.pg_settings",
      "SELECT * FROM pg_catalog.pg_settings",
      "SELECT * FROM information_schema.tables",
      "SELECT * FROM information_schema.columns",
      "SELECT * FROM duckdb_settings()",
      "SELECT * FROM duckdb_views()",
      "SELECT * FROM glob('" + glob + "')",
      "SELECT * FROM read_text('" + path + "')",
      "SELECT * FROM read_parquet('" + glob + "')",
      "SELECT * FROM '" + glob + "'",
      "SELECT * FROM '" + path + "'",
      "SELECT * FROM 'orders.csv'",
      "SELECT * FROM '/etc/passwd.csv'",
      "SELECT * FROM 'x.json'",
      "PIVOT pg_settings ON name USING first(setting)",
      "SELECT * FROM (PIVOT pg_settings ON name IN ('threads') USING first(setting))",
      "UNPIVOT pg_settings ON name, setting INTO NAME k VALUE v",
      "SELECT * FROM orders PIVOT (sum(amount) FOR customer IN (SELECT name FROM pg_settings))",
      "DESCRIBE '" + path + "'",
      "DESCRIBE SELECT * FROM '" + path + "'",
      "SUMMARIZE '" + path + "'",
      "SUMMARIZE SELECT * FROM pg_settings",
      "DESCRIBE pg_settings",
      "SELECT * FROM (DESCRIBE pg_settings)",
      "SELECT * FROM unnest((SELECT list(name) FROM pg_settings))",
      "SELECT * FROM range((SELECT count(*) FROM duckdb_settings()))",
      // Catalog macros that expand into catalog table functions.
      "SELECT pg_get_viewdef(0)",
      "SELECT * FROM orders WHERE pg_get_viewdef(0) IS NULL",
      // Functions that take a type string read it; they must not become a way in either.
      "SELECT from_json('[1]', (SELECT '[\"INTEGER\"]'))",
  };
  std::vector<std::string> all = plain;
  for (const auto& sql : plain) all.push_back("EXPLAIN " + sql);
  for (const auto& sql : plain) all.push_back("EXPLAIN ANALYZE " + sql);
  return all;
}

}  // namespace

// A policy of one role whose only restriction is a row filter.
TablePolicy RowFilter(const std::string& filter) {
  TablePolicy p;
  p.views.push_back({filter, std::nullopt, {}});
  return p;
}

class QueryEngine : public WarehouseTest {
 protected:
  void SetUp() override {
    WarehouseTest::SetUp();
    std::filesystem::remove(kMarker);
    Ingest("orders", "id,customer,amount,secret\n1,ann,10.5,x\n2,bob,20,y\n3,ann,5,z\n");
    Ingest("customers", "name,country\nann,DE\nbob,US\n");
  }

  Status Fails(const std::string& sql, QueryRequest req = {}) {
    req.super_name = req.super_name.empty() ? "s" : req.super_name;
    req.sql = sql;
    CollectSink sink;
    auto r = wh_->Query(req, sink);
    return r.ok() ? Status::Ok() : r.status();
  }
};

TEST_F(QueryEngine, HostileQueriesAreRefused) {
  std::string data = MakeConfig().home + "/data";
  std::string orders_file = wh_->LoadSnapshot(wh_->Ref("s", "orders"))->files[0].key;
  std::vector<std::string> hostile = {
      // Reading files outside the tables, several ways.
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM read_csv_auto('/etc/passwd')",
      "SELECT * FROM read_text('/etc/passwd')",
      "SELECT * FROM read_blob('/etc/passwd')",
      "SELECT * FROM '/etc/passwd'",
      "SELECT * FROM \"/etc/passwd\"",
      "SELECT * FROM read_json('/etc/passwd')",
      "SELECT * FROM read_parquet('" + data + "/" + orders_file +
          "')",  // a table's file, bypassing policy
      "SELECT * FROM parquet_scan('" + data + "/" + orders_file + "')",
      "SELECT * FROM parquet_metadata('" + data + "/" + orders_file + "')",
      "SELECT * FROM glob('/etc/*')",
      "SELECT * FROM glob('" + data + "/**')",
      "SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))",
      "WITH x AS (SELECT * FROM read_text('/etc/hostname')) SELECT * FROM x",
      "SELECT * FROM orders WHERE id IN (SELECT 1 FROM read_text('/etc/hostname'))",
      "SELECT * FROM read_csv('http://127.0.0.1:1/x.csv')",
      "SELECT * FROM sniff_csv('/etc/passwd')",
      "SELECT * FROM query_table('orders')",
      "SELECT * FROM query('SELECT 1')",
      "SELECT * FROM duckdb_settings()",
      "SELECT * FROM information_schema.tables",
      "SELECT * FROM duckdb_tables",
      "SELECT * FROM pg_catalog.pg_class",
      "SELECT * FROM system.main.orders",
      "DESCRIBE read_text('/etc/passwd')",
      // Writing files and changing the database.
      "COPY (SELECT 1) TO '" + std::string(kMarker) + "'",
      "COPY orders TO '" + std::string(kMarker) + "'",
      "EXPORT DATABASE '" + std::string(kMarker) + "'",
      "INSERT INTO orders VALUES (9, 'eve', 1, 'q')",
      "UPDATE orders SET amount = 0",
      "DELETE FROM orders",
      "CREATE TABLE t2 AS SELECT 1",
      "CREATE MACRO m(a) AS a",
      "CREATE VIEW v AS SELECT 1",
      "DROP VIEW orders",
      "ATTACH '" + std::string(kMarker) + "' AS x",
      "DETACH memory",
      // Settings, extensions, pragmas, calls.
      "SET enable_external_access = true",
      "RESET enable_external_access",
      "SET GLOBAL lock_configuration = false",
      "PRAGMA enable_profiling",
      "CALL pragma_version()",
      "INSTALL httpfs",
      "LOAD httpfs",
      "CHECKPOINT",
      "VACUUM",
      "BEGIN TRANSACTION",
      // Tricks: stacking, comments, strings, look-alikes, explain of a write.
      "SELECT 1; COPY (SELECT 1) TO '" + std::string(kMarker) + "'",
      "SELECT 1 /* ; */; DROP VIEW orders",
      "/* harmless */ COPY (SELECT 1) TO '" + std::string(kMarker) + "' -- SELECT",
      "-- SELECT\nINSTALL httpfs",
      "EXPLAIN ANALYZE COPY (SELECT 1) TO '" + std::string(kMarker) + "'",
      "SELECT * FROM ｒｅａｄ_csv('/etc/passwd')",    // full-width look-alike letters
      "SELECT * FROM read\u200b_csv('/etc/passwd')",  // zero-width space inside the name
      "SELECT * FROM \"read_csv\"('/etc/passwd')",
      "SELECT * FROM READ_CSV('/etc/passwd')",
      "SELECT 'x'); COPY (SELECT 1) TO '" + std::string(kMarker) + "'; --",
      "SELECT * FROM orders AT (VERSION => (SELECT 1))",
      "SELECT * FROM other_super.orders",
      "SELECT * FROM ordrs",
      "SELECT current_setting('allowed_directories')",
      "SELECT getvariable('x')",
  };
  for (const auto& sql : EscapeAttempts(data, orders_file)) hostile.push_back(sql);
  ASSERT_GE(hostile.size(), 200u);
  for (const auto& sql : hostile) {
    Status s = Fails(sql);
    EXPECT_FALSE(s.ok()) << "accepted: " << sql;
    EXPECT_FALSE(s.message().empty()) << sql;
    EXPECT_EQ(s.message().find('\n'), std::string::npos) << sql << ": " << s.message();
  }
  EXPECT_FALSE(std::filesystem::exists(kMarker));
  // The warehouse is unchanged and still answers.
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders"), "3");
  // The refusals say why.
  EXPECT_NE(Fails("SELECT * FROM read_csv('/etc/passwd')")
                .message()
                .find("table function read_csv() is not allowed"),
            std::string::npos);
  EXPECT_NE(
      Fails("INSERT INTO orders VALUES (1, 'a', 1, 'b')").message().find("only read-only queries"),
      std::string::npos);
  EXPECT_NE(Fails("SELECT 1; SELECT 2").message().find("exactly one SQL statement"),
            std::string::npos);
  EXPECT_NE(Fails("SELECT * FROM ordrs").message().find("did you mean 'orders'?"),
            std::string::npos);
}

TEST_F(QueryEngine, CtesFollowSqlScoping) {
  // A CTE that shadows a real table name is read, not the table.
  EXPECT_EQ(RowsText("WITH orders AS (SELECT 42 AS id) SELECT id FROM orders"), "42");
  // Its own body reads the table it shadows.
  EXPECT_EQ(
      RowsText(
          "WITH orders AS (SELECT * FROM orders WHERE amount > 6) SELECT count(*) FROM orders"),
      "2");
  // A later CTE sees an earlier one; an inner WITH hides an outer name only inside.
  EXPECT_EQ(RowsText("WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS x FROM a) SELECT x FROM b"),
            "2");
  EXPECT_EQ(RowsText("SELECT (WITH orders AS (SELECT 7 AS id) SELECT max(id) FROM orders), "
                     "count(*) FROM orders"),
            "7,3");
  EXPECT_EQ(RowsText("WITH c AS (SELECT 1 AS x) SELECT (SELECT x FROM c), (SELECT count(*) FROM "
                     "(SELECT * FROM c) d)"),
            "1,1");
  // Outer CTEs are visible in subqueries, lateral joins, set operations and join conditions.
  EXPECT_EQ(RowsText("WITH big AS (SELECT id FROM orders WHERE amount > 6) SELECT count(*) FROM "
                     "orders WHERE id IN (SELECT id FROM big)"),
            "2");
  EXPECT_EQ(RowsText("WITH big AS (SELECT id FROM orders WHERE amount > 6) SELECT o.id, l.n FROM "
                     "orders o, LATERAL (SELECT count(*) n FROM big WHERE big.id <= o.id) l "
                     "ORDER BY 1"),
            "1,1|2,2|3,2");
  EXPECT_EQ(
      RowsText("WITH a AS (SELECT 1 x) SELECT x FROM a UNION ALL SELECT x + 1 FROM a ORDER BY "
               "1"),
      "1|2");
  // Quoted and unquoted, any case: one name.
  EXPECT_EQ(RowsText("WITH \"Orders\" AS (SELECT 5 AS id) SELECT id FROM ORDERS"), "5");
  // Recursive CTEs see themselves.
  EXPECT_EQ(RowsText("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 4) "
                     "SELECT sum(n) FROM r"),
            "10");
  // A CTE of one query is not visible in another branch: this `orders` is the table.
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders WHERE EXISTS (WITH orders AS (SELECT 1) SELECT "
                     "1)"),
            "3");
  // Time travel and schema qualification always name the table, even under a CTE's name.
  EXPECT_EQ(RowsText("WITH orders AS (SELECT 1) SELECT count(*) FROM s.orders"), "3");
  EXPECT_EQ(RowsText("WITH orders AS (SELECT 1) SELECT count(*) FROM orders AT (VERSION => 1)"),
            "3");
  EXPECT_EQ(RowsText("SELECT * FROM (PIVOT orders ON customer IN ('ann', 'bob') USING "
                     "sum(amount) GROUP BY id) ORDER BY id"),
            "1,10.5,NULL|2,NULL,20.0|3,5.0,NULL");
}

// A row filter lands inside every query of the users it restricts, so it gets a parser check
// of its own (engine/row_filter.h): one expression, no subquery, no function the guard refuses.
// The plan check behind it would still refuse what a filter reached (it saw these filters reach
// pg_settings and other organizations' files before the check existed).
TEST_F(QueryEngine, HostileRowFiltersReachNothing) {
  std::string data = MakeConfig().home + "/data";
  std::string customers_file =
      data + "/" + wh_->LoadSnapshot(wh_->Ref("s", "customers"))->files[0].key;
  const std::vector<std::pair<std::string, std::string>> filters = {
      {"(SELECT count(*) FROM pg_settings) > 0", "subquery"},
      {"EXISTS (SELECT * FROM duckdb_settings())", "subquery"},
      {"EXISTS (SELECT * FROM glob('/etc/*'))", "subquery"},
      {"EXISTS (SELECT * FROM read_parquet('" + customers_file + "'))", "subquery"},
      {"customer IN (SELECT name FROM customers)", "subquery"},
      {"current_setting('threads') IS NOT NULL", "current_setting() is not allowed"},
      {"1 = 1) UNION SELECT * FROM customers --", "syntax error"},
      {"true; DROP TABLE x", "single"},
      {"a = 1, b = 2", "exactly one"},
      {"x.customer = 'ann'", "unqualified"},
  };
  for (const auto& [filter, reason] : filters) {
    auto checked = RowFilterSql(filter, "ann");
    ASSERT_FALSE(checked.ok()) << "accepted: " << filter;
    EXPECT_NE(checked.status().message().find(reason), std::string::npos)
        << filter << ": " << checked.status().message();
    FixedAccessPolicy p;
    p.tables["s.orders"] = RowFilter(filter);
    QueryRequest req{"s", "SELECT count(*) FROM orders"};
    req.policy = &p;
    CollectSink sink;
    auto r = wh_->Query(req, sink);
    ASSERT_FALSE(r.ok()) << "accepted: " << filter;
    // The caller learns that a policy failed, never the administrator's filter text.
    EXPECT_NE(r.status().message().find("cannot be applied"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.status().message().find(filter), std::string::npos) << r.status().message();
  }
  // current_user() is the caller, as a constant; the rest of the filter is re-rendered SQL.
  auto mine = RowFilterSql("customer = current_user() OR customer = CURRENT_USER", "o'neil");
  ASSERT_TRUE(mine.ok()) << mine.status().message();
  EXPECT_NE(mine->find("'o''neil'"), std::string::npos) << *mine;
  EXPECT_EQ(mine->find("current_user"), std::string::npos) << *mine;
  // The check allows the files both tables pinned, in one query.
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders o JOIN customers c ON o.customer = c.name"), "3");
}

TEST_F(QueryEngine, ReplacementScansAreGoneFromTheQueryInstance) {
  // The guard would refuse the path before DuckDB saw it; the instance is asked directly.
  std::string data = MakeConfig().home + "/data/";
  std::string file = data + wh_->LoadSnapshot(wh_->Ref("s", "orders"))->files[0].key;
  EngineOptions eo;
  eo.readable_directories = {data};
  auto sandbox = QuerySandbox::Open(eo);
  ASSERT_TRUE(sandbox.ok()) << sandbox.status().message();
  EXPECT_TRUE((*sandbox)->VerifyLockdown(file).ok());
  EXPECT_TRUE((*sandbox)->VerifyLockdown(data + "x.csv").ok());
  EXPECT_TRUE((*sandbox)->VerifyLockdown(data + "x.json").ok());
  // And through the warehouse: a table name that is not valid, not the file's rows.
  Status s = Fails("SELECT * FROM '" + file + "'");
  EXPECT_NE(s.message().find("table name"), std::string::npos) << s.message();
}

TEST_F(QueryEngine, LimitsRefuseBeforeDuckDbBinds) {
  auto message = [&](const std::string& sql) { return Fails(sql).message(); };
  auto has = [](const std::string& m, const std::string& part) {
    return m.find(part) != std::string::npos;
  };
  // Each of these crashed DuckDB (stack overflow or SIGFPE) or would at a larger size.
  std::string deep_type =
      "[" + std::string(10000, '[') + "\"INTEGER\"" + std::string(10000, ']') + "]";
  EXPECT_TRUE(
      has(message("SELECT from_json('[]', '" + deep_type + "')"), "SUPERTABLE_MAX_SQL_DEPTH"));
  EXPECT_TRUE(
      has(message("SELECT from_json('[]', (SELECT '[\"INTEGER\"]'))"), "must be a string literal"));
  std::string arrays;
  for (int i = 0; i < 10000; ++i) arrays += "[]";
  EXPECT_TRUE(has(message("SELECT NULL::INTEGER" + arrays), "SUPERTABLE_MAX_SQL_DEPTH"));
  std::string structs = "INTEGER";
  for (int i = 0; i < 300; ++i) structs = "STRUCT(a " + structs + ")";
  EXPECT_TRUE(has(message("SELECT NULL::" + structs), "SUPERTABLE_MAX_SQL_DEPTH"));
  std::string maps = "INTEGER";
  for (int i = 0; i < 300; ++i) maps = "MAP(VARCHAR, " + maps + ")";
  EXPECT_TRUE(has(message("SELECT NULL::" + maps), "SUPERTABLE_MAX_SQL_DEPTH"));
  EXPECT_TRUE(has(message("SELECT " + std::string(100000, '(') + "1" + std::string(100000, ')')),
                  "SUPERTABLE_MAX_SQL_DEPTH"));
  std::string subqueries = "1";
  for (int i = 0; i < 100000; ++i) subqueries = "(SELECT " + subqueries;
  subqueries += std::string(100000, ')');
  EXPECT_TRUE(has(message("SELECT " + subqueries), "SUPERTABLE_MAX_SQL_DEPTH"));
  // Deep without parentheses: a long chain of operators or NOTs, under and over the 1000 levels
  // where DuckDB's transformer stops by itself.
  for (int n : {300, 5000}) {
    std::string chain = "1";
    for (int i = 0; i < n; ++i) chain += " + 1";
    EXPECT_TRUE(has(message("SELECT " + chain), "SUPERTABLE_MAX_SQL_DEPTH")) << n;
    std::string nots;
    for (int i = 0; i < n; ++i) nots += "NOT ";
    EXPECT_TRUE(has(message("SELECT " + nots + "true"), "SUPERTABLE_MAX_SQL_DEPTH")) << n;
  }
  // Wide: the hash aggregate's SIGFPE, and sheer size.
  std::string wide = "SELECT k";
  for (int i = 0; i < 4000; ++i) wide += ", corr(a, " + std::to_string(i) + ")";
  wide += " FROM (SELECT 1 k, 1.0 a) GROUP BY k";
  EXPECT_TRUE(has(message(wide), "SUPERTABLE_MAX_SQL_EXPRESSIONS"));
  EXPECT_TRUE(
      has(message("SELECT '" + std::string(2 << 20, 'x') + "'"), "SUPERTABLE_MAX_SQL_BYTES"));
  // The same through validate and explain shapes.
  EXPECT_TRUE(has(message("EXPLAIN SELECT from_json('[]', '" + deep_type + "')"),
                  "SUPERTABLE_MAX_SQL_DEPTH"));
  // Ordinary queries are far inside the limits, and the engine still answers.
  std::string moderate = "SELECT k";
  for (int i = 0; i < 200; ++i) moderate += ", corr(a, " + std::to_string(i) + ")";
  moderate += " FROM (SELECT 1 k, 1.0 a) GROUP BY k";
  EXPECT_EQ(Rows(moderate).size(), 1u);
  EXPECT_EQ(RowsText("SELECT from_json('[1, 2]', '[\"INTEGER\"]')"), "[1,2]");
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders"), "3");
}

TEST_F(QueryEngine, UnknownColumnsSuggestFromTheCandidatesOnly) {
  // Regression: quotes elsewhere in DuckDB's message were read as candidate names.
  EXPECT_EQ(Fails("SELECT count(\"custmer\") FROM orders").message(),
            "unknown column 'custmer'; did you mean 'customer'?");
}

// Two organizations share one home (and so one data root): the second may not read the
// first's files or learn about them by any of the ways in.
TEST_F(QueryEngine, OrganizationsCannotReadEachOther) {
  Config vc = MakeConfig();
  vc.organization = "victim";
  auto victim = Warehouse::Open(vc);
  ASSERT_TRUE(victim.ok()) << victim.status().message();
  std::string input = dir_->Write("victim.csv", "id,secret\n1,victim-secret-value\n");
  WriteRequest req;
  req.input_path = input;
  ASSERT_TRUE((*victim)->Write((*victim)->Ref("vs", "orders"), req).ok());
  std::string data = vc.home + "/data";
  std::string victim_file = (*victim)->LoadSnapshot((*victim)->Ref("vs", "orders"))->files[0].key;
  ASSERT_EQ(victim_file.rfind("victim/", 0), 0u) << victim_file;
  std::vector<std::string> attempts = EscapeAttempts(data, victim_file);
  for (const std::string& glob :
       {data + "/victim/*/*/data/*.parquet", data + "/victim/" + victim_file.substr(7)}) {
    attempts.push_back("SELECT (WITH \"" + glob + "\" AS (SELECT 1) SELECT 1) x, * FROM '" + glob +
                       "'");
    attempts.push_back("SELECT * FROM read_parquet('" + glob + "')");
    attempts.push_back("SELECT * FROM vs.orders");
    attempts.push_back("SELECT * FROM victim.vs.orders");
  }
  for (const auto& sql : attempts) {
    CollectSink sink;
    auto r = wh_->Query({"s", sql}, sink);
    EXPECT_FALSE(r.ok()) << "accepted: " << sql;
    for (const auto& row : sink.rows)
      for (const auto& cell : row)
        EXPECT_EQ(cell.dump().find("victim-secret"), std::string::npos) << sql;
  }
  // The victim's own queries work.
  CollectSink own;
  ASSERT_TRUE((*victim)->Query({"vs", "SELECT secret FROM orders"}, own).ok());
  ASSERT_EQ(own.rows.size(), 1u);
  EXPECT_EQ(own.rows[0][0], "victim-secret-value");
}

TEST_F(QueryEngine, McpCallersSeeNoServerPaths) {
  auto server = MakeWarehouseMcpServer(*wh_, McpToolOptions{});
  mcp::Session session([](const nlohmann::json&, const nlohmann::json&) {});
  auto admin = std::make_shared<security::Principal>();
  admin->user = "local";
  admin->auth = "local";
  admin->superuser = true;
  session.identity = admin;
  auto request = [&](const std::string& method, nlohmann::json params) {
    mcp::Message m;
    m.id = 1;
    m.method = method;
    m.params = std::move(params);
    return *server->Handle(session, m);
  };
  request("initialize",
          {{"protocolVersion", "2025-11-25"}, {"capabilities", nlohmann::json::object()}});
  mcp::Message note;
  note.kind = mcp::Message::Kind::kNotification;
  note.method = "notifications/initialized";
  server->Handle(session, note);
  const std::string home = MakeConfig().home;
  std::string file = home + "/data/" + wh_->LoadSnapshot(wh_->Ref("s", "orders"))->files[0].key;
  auto call = [&](const std::string& tool, nlohmann::json args) {
    return request("tools/call", {{"name", tool}, {"arguments", std::move(args)}}).dump();
  };
  std::vector<std::string> answers = {
      call("info", nlohmann::json::object()),
      call("query_sql", {{"super", "s"}, {"sql", "SELECT * FROM read_parquet('" + file + "')"}}),
      call("query_sql", {{"super", "s"}, {"sql", "SELECT * FROM '" + file + "'"}}),
      call("query_sql", {{"super", "s"}, {"sql", "EXPLAIN SELECT * FROM orders"}}),
      call("explain_sql", {{"super", "s"}, {"sql", "SELECT * FROM orders"}}),
      call("validate_sql", {{"super", "s"}, {"sql", "SELECT * FROM '" + file + "'"}}),
      call("query_sql", {{"super", "s"},
                         {"sql",
                          "SELECT (WITH pg_settings AS (SELECT 1) SELECT 1) x, name, "
                          "setting FROM pg_settings"}}),
      call("validate_sql",
           {{"super", "s"},
            {"sql",
             "SELECT (WITH pg_settings AS (SELECT 1) SELECT 1) x, name, setting FROM "
             "pg_settings"}}),
      call("explain_sql", {{"super", "s"},
                           {"sql", "SELECT (WITH \"" + file +
                                       "\" AS (SELECT 1) SELECT 1) x, * "
                                       "FROM '" +
                                       file + "'"}}),
  };
  for (const auto& a : answers) {
    EXPECT_EQ(a.find(home), std::string::npos) << a;
    EXPECT_EQ(a.find("\"valid\":true"), std::string::npos) << a;
  }
  EXPECT_NE(answers[0].find("<data>"), std::string::npos) << answers[0];
}

TEST_F(QueryEngine, RunawayQueriesAreStoppedByTheTimeout) {
  QueryRequest req;
  req.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  Status s = Fails(
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
      req);
  EXPECT_EQ(s.code(), StatusCode::kTimeout) << s.message();
  EXPECT_NE(s.message().find("time limit of 300 ms"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  Status cross = Fails("SELECT count(*) FROM range(100000000) a, range(100000000) b", req);
  EXPECT_EQ(cross.code(), StatusCode::kTimeout) << cross.message();
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders"), "3");  // the engine is fine afterwards
}

TEST_F(QueryEngine, AllowedShapes) {
  EXPECT_EQ(RowsText("SELECT o.id, c.country FROM orders o JOIN customers c ON o.customer = c.name "
                     "ORDER BY o.id"),
            "1,DE|2,US|3,DE");
  EXPECT_EQ(RowsText("SELECT orders.id FROM orders WHERE orders.amount > 6 ORDER BY 1"), "1|2");
  EXPECT_EQ(
      RowsText("WITH big AS (SELECT * FROM orders WHERE amount > 6) SELECT count(*) FROM big"),
      "2");
  EXPECT_EQ(RowsText("SELECT count(*) FROM s.orders"), "3");
  EXPECT_EQ(RowsText("SELECT count(*) FROM S.Orders"), "3");  // SQL names are case-insensitive
  EXPECT_EQ(RowsText("SELECT sum(x) FROM range(4) t(x)"), "6");
  EXPECT_EQ(RowsText("SELECT count(*) FROM (VALUES (1), (2)) v(x)"), "2");
  EXPECT_FALSE(Rows("EXPLAIN SELECT * FROM orders").empty());
  EXPECT_EQ(Rows("DESCRIBE orders").size(), 4u);
  EXPECT_EQ(Rows("DESCRIBE SELECT id FROM orders").size(), 1u);
  EXPECT_EQ(Rows("SUMMARIZE orders").size(), 4u);
  EXPECT_EQ(RowsText("SELECT id FROM orders UNION SELECT 9 ORDER BY 1"), "1|2|3|9");
  // A table without a policy is read in place as a subquery: what the reference says besides
  // its name stays with it (column aliases, a sample, the alias columns qualify by).
  EXPECT_EQ(RowsText("SELECT o.n FROM orders AS o(n) ORDER BY 1"), "1|2|3");
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders USING SAMPLE 100 PERCENT (bernoulli)"), "3");
  EXPECT_EQ(RowsText("SELECT a.id, b.id FROM orders a JOIN orders b ON a.id + 1 = b.id "
                     "ORDER BY 1"),
            "1,2|2,3");
  EXPECT_EQ(RowsText("SELECT (SELECT count(*) FROM orders i WHERE i.customer = o.customer) "
                     "FROM orders o ORDER BY o.id"),
            "2|1|2");
  // An unnamed column is named after the text the user wrote, never after the rewritten scan
  // (which would show the files' paths).
  {
    CollectSink sink;
    QueryRequest req;
    req.super_name = "s";
    req.sql =
        "SELECT (SELECT count(*) FROM orders), 1 IN (SELECT id FROM orders o WHERE o.id > 1), t.* "
        "FROM (SELECT (SELECT max(id) FROM orders)) t";
    ASSERT_TRUE(wh_->Query(req, sink).ok());
    ASSERT_EQ(sink.columns.size(), 3u);
    EXPECT_EQ(sink.columns[0].name, "(SELECT count_star() FROM orders)");
    EXPECT_EQ(sink.columns[2].name, "(SELECT max(id) FROM orders)");
    for (const auto& c : sink.columns) {
      EXPECT_EQ(c.name.find("read_parquet"), std::string::npos) << c.name;
      EXPECT_EQ(c.name.find("__st_"), std::string::npos) << c.name;
    }
  }
  // Deleted rows stay deleted: the anti join's list of delete files is put in place too.
  Ingest("orders", "id\n2\n", WriteMode::kDeleteOnly, {"id"});
  EXPECT_EQ(RowsText("SELECT id FROM orders ORDER BY 1"), "1|3");
  EXPECT_EQ(RowsText("SELECT id FROM orders AT (VERSION => 1) ORDER BY 1"), "1|2|3");
}

TEST_F(QueryEngine, NamesAcrossSupers) {
  Ingest("events", "id\n1\n2\n", WriteMode::kAppend, {}, std::nullopt, "other");
  EXPECT_EQ(RowsText("SELECT count(*) FROM other.events"), "2");
  EXPECT_EQ(RowsText("SELECT count(*) FROM other.events e JOIN orders o ON e.id = o.id"), "2");
  Status s = Fails("SELECT * FROM events");  // not in the current super
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.message();
  Status t = Fails("SELECT * FROM nosuper.events");
  EXPECT_NE(t.message().find("unknown super table 'nosuper'"), std::string::npos) << t.message();
}

TEST_F(QueryEngine, PinnedSnapshotIgnoresConcurrentCommits) {
  std::string csv = "id,customer,amount,secret\n";
  for (int i = 10; i < 5000; ++i) csv += std::to_string(i) + ",c,1,s\n";
  Ingest("orders", csv);
  int64_t before = std::stoll(RowsText("SELECT count(*) FROM orders"));
  CollectSink sink;
  // While the first rows stream out, other writers append, upsert, delete and compact.
  sink.on_row = [&](size_t n) {
    if (n != 1) return;
    Ingest("orders", "id,customer,amount,secret\n100000,new,1,s\n");
    Ingest("orders", "id,customer,amount,secret\n1,changed,1,s\n", WriteMode::kUpsert, {"id"});
    Ingest("orders", "id\n2\n", WriteMode::kDeleteOnly, {"id"});
    ASSERT_TRUE(wh_->Compact(wh_->Ref("s", "orders"), {}).ok());
    ASSERT_TRUE(
        wh_->Gc(wh_->Ref("s", "orders"), {}).ok());  // default retention keeps the pinned version
  };
  ASSERT_TRUE(wh_->Query({"s", "SELECT id, customer FROM orders"}, sink).ok());
  EXPECT_EQ(static_cast<int64_t>(sink.rows.size()), before);
  bool saw_new = false, saw_changed = false;
  for (const auto& r : sink.rows) {
    saw_new |= r[0] == 100000;
    saw_changed |= r[1] == "changed";
  }
  EXPECT_FALSE(saw_new);
  EXPECT_FALSE(saw_changed);
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders"), std::to_string(before));  // +1 -1 now
}

TEST_F(QueryEngine, TimeTravel) {
  Ingest("orders", "id,customer,amount,secret\n4,cat,1,w\n");   // v2
  Ingest("orders", "id\n1\n", WriteMode::kDeleteOnly, {"id"});  // v3
  auto history = *wh_->History(wh_->Ref("s", "orders"));
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders"), "3");
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders AT (VERSION => 1)"), "3");
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders AT (VERSION => 2)"), "4");
  EXPECT_EQ(
      RowsText("SELECT (SELECT count(*) FROM orders AT (VERSION => 2)) - count(*) FROM orders"),
      "1");
  std::string ts = FormatTimestamp(history[1].committed_micros);
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders AT (TIMESTAMP => '" + ts + "')"), "4");
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders AT (TIMESTAMP => TIMESTAMPTZ '" + ts + "')"),
            "4");
  QueryRequest req{"s", "SELECT count(*) FROM orders"};
  req.as_of = AsOf{1, std::nullopt};
  CollectSink sink;
  ASSERT_TRUE(wh_->Query(req, sink).ok());
  EXPECT_EQ(sink.rows[0][0], 3);
  Status missing = Fails("SELECT * FROM orders AT (VERSION => 42)");
  EXPECT_NE(missing.message().find("has no version 42"), std::string::npos) << missing.message();
  Status early = Fails("SELECT * FROM orders AT (TIMESTAMP => '2001-01-01')");
  EXPECT_NE(early.message().find("has no version as of 2001-01-01"), std::string::npos)
      << early.message();
  Status unit = Fails("SELECT * FROM orders AT (ROWS => 1)");
  EXPECT_FALSE(unit.ok());
  EXPECT_NE(unit.message().find("ROWS"), std::string::npos) << unit.message();
}

TEST_F(QueryEngine, AccessPolicies) {
  FixedAccessPolicy p;
  TablePolicy orders;
  orders.views.push_back(
      {"customer = current_user()", std::vector<std::string>{"id", "customer", "amount"}, {}});
  orders.user = "ann";
  p.tables["s.orders"] = orders;
  auto run = [&](const std::string& sql, CollectSink& sink) {
    QueryRequest req{"s", sql};
    req.policy = &p;
    return wh_->Query(req, sink);
  };
  CollectSink all;
  ASSERT_TRUE(run("SELECT * FROM orders ORDER BY id", all).ok());
  ASSERT_EQ(all.columns.size(), 3u);  // no 'secret'
  ASSERT_EQ(all.rows.size(), 2u);     // only ann's rows
  // A hidden column behaves as if it did not exist, and is never suggested.
  CollectSink s1;
  auto hidden = run("SELECT secret FROM orders", s1);
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.status().message().find("unknown column 'secret'"), 0u)
      << hidden.status().message();
  CollectSink s1b;
  auto near = run("SELECT secre FROM orders", s1b);
  ASSERT_FALSE(near.ok());
  EXPECT_EQ(near.status().message().find("secret"), std::string::npos) << near.status().message();
  // DESCRIBE and SUMMARIZE see the view: the hidden column is not there either.
  for (const char* sql : {"DESCRIBE orders", "DESCRIBE SELECT * FROM orders", "SUMMARIZE orders"}) {
    CollectSink d;
    ASSERT_TRUE(run(sql, d).ok()) << sql;
    EXPECT_EQ(d.rows.size(), 3u) << sql;
    EXPECT_EQ(nlohmann::json(d.rows).dump().find("secret"), std::string::npos) << sql;
  }
  CollectSink s2;
  auto other = run("SELECT * FROM customers", s2);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message(),
            "unknown table 'customers'");  // indistinguishable from missing
  CollectSink s3;
  ASSERT_TRUE(run("SELECT count(*) FROM orders WHERE customer = 'bob'", s3).ok());
  EXPECT_EQ(s3.rows[0][0], 0);
  CollectSink s4;
  ASSERT_TRUE(run("SELECT count(*) FROM orders AT (VERSION => 1)", s4)
                  .ok());  // time travel keeps the policy
  EXPECT_EQ(s4.rows[0][0], 2);
  // Statistics that would count or show filtered rows are withheld.
  auto d = wh_->Describe(wh_->Ref("s", "orders"), &p);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_TRUE(d->summary.stats_withheld);
  EXPECT_EQ(d->summary.rows, 0);
  ASSERT_EQ(d->columns.size(), 3u);
  for (const auto& c : d->columns) EXPECT_FALSE(c.min || c.max) << c.column.name;
  auto listed = wh_->ListTables("s", &p);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);  // customers does not exist for this caller
  EXPECT_TRUE((*listed)[0].stats_withheld);
  auto missing = wh_->Describe(wh_->Ref("s", "customers"), &p);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "unknown table 'customers' in super table 's'");
  auto history = wh_->History(wh_->Ref("s", "orders"), &p);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().summary_json, "{}");
}

// Masks keep the column's type and hold through every shape of query; several roles combine
// row by row (docs/SECURITY.md, "Several roles").
TEST_F(QueryEngine, MasksAndTheUnionOfRoles) {
  Ingest("people",
         "id,name,card,age,city\n1,ann,4111-2222-3333-4444,31,Berlin\n2,bob,5500-6666-7777-8888,"
         "45,Paris\n3,cy,x12,27,Rome\n");
  FixedAccessPolicy p;
  TablePolicy tp;
  tp.mask_salt = "pepper";
  tp.views.push_back({"",
                      std::nullopt,
                      {{"card", {ColumnMask::Kind::kPartial, ""}},
                       {"name", {ColumnMask::Kind::kHash, ""}},
                       {"age", {ColumnMask::Kind::kHash, ""}},
                       {"city", {ColumnMask::Kind::kConstant, "somewhere"}}}});
  p.tables["s.people"] = tp;
  auto rows = [&](const std::string& sql) {
    QueryRequest req{"s", sql};
    req.policy = &p;
    CollectSink sink;
    auto r = wh_->Query(req, sink);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().message();
    std::string out;
    for (const auto& row : sink.rows) {
      for (size_t i = 0; i < row.size(); ++i)
        out += (i ? "," : "") + (row[i].is_string() ? row[i].get<std::string>() : row[i].dump());
      out += "|";
    }
    return std::make_pair(out, sink.columns);
  };
  auto [plain, cols] = rows("SELECT id, card, city FROM people ORDER BY id");
  EXPECT_EQ(plain,
            "1,***************4444,somewhere|2,***************8888,somewhere|3,***,somewhere|");
  auto [typed, tcols] = rows("SELECT * FROM people LIMIT 1");
  // A NULL stays NULL under every mask: hashing it would make every NULL one telling value.
  Ingest("people", "id,name,card,age,city\n4,,,,\n");
  EXPECT_EQ(rows("SELECT name, card, age, city FROM people WHERE id = 4").first,
            "null,null,null,null|");
  ASSERT_EQ(tcols.size(), 5u);
  EXPECT_EQ(tcols[3].type, "BIGINT");  // a hashed integer is still an integer
  // The same value hashes the same way (joins and counts still work), unlike values differ,
  // and no query shape sees the raw value.
  EXPECT_EQ(rows("SELECT count(DISTINCT name) FROM people").first, "3|");
  std::string ann_hash = rows("SELECT name FROM people WHERE id = 1").first;
  EXPECT_EQ(ann_hash.size(), 65u) << ann_hash;  // 64 hex characters and the row mark
  for (const char* sql : {
           "SELECT name FROM people WHERE name = 'ann'",
           "WITH t AS (SELECT * FROM people) SELECT name FROM t WHERE name = 'ann'",
           "SELECT name FROM (SELECT name FROM people) WHERE name LIKE 'an%'",
           "SELECT name FROM people WHERE id < 0 UNION ALL SELECT name FROM people WHERE name = "
           "'ann'",
           "SELECT max(name) FROM people WHERE name = 'ann' HAVING count(*) > 0",
           "SELECT p.name FROM people p JOIN people q ON p.id = q.id WHERE p.name = 'ann'",
           "SELECT x.n FROM people, LATERAL (SELECT name AS n) x WHERE x.n = 'ann'",
       }) {
    EXPECT_EQ(rows(sql).first, "") << sql;
  }
  EXPECT_EQ(rows("SELECT count(*) FROM people WHERE card LIKE '4111%'").first, "0|");
  QueryRequest summarize{"s", "SUMMARIZE SELECT name, card FROM people"};
  summarize.policy = &p;
  CollectSink ssink;
  ASSERT_TRUE(wh_->Query(summarize, ssink).ok());
  std::string summary = nlohmann::json(ssink.rows).dump();
  EXPECT_EQ(summary.find("ann"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("4111"), std::string::npos) << summary;
  QueryRequest explain{"s", "EXPLAIN SELECT * FROM people"};
  explain.policy = &p;
  CollectSink esink;
  EXPECT_FALSE(wh_->Query(explain, esink).ok());  // the plan would print the masks' SQL

  // Two roles: one sees Berlin rows unmasked, one sees every row with city masked and no card.
  TablePolicy two;
  two.views.push_back({"city = 'Berlin'", std::nullopt, {}});
  two.views.push_back({"",
                       std::vector<std::string>{"id", "name", "city"},
                       {{"city", {ColumnMask::Kind::kNull, ""}}}});
  p.tables["s.people"] = two;
  EXPECT_EQ(rows("SELECT id, name, card, city FROM people ORDER BY id").first,
            "1,ann,4111-2222-3333-4444,Berlin|2,bob,null,null|3,cy,null,null|4,null,null,null|");
  // A column unmasked by any role that admits the row shows; one no admitting role shows is NULL.
  TablePolicy meta_like;
  meta_like.views.push_back({"age > 40", std::vector<std::string>{"id"}, {}});
  meta_like.views.push_back({"age < 30", std::vector<std::string>{"id", "name"}, {}});
  p.tables["s.people"] = meta_like;
  EXPECT_EQ(rows("SELECT * FROM people ORDER BY id").first, "2,null|3,cy|");
}

TEST_F(QueryEngine, RowAndByteLimits) {
  QueryRequest req{"s", "SELECT * FROM range(1000) t(x)", 10};
  CollectSink sink;
  auto r = wh_->Query(req, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(sink.rows.size(), 10u);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->truncated_reason, "row limit");
  QueryRequest exact{"s", "SELECT * FROM range(10) t(x)", 10};
  CollectSink s2;
  EXPECT_FALSE(wh_->Query(exact, s2)->truncated);  // exactly the limit is not truncated
  QueryRequest bytes{"s", "SELECT repeat('x', 100) FROM range(1000)"};
  bytes.result_byte_limit = 1000;
  CollectSink s3;
  auto rb = wh_->Query(bytes, s3);
  ASSERT_TRUE(rb.ok());
  EXPECT_TRUE(rb->truncated);
  EXPECT_EQ(rb->truncated_reason, "result byte limit");
  EXPECT_LT(s3.rows.size(), 10u);
}

TEST_F(QueryEngine, BusyWhenQueueIsFull) {
  Config c = MakeConfig();
  c.max_concurrent_queries = 1;
  c.query_queue = 0;
  auto w = Warehouse::Open(c);
  ASSERT_TRUE(w.ok());
  std::atomic<bool> done{false};
  std::thread slow([&] {
    QueryRequest req{"s", "SELECT count(*) FROM range(100000000) a, range(100000000) b"};
    req.timeout_ms = 5000;
    // The quick queries below may hold the slot at first: retry until this one runs.
    for (int i = 0; i < 500; ++i) {
      CollectSink sink;
      auto r = (*w)->Query(req, sink);
      if (r.ok() || r.status().message().find("busy") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    done = true;
  });
  // Until the slow query holds the only slot, a quick one gets through; then it must be refused.
  // Bounded: the slow query stops itself after 5 s.
  CollectSink sink;
  Result<QueryStats> busy = QueryStats{};
  while (!done) {
    busy = (*w)->Query({"s", "SELECT 1"}, sink);
    if (!busy.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  slow.join();
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.status().message().find("busy"), std::string::npos) << busy.status().message();
  EXPECT_TRUE((*w)->Query({"s", "SELECT 1"}, sink).ok());  // a slot is free again
}

}  // namespace supertable

namespace supertable {
namespace {

// Named parameters ($name) are bound by DuckDB: a value is never SQL, whatever it holds.
TEST_F(QueryEngine, ParametersAreBoundNeverSpliced) {
  auto rows = [&](const std::string& sql, const std::string& params) {
    QueryRequest req{"s", sql};
    req.parameters_json = params;
    CollectSink sink;
    auto r = wh_->Query(req, sink);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().message();
    std::string out;
    for (const auto& row : sink.rows) {
      if (!out.empty()) out += "|";
      for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + row[i].dump();
    }
    return out;
  };
  EXPECT_EQ(rows("SELECT id FROM orders WHERE amount > $min AND customer = $who ORDER BY id",
                 R"({"min": 6, "who": "ann"})"),
            "1");
  // An injection attempt is a value like any other: it matches no customer.
  EXPECT_EQ(
      rows("SELECT count(*) FROM orders WHERE customer = $who", R"({"who": "ann' OR 1=1 --"})"),
      "0");
  EXPECT_EQ(rows("SELECT count(*) FROM orders WHERE customer IN (SELECT unnest($names))",
                 R"({"names": ["ann", "bob"]})"),
            "3");
  EXPECT_EQ(rows("SELECT $flag, $nothing IS NULL, $x + 1",
                 R"({"flag": true, "nothing": null, "x": 1.5})"),
            "true,true,2.5");
  // Names compare as SQL's do, ignoring case.
  EXPECT_EQ(rows("SELECT count(*) FROM orders WHERE id = $ID", R"({"id": 2})"), "1");

  QueryRequest missing{"s", "SELECT count(*) FROM orders WHERE amount > $min"};
  CollectSink sink;
  auto r = wh_->Query(missing, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("min"), std::string::npos) << r.status().message();
  for (const char* bad : {R"({"x": {"nested": 1}})", R"({"x": [1, "two"]})", R"([1])"}) {
    QueryRequest req{"s", "SELECT $x"};
    req.parameters_json = bad;
    auto f = wh_->Query(req, sink);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  QueryRequest extra{"s", "SELECT 1"};
  extra.parameters_json = R"({"unused": 1})";
  EXPECT_FALSE(wh_->Query(extra, sink).ok());
}

}  // namespace
}  // namespace supertable

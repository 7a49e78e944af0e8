// The query engine: the sandbox (hostile SQL), pinned snapshots, time travel, names across
// supers, access policies and limits.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "support/test_support.h"

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

}  // namespace

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
  const std::vector<std::string> hostile = {
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
  ASSERT_GE(hostile.size(), 40u);
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

TEST_F(QueryEngine, UnknownColumnsSuggestFromTheCandidatesOnly) {
  // Regression: quotes elsewhere in DuckDB's message were read as candidate names.
  EXPECT_EQ(Fails("SELECT count(\"custmer\") FROM orders").message(),
            "unknown column 'custmer'; did you mean 'customer'?");
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
  AccessPolicy p;
  p.tables = std::vector<std::string>{"s.orders"};
  p.table_policies["s.orders"] =
      TablePolicy{std::vector<std::string>{"id", "customer", "amount"}, "customer = 'ann'"};
  auto run = [&](const std::string& sql, CollectSink& sink) {
    QueryRequest req{"s", sql};
    req.policy = &p;
    return wh_->Query(req, sink);
  };
  CollectSink all;
  ASSERT_TRUE(run("SELECT * FROM orders ORDER BY id", all).ok());
  ASSERT_EQ(all.columns.size(), 3u);  // no 'secret'
  ASSERT_EQ(all.rows.size(), 2u);     // only ann's rows
  CollectSink s1;
  auto hidden = run("SELECT secret FROM orders", s1);
  ASSERT_FALSE(hidden.ok());
  EXPECT_NE(hidden.status().message().find("column 'secret' of table 's.orders' is not accessible"),
            std::string::npos)
      << hidden.status().message();
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

// Append, upsert (overwrite_columns), newer_than and delete_only against expected row sets.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace supertable {

using testing::WarehouseTest;

class WriteModes : public WarehouseTest {};

TEST_F(WriteModes, AppendCreatesVersions) {
  auto r1 = Ingest("t", "id,v\n1,a\n2,b\n");
  EXPECT_EQ(r1.version, 1);
  EXPECT_EQ(r1.outcome.inserted, 2);
  auto r2 = Ingest("t", "id,v\n3,c\n");
  EXPECT_EQ(r2.version, 2);
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), "1,a|2,b|3,c");
  auto hist = wh_->History(wh_->Ref("s", "t"));
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[1].operation, "append");
  // Version 1 is still readable as it was.
  auto v1 = wh_->LoadSnapshot(wh_->Ref("s", "t"), 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->live_rows(), 2);
  EXPECT_EQ(v1->parent_version, 0);
}

TEST_F(WriteModes, SystemColumnsHiddenUnlessAsked) {
  Ingest("t", "id\n1\n2\n");
  auto rows = Rows("SELECT * FROM t");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].size(), 1u);
  class Count : public ResultSink {
   public:
    std::vector<Column> cols;
    void Begin(const std::vector<Column>& c) override { cols = c; }
    void Row(const std::vector<nlohmann::json>&) override {}
    void End(bool) override {}
  } sink;
  ASSERT_TRUE(wh_->Query({"s", "SELECT * FROM t", -1, true}, sink).ok());
  ASSERT_EQ(sink.cols.size(), 3u);
  EXPECT_EQ(sink.cols[1].name, "__st_row_id");
  EXPECT_EQ(sink.cols[2].name, "__st_commit_time");
  EXPECT_EQ(sink.cols[2].type, "TIMESTAMP WITH TIME ZONE");
  Ingest("t", "id\n3\n");
  // Row ids are unique across commits, and a plain query cannot see them.
  class Cells : public ResultSink {
   public:
    std::vector<nlohmann::json> row;
    void Begin(const std::vector<Column>&) override {}
    void Row(const std::vector<nlohmann::json>& r) override { row = r; }
    void End(bool) override {}
  } cells;
  ASSERT_TRUE(
      wh_->Query({"s", "SELECT count(DISTINCT __st_row_id), count(*) FROM t", -1, true}, cells)
          .ok());
  EXPECT_EQ(cells.row.at(0), cells.row.at(1));
  EXPECT_EQ(cells.row.at(1), 3);
  EXPECT_FALSE(wh_->Query({"s", "SELECT __st_row_id FROM t", -1, false}, cells).ok());
}

TEST_F(WriteModes, UpsertReplacesEveryMatchingRow) {
  Ingest("t", "id,v\n1,a\n2,b\n2,b2\n3,c\n");  // a plain append may hold duplicate keys
  auto r = Ingest("t", "id,v\n2,B\n4,D\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(r.outcome.deleted, 2);  // both stored rows with id 2
  EXPECT_EQ(r.outcome.inserted, 2);
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), "1,a|2,B|3,c|4,D");
}

TEST_F(WriteModes, UpsertLastDuplicateInBatchWins) {
  Ingest("t", "id,v\n1,a\n");
  auto r = Ingest("t", "id,v\n1,x\n5,first\n1,y\n5,second\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(r.outcome.skipped_duplicates, 2);
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), "1,y|5,second");
}

TEST_F(WriteModes, UpsertNullKeyMatchesNull) {
  Ingest("t", "k1,k2,v\n1,,a\n,,b\n1,2,c\n");
  Ingest("t", "k1,k2,v\n1,,A\n,,B\n", WriteMode::kUpsert, {"k1", "k2"});
  EXPECT_EQ(RowsText("SELECT k1, k2, v FROM t ORDER BY v"), "1,NULL,A|NULL,NULL,B|1,2,c");
}

TEST_F(WriteModes, UpsertIntoNewTableIsAnInsert) {
  auto r = Ingest("fresh", "id,v\n1,a\n1,b\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(RowsText("SELECT id, v FROM fresh"), "1,b");
}

TEST_F(WriteModes, NewerThanSkipsStaleRows) {
  Ingest("t", "id,ts,v\n1,10,old\n2,20,old\n3,,old\n");
  auto r = Ingest("t", "id,ts,v\n1,11,new\n2,20,same\n3,5,new\n4,1,new\n", WriteMode::kUpsert,
                  {"id"}, "ts");
  // 1: newer -> replaced. 2: stored ts (20) >= incoming (20) -> dropped. 3: stored NULL is oldest
  // -> replaced.
  EXPECT_EQ(r.outcome.skipped_stale, 1);
  EXPECT_EQ(r.outcome.deleted, 2);
  EXPECT_EQ(RowsText("SELECT id, ts, v FROM t ORDER BY id"), "1,11,new|2,20,old|3,5,new|4,1,new");
  // An incoming NULL is never newer than a stored value, nor than a stored NULL (NULL is oldest,
  // and equal is not newer).
  Ingest("t", "id,ts,v\n1,,null\n", WriteMode::kUpsert, {"id"}, "ts");
  EXPECT_EQ(RowsText("SELECT v FROM t WHERE id = 1"), "new");
  Ingest("t", "id,ts,v\n7,,first\n");
  auto both_null = Ingest("t", "id,ts,v\n7,,second\n", WriteMode::kUpsert, {"id"}, "ts");
  EXPECT_EQ(both_null.outcome.skipped_stale, 1);
  EXPECT_EQ(RowsText("SELECT v FROM t WHERE id = 7"), "first");
}

TEST_F(WriteModes, DeleteOnlyRemovesKeys) {
  Ingest("t", "id,v\n1,a\n2,b\n3,c\n");
  auto r = Ingest("t", "id\n2\n3\n9\n", WriteMode::kDeleteOnly, {"id"});
  EXPECT_EQ(r.outcome.deleted, 2);
  EXPECT_EQ(r.outcome.inserted, 0);
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), "1,a");
  auto d = wh_->Describe(wh_->Ref("s", "t"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->summary.rows, 1);
  EXPECT_EQ(d->deleted_rows, 2);
  // Other columns of a delete file are ignored, even ones that would not fit the table.
  auto extra = Ingest("t", "id,v,junk\n1,not checked,{x}\n", WriteMode::kDeleteOnly, {"id"});
  EXPECT_EQ(extra.outcome.deleted, 1);
  EXPECT_FALSE(extra.outcome.schema_changed);
  EXPECT_EQ(RowsText("SELECT count(*) FROM t"), "0");
  Ingest("t", "id,v\n1,a\n");
  // Deleting keys that are not there commits nothing.
  auto none = Ingest("t", "id\n42\n", WriteMode::kDeleteOnly, {"id"});
  EXPECT_FALSE(none.committed);
  EXPECT_EQ(none.version, 4);
}

TEST_F(WriteModes, DeleteOnlyWithNewerThan) {
  // Regression: the newer_than column must survive the key-only projection of a delete.
  Ingest("t", "id,ts\n1,5\n2,5\n");
  auto r = Ingest("t", "id,ts\n1,9\n2,1\n", WriteMode::kDeleteOnly, {"id"}, "ts");
  EXPECT_EQ(r.outcome.deleted, 1);  // id 2's stored row is newer than the delete
  EXPECT_EQ(RowsText("SELECT id FROM t"), "2");
}

TEST_F(WriteModes, DeleteFromMissingTableIsAnError) {
  auto r = TryIngest("nope", "id\n1\n", WriteMode::kDeleteOnly, {"id"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(WriteModes, StatisticsPruneFilesAnUpsertReads) {
  Ingest("t", "id,v\n1,a\n2,b\n");
  Ingest("t", "id,v\n100,a\n200,b\n");
  Ingest("t", "id,v\n1000,a\n2000,b\n");
  auto r = Ingest("t", "id,v\n150,x\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(r.outcome.files_scanned, 1);
  EXPECT_EQ(r.outcome.files_pruned, 2);
  EXPECT_EQ(r.outcome.deleted, 0);
  auto r2 = Ingest("t", "id,v\n200,y\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(r2.outcome.deleted, 1);
  EXPECT_EQ(RowsText("SELECT id, v FROM t WHERE id BETWEEN 100 AND 200 ORDER BY id"),
            "100,a|150,x|200,y");
}

// Keys from two stretches of the key space: their overall range covers the file between them,
// whose own range holds none of them; it is not read. Strings and a NULL key too.
TEST_F(WriteModes, UpsertKeysAtBothEndsSkipTheFilesBetween) {
  Ingest("t", "id,v\n1,a\n2,b\n");
  Ingest("t", "id,v\n100,a\n200,b\n");
  Ingest("t", "id,v\n1000,a\n2000,b\n");
  auto r = Ingest("t", "id,v\n2,x\n1500,y\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(r.outcome.files_scanned, 2);
  EXPECT_EQ(r.outcome.files_pruned, 1);
  EXPECT_EQ(r.outcome.deleted, 1);
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"),
            "1,a|2,x|100,a|200,b|1000,a|1500,y|2000,b");
  // A key equal to a file's bound is inside it.
  auto edge = Ingest("t", "id,v\n1,e\n2000,e\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(edge.outcome.deleted, 2);
  EXPECT_EQ(RowsText("SELECT count(*) FROM t WHERE v = 'e'"), "2");

  Ingest("s", "k,v\napple,1\navocado,2\n");
  Ingest("s", "k,v\nbanana,1\nberry,2\n");
  Ingest("s", "k,v\ncherry,1\n,2\n");  // a NULL key
  auto strings = Ingest("s", "k,v\napricot,9\ncoconut,9\n", WriteMode::kUpsert, {"k"});
  EXPECT_EQ(strings.outcome.files_pruned, 2);  // the b... and the cherry files
  EXPECT_EQ(strings.outcome.deleted, 0);
  auto null_key = Ingest("s", "k,v\n,7\n", WriteMode::kUpsert, {"k"});
  EXPECT_EQ(null_key.outcome.deleted, 1);  // NULL matches NULL, in the file that has one
  EXPECT_EQ(RowsText("SELECT v FROM s WHERE k IS NULL"), "7");
}

TEST_F(WriteModes, RepeatedUpsertsStayConsistent) {
  Ingest("t", "id,v\n1,0\n2,0\n3,0\n");
  for (int i = 1; i <= 5; ++i) {
    Ingest("t", "id,v\n2," + std::to_string(i) + "\n", WriteMode::kUpsert, {"id"});
  }
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), "1,0|2,5|3,0");
  EXPECT_EQ(RowsText("SELECT count(*) FROM t"), "3");
}

TEST_F(WriteModes, JsonAndParquetInputs) {
  ASSERT_TRUE(TryIngest("j", "[{\"id\": 1, \"tags\": [\"a\"]}, {\"id\": 2, \"tags\": []}]",
                        WriteMode::kAppend, {}, {}, "json")
                  .ok());
  ASSERT_TRUE(TryIngest("j", "{\"id\": 3, \"tags\": [\"c\"]}\n{\"id\": 4, \"tags\": null}\n",
                        WriteMode::kAppend, {}, {}, "ndjson")
                  .ok());
  EXPECT_EQ(RowsText("SELECT id, tags FROM j ORDER BY id"), "1,[\"a\"]|2,[]|3,[\"c\"]|4,NULL");
}

TEST_F(WriteModes, KeyColumnsMustExistInInputAndTable) {
  Ingest("t", "id,v\n1,a\n2,b\n");
  // A key missing from the input would read as NULL for every row and collapse the batch.
  auto r = TryIngest("t", "v\nx\ny\n", WriteMode::kUpsert, {"id"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("key column 'id' is not in the input"), std::string::npos)
      << r.status().message();
  // A key missing from the table would match every stored row as NULL = NULL.
  auto d = TryIngest("t", "other\n\n", WriteMode::kDeleteOnly, {"other"});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("not in the table"), std::string::npos)
      << d.status().message();
  auto n = TryIngest("t", "id,v\n1,z\n", WriteMode::kUpsert, {"id"}, "ts");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("newer_than column 'ts'"), std::string::npos);
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), "1,a|2,b");
}

TEST_F(WriteModes, NamesDifferingOnlyByCaseAreRefused) {
  Ingest("orders", "id\n1\n");
  auto r = TryIngest("Orders", "id\n2\n", WriteMode::kAppend);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("only by case"), std::string::npos);
  auto s = TryIngest("x", "id\n2\n", WriteMode::kAppend, {}, {}, "csv", "S");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(RowsText("SELECT count(*) FROM orders"), "1");
}

TEST_F(WriteModes, QueriesAreReadOnly) {
  Ingest("t", "id\n1\n");
  for (const char* sql :
       {"INSERT INTO t VALUES (2)", "COPY (SELECT 1) TO '/tmp/supertable-should-not-exist.csv'",
        "SELECT 1; SELECT 2", "CREATE TABLE x AS SELECT 1", "DROP VIEW t", "SET threads = 1",
        "EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/supertable-should-not-exist.csv'",
        "ATTACH ':memory:' AS m"}) {
    class Null : public ResultSink {
     public:
      void Begin(const std::vector<Column>&) override {}
      void Row(const std::vector<nlohmann::json>&) override {}
      void End(bool) override {}
    } sink;
    auto r = wh_->Query({"s", sql, -1, false}, sink);
    EXPECT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << sql;
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/supertable-should-not-exist.csv"));
  EXPECT_EQ(RowsText("SELECT count(*) FROM t"), "1");
  EXPECT_EQ(RowsText("EXPLAIN SELECT * FROM t").empty(), false);
  EXPECT_EQ(RowsText("WITH x AS (SELECT id FROM t) SELECT * FROM x"), "1");
}

}  // namespace supertable

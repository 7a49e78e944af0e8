// Snapshot documents and scan SQL.
#include <gtest/gtest.h>

#include "engine/table_scan.h"
#include "table/snapshot.h"

namespace supertable {

namespace {
Snapshot Sample() {
  Snapshot s;
  s.version = 3;
  s.parent_version = 2;
  s.committed_micros = 42;
  s.operation = "upsert";
  s.schema_id = 2;
  s.schema = {{"id", "BIGINT"}, {"name", "VARCHAR"}};
  s.file_schemas[1] = {{"id", "INTEGER"}};
  s.file_schemas[2] = s.schema;
  DataFile a{"o/s/t/data/a.parquet",
             10,
             2,
             100,
             0,
             9,
             false,
             1,
             {{"id", {std::string("1"), std::string("10"), 0}}}};
  DataFile b{"o/s/t/data/b.parquet",
             5,
             0,
             50,
             10,
             14,
             false,
             2,
             {{"name", {std::nullopt, std::nullopt, 5}}}};
  s.files = {a, b};
  s.deletes = {{"o/s/t/deletes/d.parquet", 2, {"o/s/t/data/a.parquet"}}};
  s.next_row_id = 15;
  return s;
}
std::string Path(const std::string& k) { return "/root/" + k; }
}  // namespace

TEST(Snapshot, JsonRoundTrip) {
  Snapshot s = Sample();
  auto back = Snapshot::FromJson(s.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ToJson(), s.ToJson());
  EXPECT_EQ(back->live_rows(), 13);
  EXPECT_EQ(back->files[0].stats.at("id").max, "10");
  EXPECT_FALSE(back->files[1].stats.at("name").min.has_value());
}

TEST(Snapshot, RejectsCorruptOrNewer) {
  EXPECT_FALSE(Snapshot::FromJson("{").ok());
  EXPECT_FALSE(Snapshot::FromJson("{\"format_version\": 99}").ok());
}

TEST(TableScan, GroupsBySchemaAndAppliesDeletes) {
  Snapshot s = Sample();
  std::string sql = ScanSql(s, Path, {});
  // The old file lacks "name" and has id as INTEGER.
  EXPECT_NE(sql.find("CAST(\"id\" AS BIGINT) AS \"id\", CAST(NULL AS VARCHAR) AS \"name\""),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("UNION ALL"), std::string::npos);
  EXPECT_NE(sql.find("ANTI JOIN read_parquet(['/root/o/s/t/deletes/d.parquet'])"),
            std::string::npos);
  // Delete files of files outside the scan are not read.
  ScanOptions only_b;
  only_b.only_files = {"o/s/t/data/b.parquet"};
  std::string b = ScanSql(s, Path, only_b);
  EXPECT_EQ(b.find("deletes"), std::string::npos) << b;
}

TEST(TableScan, EmptyTableKeepsTypes) {
  Snapshot s = Sample();
  s.files.clear();
  s.deletes.clear();
  EXPECT_EQ(ScanSql(s, Path, {}),
            "SELECT CAST(NULL AS BIGINT) AS \"id\", CAST(NULL AS VARCHAR) AS \"name\" WHERE false");
}

TEST(TableScan, QuotesHostileNames) {
  Snapshot s = Sample();
  s.schema = {{"a\"b", "BIGINT"}};
  s.file_schemas.clear();
  s.files = {s.files[1]};
  s.files[0].schema_id = s.schema_id;
  s.deletes.clear();
  std::string sql =
      ScanSql(s, [](const std::string&) { return std::string("/x/it's.parquet"); }, {});
  EXPECT_NE(sql.find("\"a\"\"b\""), std::string::npos) << sql;
  EXPECT_NE(sql.find("'/x/it''s.parquet'"), std::string::npos) << sql;
}

}  // namespace supertable

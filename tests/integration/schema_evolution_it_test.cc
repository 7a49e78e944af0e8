// Schema evolution through real writes and reads.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace supertable {

using testing::WarehouseTest;

class SchemaEvolution : public WarehouseTest {};

TEST_F(SchemaEvolution, AddedColumnsReadAsNullInOldRows) {
  Ingest("t", "id,a\n1,x\n");
  auto r = Ingest("t", "id,a,b\n2,y,7\n");
  EXPECT_TRUE(r.outcome.schema_changed);
  Ingest("t", "id\n3\n");  // missing columns read as NULL
  EXPECT_EQ(RowsText("SELECT id, a, b FROM t ORDER BY id"), "1,x,NULL|2,y,7|3,NULL,NULL");
}

TEST_F(SchemaEvolution, WideningIntToDouble) {
  Ingest("t", "id,amount\n1,5\n");
  auto r = Ingest("t", "id,amount\n2,2.5\n");
  EXPECT_TRUE(r.outcome.schema_changed);
  EXPECT_EQ(RowsText("SELECT typeof(amount), sum(amount) FROM t GROUP BY 1"), "DOUBLE,7.5");
  // Upsert keyed on a column whose old files are narrower.
  Ingest("t", "id,amount\n1,1.25\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(RowsText("SELECT id, amount FROM t ORDER BY id"), "1,1.25|2,2.5");
}

TEST_F(SchemaEvolution, WideningInt32ToInt64ThroughParquetAndJson) {
  // JSON integers arrive as BIGINT; a table first written with INTEGER widens.
  ASSERT_TRUE(TryIngest("t", "[{\"n\": 1}]", WriteMode::kAppend, {}, {}, "json").ok());
  ASSERT_TRUE(
      TryIngest("t", "[{\"n\": 9007199254740993}]", WriteMode::kAppend, {}, {}, "json").ok());
  EXPECT_EQ(RowsText("SELECT max(n) FROM t"), "9007199254740993");
}

TEST_F(SchemaEvolution, TypeConflictRefusedAndTableUnchanged) {
  Ingest("t", "id,amount\n1,5\n");
  auto r = TryIngest("t", "id,amount\n2,lots\n", WriteMode::kAppend);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("amount"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("lots"), std::string::npos) << r.status().message();
  EXPECT_EQ(RowsText("SELECT id, amount FROM t"), "1,5");
  EXPECT_EQ(wh_->History(wh_->Ref("s", "t"))->size(), 1u);
  // A nested value where a number is stored is refused before anything is read.
  auto nested =
      TryIngest("t", "[{\"id\": 3, \"amount\": {\"x\": 1}}]", WriteMode::kAppend, {}, {}, "json");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("'amount' is BIGINT in the table but STRUCT"),
            std::string::npos)
      << nested.status().message();
}

TEST_F(SchemaEvolution, CsvTextKeepsTableType) {
  Ingest("z", "zip,city\n00501,Holtsville\n");
  // This file's zips look like numbers; the table says text, so they stay text.
  Ingest("z", "zip,city\n12345,Somewhere\n");
  EXPECT_EQ(RowsText("SELECT zip FROM z ORDER BY zip"), "00501|12345");
  EXPECT_EQ(RowsText("SELECT DISTINCT typeof(zip) FROM z"), "VARCHAR");
}

}  // namespace supertable

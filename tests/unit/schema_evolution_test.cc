// Schema evolution rules (pure logic).
#include <gtest/gtest.h>

#include "engine/schema_evolution.h"

namespace supertable {

TEST(Widening, Lossless) {
  EXPECT_TRUE(IsLosslessWidening("INTEGER", "BIGINT"));
  EXPECT_TRUE(IsLosslessWidening("SMALLINT", "INTEGER"));
  EXPECT_TRUE(IsLosslessWidening("FLOAT", "DOUBLE"));
  EXPECT_TRUE(IsLosslessWidening("BIGINT", "DOUBLE"));
  EXPECT_TRUE(IsLosslessWidening("DECIMAL(10,2)", "DECIMAL(18,3)"));
  EXPECT_TRUE(IsLosslessWidening("INTEGER", "DECIMAL(12,2)"));
  EXPECT_FALSE(IsLosslessWidening("BIGINT", "INTEGER"));
  EXPECT_FALSE(IsLosslessWidening("DOUBLE", "BIGINT"));
  EXPECT_FALSE(IsLosslessWidening("DOUBLE", "FLOAT"));
  EXPECT_FALSE(IsLosslessWidening("DECIMAL(18,3)", "DECIMAL(10,2)"));
  EXPECT_FALSE(IsLosslessWidening("VARCHAR", "BIGINT"));
  EXPECT_FALSE(IsLosslessWidening("INTEGER", "UINTEGER"));
  EXPECT_TRUE(IsLosslessWidening("UTINYINT", "SMALLINT"));
  EXPECT_TRUE(IsLosslessWidening("UINTEGER", "BIGINT"));
  EXPECT_FALSE(IsLosslessWidening("UBIGINT", "BIGINT"));
}

TEST(PlanSchema, NewTable) {
  auto p = PlanSchema({}, {{"id", "BIGINT"}, {"name", "VARCHAR"}}, InputFormat::kCsv);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->schema_changed);
  ASSERT_EQ(p->schema.size(), 2u);
  EXPECT_EQ(p->select_exprs[0], "\"id\" AS \"id\"");
}

TEST(PlanSchema, AddsColumnsAndFillsMissing) {
  auto p = PlanSchema({{"id", "BIGINT"}, {"name", "VARCHAR"}},
                      {{"ID", "BIGINT"}, {"email", "VARCHAR"}}, InputFormat::kParquet);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->schema_changed);
  ASSERT_EQ(p->schema.size(), 3u);
  EXPECT_EQ(p->schema[0].name, "id");  // the table's spelling wins
  EXPECT_EQ(p->schema[2].name, "email");
  EXPECT_EQ(p->select_exprs[1], "CAST(NULL AS VARCHAR) AS \"name\"");
}

TEST(PlanSchema, WidensEitherWay) {
  auto up = PlanSchema({{"n", "INTEGER"}}, {{"n", "BIGINT"}}, InputFormat::kParquet);
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(up->schema_changed);
  EXPECT_EQ(up->schema[0].type, "BIGINT");
  auto down = PlanSchema({{"n", "DOUBLE"}}, {{"n", "INTEGER"}}, InputFormat::kParquet);
  ASSERT_TRUE(down.ok());
  EXPECT_FALSE(down->schema_changed);
  EXPECT_EQ(down->select_exprs[0], "CAST(\"n\" AS DOUBLE) AS \"n\"");
}

TEST(PlanSchema, RefusesLossyChange) {
  auto p = PlanSchema({{"n", "BIGINT"}}, {{"n", "DATE"}}, InputFormat::kParquet);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("'n' is BIGINT in the table but DATE in the input"),
            std::string::npos);
  auto nested = PlanSchema({{"n", "BIGINT"}}, {{"n", "STRUCT(a INTEGER)"}}, InputFormat::kJson);
  EXPECT_FALSE(nested.ok());
}

TEST(PlanSchema, CsvTextFollowsTableType) {
  // Sniffed BIGINT for a column stored as VARCHAR (zip codes): read it as text, keep zeros.
  auto p = PlanSchema({{"zip", "VARCHAR"}}, {{"zip", "BIGINT"}}, InputFormat::kCsv);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->csv_types.at("zip"), "VARCHAR");
  EXPECT_FALSE(p->schema_changed);
}

TEST(PlanSchema, RejectsBadColumns) {
  EXPECT_FALSE(PlanSchema({}, {{"__st_row_id", "BIGINT"}}, InputFormat::kCsv).ok());
  EXPECT_FALSE(PlanSchema({}, {{"a", "BIGINT"}, {"A", "BIGINT"}}, InputFormat::kParquet).ok());
}

}  // namespace supertable

// Compaction, snapshot expiry and gc.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "common/ids.h"
#include "support/test_support.h"

namespace supertable {

using testing::WarehouseTest;

class Maintenance : public WarehouseTest {
 protected:
  std::set<std::string> ReferencedBy(const Snapshot& s) {
    std::set<std::string> keys;
    for (const auto& f : s.files) keys.insert(f.key);
    for (const auto& d : s.deletes) keys.insert(d.key);
    return keys;
  }
};

TEST_F(Maintenance, CompactMergesFilesAndAppliesDeletes) {
  for (int i = 0; i < 5; ++i)
    Ingest("t", "id,v\n" + std::to_string(i) + ",a\n" + std::to_string(i + 10) + ",b\n");
  Ingest("t", "id,v\n3,X\n", WriteMode::kUpsert, {"id"});
  Ingest("t", "id\n4\n", WriteMode::kDeleteOnly, {"id"});
  std::string before = RowsText("SELECT id, v FROM t ORDER BY id");
  auto r = wh_->Compact(wh_->Ref("s", "t"), {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->committed);
  EXPECT_EQ(r->files_before, 6);
  EXPECT_EQ(r->files_after, 1);
  EXPECT_EQ(r->deletes_applied, 2);
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), before);
  auto snap = wh_->LoadSnapshot(wh_->Ref("s", "t"));
  EXPECT_TRUE(snap->deletes.empty());
  EXPECT_EQ(snap->files[0].deleted_rows, 0);
  // Compacting again has nothing to do.
  auto again = wh_->Compact(wh_->Ref("s", "t"), {});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->committed);
  // Upserts after compaction still find the compacted rows (row ids were kept).
  Ingest("t", "id,v\n10,Y\n", WriteMode::kUpsert, {"id"});
  EXPECT_EQ(RowsText("SELECT v FROM t WHERE id = 10"), "Y");
  EXPECT_EQ(RowsText("SELECT count(*) FROM t"), "9");
}

TEST_F(Maintenance, CompactAcrossSchemaVersions) {
  Ingest("t", "id\n1\n");
  Ingest("t", "id,extra\n2,x\n");
  ASSERT_TRUE(wh_->Compact(wh_->Ref("s", "t"), {}).ok());
  EXPECT_EQ(RowsText("SELECT id, extra FROM t ORDER BY id"), "1,NULL|2,x");
}

TEST_F(Maintenance, GcNeverRemovesAReferencedFile) {
  Ingest("t", "id,v\n1,a\n2,b\n");
  Ingest("t", "id,v\n2,B\n", WriteMode::kUpsert, {"id"});
  Ingest("t", "id,v\n3,c\n");
  auto v3 = wh_->LoadSnapshot(wh_->Ref("s", "t"));
  ASSERT_TRUE(wh_->Compact(wh_->Ref("s", "t"), {}).ok());
  // An orphan, as a crashed writer would leave it.
  ASSERT_TRUE(wh_->store().Put("test/s/t/data/orphan.parquet", "junk").ok());

  // Retention keeps all history; grace 0 makes every unreferenced file eligible at once.
  GcOptions keep_all;
  keep_all.grace_micros = 0;
  auto r = wh_->Gc(wh_->Ref("s", "t"), keep_all);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->versions_expired, 0);
  ASSERT_EQ(r->deleted_keys.size(), 1u);
  EXPECT_EQ(r->deleted_keys[0], "test/s/t/data/orphan.parquet");
  // Every version is still readable: time travel to version 3 sees its rows.
  for (const auto& key : ReferencedBy(*v3)) EXPECT_TRUE(wh_->store().Stat(key).ok()) << key;

  // With zero retention, old versions expire and only the current snapshot's files remain.
  GcOptions expire_all;
  expire_all.grace_micros = 0;
  expire_all.retention_micros = 0;
  expire_all.running_query_window_micros = 0;
  auto r2 = wh_->Gc(wh_->Ref("s", "t"), expire_all);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->versions_expired, 3);
  auto head = wh_->LoadSnapshot(wh_->Ref("s", "t"));
  ASSERT_TRUE(head.ok());
  for (const auto& key : ReferencedBy(*head)) EXPECT_TRUE(wh_->store().Stat(key).ok()) << key;
  EXPECT_EQ(RowsText("SELECT id, v FROM t ORDER BY id"), "1,a|2,B|3,c");
  auto objects = wh_->store().List("test/s/t/");
  ASSERT_TRUE(objects.ok());
  EXPECT_EQ(objects->size(), ReferencedBy(*head).size() + 1);  // + the snapshot document
  EXPECT_EQ(wh_->History(wh_->Ref("s", "t"))->size(), 1u);
}

TEST_F(Maintenance, GcKeepsVersionsARunningQueryMayHavePinned) {
  Ingest("t", "id\n1\n");
  auto v1 = wh_->LoadSnapshot(wh_->Ref("s", "t"));
  Ingest("t", "id\n1\n", WriteMode::kUpsert, {"id"});
  ASSERT_TRUE(wh_->Compact(wh_->Ref("s", "t"), {}).ok());
  // Retention 0 asked, but version 1 was current moments ago: a query started then may still
  // be reading it, so its files stay and it can still be read.
  GcOptions opt;
  opt.grace_micros = 0;
  opt.retention_micros = 0;
  auto r = wh_->Gc(wh_->Ref("s", "t"), opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->versions_expired, 0);
  for (const auto& key : ReferencedBy(*v1)) EXPECT_TRUE(wh_->store().Stat(key).ok()) << key;
  EXPECT_EQ(RowsText("SELECT count(*) FROM t AT (VERSION => 1)"), "1");
}

TEST_F(Maintenance, GcGracePeriodProtectsWritesInProgress) {
  Ingest("t", "id\n1\n");
  ASSERT_TRUE(wh_->store().Put("test/s/t/data/in-flight.parquet", "staged by a writer").ok());
  GcOptions opt;  // default grace: one hour
  auto r = wh_->Gc(wh_->Ref("s", "t"), opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_deleted, 0);
  EXPECT_TRUE(wh_->store().Stat("test/s/t/data/in-flight.parquet").ok());
}

TEST_F(Maintenance, DryRunDeletesNothing) {
  Ingest("t", "id\n1\n");
  Ingest("t", "id\n1\n", WriteMode::kUpsert, {"id"});
  ASSERT_TRUE(wh_->store().Put("test/s/t/data/orphan.parquet", "x").ok());
  GcOptions opt;
  opt.grace_micros = 0;
  opt.retention_micros = 0;
  opt.running_query_window_micros = 0;
  opt.dry_run = true;
  auto r = wh_->Gc(wh_->Ref("s", "t"), opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->versions_expired, 1);
  EXPECT_GE(r->files_deleted, 1);
  EXPECT_TRUE(wh_->store().Stat("test/s/t/data/orphan.parquet").ok());
  EXPECT_EQ(wh_->History(wh_->Ref("s", "t"))->size(), 2u);
}

TEST_F(Maintenance, DropRemovesCatalogAndFiles) {
  Ingest("t", "id\n1\n");
  Ingest("u", "id\n1\n");
  ASSERT_TRUE(wh_->DropTable(wh_->Ref("s", "t")).ok());
  EXPECT_EQ(wh_->store().List("test/s/t/")->size(), 0u);
  EXPECT_EQ(wh_->LoadSnapshot(wh_->Ref("s", "t")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(RowsText("SELECT count(*) FROM u"), "1");
  ASSERT_TRUE(wh_->DropSuper("s").ok());
  EXPECT_EQ(wh_->ListSupers()->size(), 0u);
  EXPECT_EQ(wh_->store().List("test/")->size(), 0u);
}

}  // namespace supertable

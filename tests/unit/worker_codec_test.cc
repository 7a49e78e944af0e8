// The engine worker protocol's JSON forms: every field of a request or answer survives the trip
// (a field one side forgets is a setting silently lost in the worker).
#include <gtest/gtest.h>

#include "engine/worker_channel.h"
#include "engine/worker_codec.h"

#include <sys/socket.h>
#include <unistd.h>

namespace supertable {

TEST(WorkerCodec, WriteSpecRoundTrip) {
  Snapshot base;
  base.version = 7;
  base.schema = {{"id", "BIGINT"}};
  base.file_schemas[0] = base.schema;
  WriteSpec spec;
  spec.input_path = "/in/x.csv";
  spec.format = InputFormat::kJsonArray;
  spec.mode = WriteMode::kUpsert;
  spec.key_columns = {"id", "b"};
  spec.newer_than = "updated";
  spec.base = &base;
  spec.staging_dir = "/st";
  spec.first_row_id = 11;
  spec.commit_micros = 12;
  spec.target_file_bytes = 13;
  spec.limits.max_columns = 14;
  spec.limits.max_nesting_depth = 15;
  spec.limits.max_record_bytes = 16;
  std::optional<Snapshot> storage;
  WriteSpec back = WriteSpecFromJson(WriteSpecToJson(spec), &storage);
  EXPECT_EQ(back.input_path, spec.input_path);
  EXPECT_EQ(back.format, spec.format);
  EXPECT_EQ(back.mode, spec.mode);
  EXPECT_EQ(back.key_columns, spec.key_columns);
  EXPECT_EQ(back.newer_than, spec.newer_than);
  ASSERT_NE(back.base, nullptr);
  EXPECT_EQ(back.base->version, 7);
  EXPECT_EQ(back.staging_dir, spec.staging_dir);
  EXPECT_EQ(back.first_row_id, 11);
  EXPECT_EQ(back.commit_micros, 12);
  EXPECT_EQ(back.target_file_bytes, 13);
  EXPECT_EQ(back.limits.max_columns, 14);
  EXPECT_EQ(back.limits.max_nesting_depth, 15);
  EXPECT_EQ(back.limits.max_record_bytes, 16);
}

TEST(WorkerCodec, EngineOptionsRoundTrip) {
  EngineOptions o;
  o.threads = 3;
  o.memory_limit = "1GB";
  o.temp_directory = "/t";
  o.readable_directories = {"/d/org/", "supertable-object://org/"};
  o.sql_limits = {100, 200, 30};
  o.storage_type = "S3";
  o.home = "/h";
  o.cache_max_bytes = 4;
  o.kill_grace_ms = 5;
  EngineOptions b = EngineOptionsFromJson(EngineOptionsToJson(o));
  EXPECT_EQ(b.threads, 3);
  EXPECT_EQ(b.memory_limit, "1GB");
  EXPECT_EQ(b.temp_directory, "/t");
  EXPECT_EQ(b.readable_directories, o.readable_directories);
  EXPECT_EQ(b.sql_limits.max_bytes, 100);
  EXPECT_EQ(b.sql_limits.max_expressions, 200);
  EXPECT_EQ(b.sql_limits.max_depth, 30);
  EXPECT_EQ(b.storage_type, "S3");
  EXPECT_EQ(b.home, "/h");
  EXPECT_EQ(b.cache_max_bytes, 4);
  EXPECT_EQ(b.kill_grace_ms, 5);
}

TEST(WorkerCodec, QueryAndResolvedTableRoundTrip) {
  QuerySpec q;
  q.sql = "SELECT 1";
  q.row_limit = 5;
  q.result_byte_limit = 6;
  q.timeout_ms = 7;
  q.system_columns = true;
  q.validate_only = true;
  QuerySpec qb;
  QuerySpecFromJson(QuerySpecToJson(q), &qb);
  EXPECT_EQ(qb.sql, q.sql);
  EXPECT_EQ(qb.row_limit, 5);
  EXPECT_EQ(qb.result_byte_limit, 6);
  EXPECT_EQ(qb.timeout_ms, 7);
  EXPECT_TRUE(qb.system_columns);
  EXPECT_TRUE(qb.validate_only);

  TableName n{"s", "t", AsOf{3, 4}};
  TableName nb = TableNameFromJson(TableNameToJson(n));
  EXPECT_EQ(nb.super_name, "s");
  EXPECT_EQ(nb.table, "t");
  ASSERT_TRUE(nb.as_of);
  EXPECT_EQ(nb.as_of->version, 3);
  EXPECT_EQ(nb.as_of->timestamp_micros, 4);

  auto snap = std::make_shared<Snapshot>();
  snap->schema = {{"a", "VARCHAR"}};
  TablePolicy policy;
  policy.views.push_back({"a > 1", std::vector<std::string>{"a"}, {}});
  policy.views.push_back({"", std::nullopt, {{"a", {ColumnMask::Kind::kConstant, "x'y"}}}});
  policy.user = "ann";
  policy.mask_salt = "salt";
  ResolvedTable t{"s.t", snap, "", policy};
  ResolvedTable tb = ResolvedTableFromJson(ResolvedTableToJson(t));
  EXPECT_EQ(tb.display_name, "s.t");
  EXPECT_EQ(tb.snapshot->schema, snap->schema);
  ASSERT_EQ(tb.policy.views.size(), 2u);
  EXPECT_EQ(tb.policy.views[0].columns, t.policy.views[0].columns);
  EXPECT_EQ(tb.policy.views[0].row_filter, "a > 1");
  EXPECT_FALSE(tb.policy.views[1].columns);
  EXPECT_EQ(tb.policy.views[1].masks.at("a").kind, ColumnMask::Kind::kConstant);
  EXPECT_EQ(tb.policy.views[1].masks.at("a").constant, "x'y");
  EXPECT_EQ(tb.policy.user, "ann");
  EXPECT_EQ(tb.policy.mask_salt, "salt");
  EXPECT_FALSE(tb.json);

  // A system table's JSON relation crosses too (system.audit).
  t.json = JsonRelation{{{"seq", "BIGINT"}}, {{"n", "\"seq\" + 1"}}, "\"seq\" IS NOT NULL"};
  tb = ResolvedTableFromJson(ResolvedTableToJson(t));
  ASSERT_TRUE(tb.json);
  EXPECT_EQ(tb.json->fields, t.json->fields);
  EXPECT_EQ(tb.json->columns, t.json->columns);
  EXPECT_EQ(tb.json->where, t.json->where);

  // A stored snapshot goes by its key alone: the worker reads it itself.
  t.snapshot_key = "org/s/t/_snapshots/3-x.json";
  nlohmann::json wire = ResolvedTableToJson(t);
  EXPECT_FALSE(wire.contains("snapshot"));
  tb = ResolvedTableFromJson(wire);
  EXPECT_EQ(tb.snapshot_key, t.snapshot_key);
  EXPECT_FALSE(tb.snapshot);

  Status s = StatusFromJson(StatusToJson(Status::Conflict("lost")));
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.message(), "lost");
  EXPECT_EQ(StatusFromJson({{"code", 99}, {"message", "x"}}).code(), StatusCode::kInternal);
}

TEST(WorkerCodec, WriteOutcomeRoundTrip) {
  WriteOutcome o;
  o.schema = {{"id", "BIGINT"}};
  o.schema_changed = true;
  DataFile f;
  f.key = "k";
  f.rows = 3;
  f.stats["id"] = {std::string("1"), std::string("3"), 0};
  o.data_files = {{"/st/a.parquet", f}};
  o.delete_file = StagedDeleteFile{"/st/d.parquet", 2, {{"k0", 2}}};
  o.input_rows = 1;
  o.inserted = 2;
  o.deleted = 3;
  o.skipped_stale = 4;
  o.skipped_duplicates = 5;
  o.files_scanned = 6;
  o.files_pruned = 7;
  WriteOutcome b = WriteOutcomeFromJson(WriteOutcomeToJson(o));
  EXPECT_EQ(b.schema, o.schema);
  EXPECT_TRUE(b.schema_changed);
  ASSERT_EQ(b.data_files.size(), 1u);
  EXPECT_EQ(b.data_files[0].local_path, "/st/a.parquet");
  EXPECT_EQ(b.data_files[0].meta.stats["id"].max, "3");
  ASSERT_TRUE(b.delete_file);
  EXPECT_EQ(b.delete_file->per_target.at("k0"), 2);
  EXPECT_EQ(b.input_rows + b.inserted + b.deleted + b.skipped_stale + b.skipped_duplicates +
                b.files_scanned + b.files_pruned,
            28);
}

TEST(WorkerChannel, FramesSurviveAndAGarbledOrClosedPeerIsAnError) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  WorkerChannel a(sv[0]);
  ASSERT_TRUE(a.Send({{"t", "x"}, {"n", 1}}).ok());
  WorkerChannel b(sv[1]);
  auto m = b.Receive();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["n"], 1);
  // A deadline that passes is a timeout, not a hang.
  std::atomic<int64_t> deadline{WorkerChannel::NowNs() + 50'000'000};
  EXPECT_EQ(b.Receive(&deadline).status().code(), StatusCode::kTimeout);
  // A frame claiming more than the limit is refused before anything is allocated.
  const unsigned char huge[4] = {0xff, 0xff, 0xff, 0xff};
  ASSERT_EQ(write(sv[0], huge, 4), 4);
  EXPECT_EQ(b.Receive().status().code(), StatusCode::kIoError);
}

TEST(WorkerChannel, APeerThatGoesAwayIsAnError) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  WorkerChannel b(sv[1]);
  { WorkerChannel a(sv[0]); }
  EXPECT_EQ(b.Receive().status().code(), StatusCode::kIoError);
  EXPECT_EQ(b.Send({{"t", "x"}}).code(), StatusCode::kIoError);
}

}  // namespace supertable

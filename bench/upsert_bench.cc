// Upsert benchmark: replacing 1% of a table's rows, keys scattered over the whole key range so
// that every data file holds some of them and statistics cannot prune any file (or, with
// `clustered`, a contiguous 1% of the keys of a table clustered by its key, where they can).
// SuperTable answers with merge-on-read: it reads only the key column of the stored files, writes
// the new rows and one delete file. A copy-on-write system must rewrite every file that holds an
// updated key, which here is all of them; the baseline is that rewrite, done by DuckDB in one COPY.
#include <cstdio>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "bench_util.h"
#include "benches.h"
#include "duck_session.h"
#include "engine/sql_text.h"
#include "table/warehouse.h"

namespace supertable::bench {

namespace {

constexpr const char* kSuper = "bench";
constexpr const char* kTable = "accounts";
// The user columns, spelled out: the stored files also carry SuperTable's system columns, which
// the baseline's UNION ALL with the update file must not see.
constexpr const char* kColumns = "id, name, tier, balance, visits, updated_at";

std::string GenerateSourceSql(int64_t rows, bool shuffled, const std::string& path) {
  return fmt::format(R"(COPY (
  SELECT
    i AS id,
    'customer ' || i::VARCHAR AS name,
    (['bronze', 'silver', 'gold', 'platinum'])[(hash(i) % 4)::BIGINT + 1] AS tier,
    round((hash(i * 7) % 10000000)::DOUBLE / 100.0, 2) AS balance,
    (hash(i * 13) % 1000)::INTEGER AS visits,
    make_timestamp(1577836800000000 + (hash(i * 17) % 157680000)::BIGINT * 1000000) AS updated_at
  FROM range({}) AS t(i){}
) TO {} (FORMAT parquet, COMPRESSION zstd))",
                     rows, shuffled ? " ORDER BY hash(i * 31)" : "", sql::Literal(path));
}

// Every run replaces a different 1% (hash(id) % 100 = run - 1, or with `contiguous` the
// stretch id / (rows / 100) = bucket), so no run rewrites rows an earlier run already replaced,
// and tier = 'updated' counts exactly the replaced rows afterwards. The payload changes in every
// column but the key, with the same types (no schema change).
std::string UpdatedKeys(int64_t rows, bool contiguous, int run) {
  if (!contiguous) return fmt::format("hash(id) % 100 = {}", run - 1);
  // Stretches 37 apart (mod 100): runs touch different parts of the key range.
  return fmt::format("id // {} = {}", std::max<int64_t>(1, rows / 100), (run - 1) * 37 % 100);
}

std::string GenerateUpdatesSql(const std::string& source, const std::string& keys,
                               const std::string& path) {
  return fmt::format(R"(COPY (
  SELECT id, name || ' v2' AS name, 'updated' AS tier, balance + 1 AS balance, visits + 1 AS visits,
         updated_at + INTERVAL 1 DAY AS updated_at
  FROM read_parquet({}) WHERE {}
) TO {} (FORMAT parquet, COMPRESSION zstd))",
                     sql::Literal(source), keys, sql::Literal(path));
}

// The copy-on-write rewrite: every stored row whose key is not updated, plus the updates.
std::string RewriteSql(const std::vector<std::string>& table_files, const std::string& updates,
                       const std::string& out) {
  return fmt::format(R"(COPY (
  SELECT * FROM (SELECT {cols} FROM read_parquet({files})) AS t
    ANTI JOIN read_parquet({upd}) AS u USING (id)
  UNION ALL
  SELECT {cols} FROM read_parquet({upd})
) TO {out} (FORMAT parquet, COMPRESSION zstd))",
                     fmt::arg("cols", kColumns), fmt::arg("files", sql::LiteralList(table_files)),
                     fmt::arg("upd", sql::Literal(updates)), fmt::arg("out", sql::Literal(out)));
}

std::string RunsText(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += fmt::format("{}{:.2f}", s.empty() ? "" : " ", x);
  return s;
}

const char* Verdict(bool ok) { return ok ? "PASS" : "FAIL"; }

Result<int> Upsert(const UpsertOptions& o) {
  ST_ASSIGN_OR_RETURN(TempDir work, TempDir::Create("upsert"));
  ST_ASSIGN_OR_RETURN(Config config, BenchConfig(work.Join("home")));
  config.target_file_bytes = o.target_file_bytes;
  DuckSessionOptions duck_options = MatchingOptions(config, work.Join("duck_tmp"));

  // 1. Inputs: the table's source and one update file per run.
  std::string source = work.Join("source.parquet");
  std::vector<std::string> updates;
  std::vector<int64_t> update_rows;
  {
    Note("upsert: generating {} source rows and {} update file(s) of ~1% each", FormatCount(o.rows),
         o.runs);
    ST_ASSIGN_OR_RETURN(auto gen, DuckSession::Open(duck_options));
    {
      Progress p("generate source Parquet");
      ST_RETURN_IF_ERROR(gen->Run(GenerateSourceSql(o.rows, o.clustered, source), p.Fn()));
    }
    for (int run = 1; run <= o.runs; ++run) {
      updates.push_back(work.Join(fmt::format("updates_{}.parquet", run)));
      int64_t n = 0;
      ST_RETURN_IF_ERROR(gen->Run(
          GenerateUpdatesSql(source, UpdatedKeys(o.rows, o.clustered, run), updates.back()), {},
          &n));
      update_rows.push_back(n);
    }
  }

  // 2. The table, several files thanks to the smaller target file size.
  ST_ASSIGN_OR_RETURN(auto warehouse, Warehouse::Open(config));
  TableRef ref = warehouse->Ref(kSuper, kTable);
  double build_seconds = 0;
  {
    Progress p(fmt::format("build table of {} rows", FormatCount(o.rows)));
    WriteRequest req;
    req.input_path = source;
    if (o.clustered) req.cluster_by = std::vector<std::string>{"id"};
    req.progress = p.Fn();
    Stopwatch sw;
    ST_RETURN_IF_ERROR(warehouse->Write(ref, req).status());
    build_seconds = sw.Seconds();
  }
  ST_ASSIGN_OR_RETURN(Snapshot initial, warehouse->LoadSnapshot(ref));
  std::vector<std::string> table_files;
  for (const auto& f : initial.files) table_files.push_back(warehouse->ReadPath(f.key));
  Note("upsert: table built in {:.2f} s: {} files, {}", build_seconds, initial.files.size(),
       FormatBytes(initial.total_bytes()));
  // The source is no longer needed; the baseline reads the table's own files, as a
  // copy-on-write system rewriting this table would.
  std::error_code ec;
  std::filesystem::remove(source, ec);

  // 3. Interleaved runs. The baseline always rewrites the initial table (same N rows, no deletes
  //    yet); ours applies run after run to the live table, as production upserts would, so its
  //    later runs also carry the delete files of earlier ones.
  std::vector<double> base_s, ours_s;
  int64_t base_rows = 0, base_bytes = 0;
  std::vector<WriteOutcome> outcomes;
  std::string rewritten = work.Join("rewritten.parquet");
  for (int run = 1; run <= o.runs; ++run) {
    const std::string& upd = updates[static_cast<size_t>(run - 1)];
    {
      ST_ASSIGN_OR_RETURN(auto duck, DuckSession::Open(duck_options));
      Progress p(fmt::format("upsert baseline run {}/{}", run, o.runs));
      Stopwatch sw;
      ST_RETURN_IF_ERROR(duck->Run(RewriteSql(table_files, upd, rewritten), p.Fn(), &base_rows));
      base_s.push_back(sw.Seconds());
      base_bytes = FileBytes(rewritten);
      std::filesystem::remove(rewritten, ec);
    }
    Note("upsert run {}/{}: baseline {:.2f} s", run, o.runs, base_s.back());
    {
      Progress p(fmt::format("upsert ours run {}/{}", run, o.runs));
      WriteRequest req;
      req.input_path = upd;
      req.mode = WriteMode::kUpsert;
      req.key_columns = {"id"};
      req.progress = p.Fn();
      Stopwatch sw;
      ST_ASSIGN_OR_RETURN(WriteResult w, warehouse->Write(ref, req));
      ours_s.push_back(sw.Seconds());
      outcomes.push_back(std::move(w.outcome));
    }
    Note("upsert run {}/{}: ours {:.2f} s", run, o.runs, ours_s.back());
  }

  // 4. Sanity checks through Warehouse::Query, the path users read by.
  Note("upsert: checking the table through Warehouse::Query");
  std::string t = sql::Ident(kTable);
  ST_ASSIGN_OR_RETURN(int64_t count, QueryInt(*warehouse, kSuper, "SELECT count(*) FROM " + t));
  ST_ASSIGN_OR_RETURN(int64_t distinct,
                      QueryInt(*warehouse, kSuper, "SELECT count(DISTINCT id) FROM " + t));
  ST_ASSIGN_OR_RETURN(
      int64_t updated,
      QueryInt(*warehouse, kSuper, "SELECT count(*) FROM " + t + " WHERE tier = 'updated'"));
  int64_t expected_updated = 0;
  for (int64_t n : update_rows) expected_updated += n;
  ST_ASSIGN_OR_RETURN(Snapshot final_snap, warehouse->LoadSnapshot(ref));

  double mb = Median(base_s), mo = Median(ours_s);
  fmt::print(
      "\n== upsert{}: {} rows (BIGINT key + 5 payload columns), {} data files of {} at target {}\n",
      o.clustered ? ", clustered" : "", FormatCount(o.rows), initial.files.size(),
      FormatBytes(initial.total_bytes()), FormatBytes(o.target_file_bytes));
  if (o.clustered) {
    fmt::print(
        "   rows ingested in random key order with --cluster-by id; each run replaces a different "
        "contiguous ~1% of keys ({})\n",
        UpdatedKeys(o.rows, true, 1));
  }
  fmt::print("   each run replaces a different ~1% of keys: {} rows\n", [&] {
    std::string s;
    for (int64_t n : update_rows) s += (s.empty() ? "" : ", ") + FormatCount(n);
    return s;
  }());
  fmt::print("   median of {} runs each, interleaved; seconds per run in brackets\n", o.runs);
  fmt::print(
      "   baseline  DuckDB rewrite (ANTI JOIN + UNION ALL -> Parquet zstd)  {:7.2f} s  {} rows, {} "
      " [{}]\n",
      mb, FormatCount(base_rows), FormatBytes(base_bytes), RunsText(base_s));
  fmt::print("   ours      Warehouse::Write upsert, key id                       {:7.2f} s  [{}]\n",
             mo, RunsText(ours_s));
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& w = outcomes[i];
    fmt::print(
        "             run {}: inserted {}, deleted {}, files scanned {}, pruned {}, new data files "
        "{}\n",
        i + 1, FormatCount(w.inserted), FormatCount(w.deleted), w.files_scanned, w.files_pruned,
        w.data_files.size());
  }
  fmt::print("   ratio ours/baseline: {:.3f}x  (aim <= {})\n", mo / mb,
             o.clustered ? "0.10x" : "0.20x");
  fmt::print("   table after: {} data files, {} delete files, {}\n", final_snap.files.size(),
             final_snap.deletes.size(), FormatBytes(final_snap.total_bytes()));
  bool count_ok = count == o.rows;
  bool distinct_ok = distinct == o.rows;
  bool updated_ok = updated == expected_updated;
  bool base_ok = base_rows == o.rows;
  fmt::print("   sanity: count(*) = {} (expected {}): {}\n", FormatCount(count),
             FormatCount(o.rows), Verdict(count_ok));
  fmt::print("   sanity: count(DISTINCT id) = {} (expected {}): {}\n", FormatCount(distinct),
             FormatCount(o.rows), Verdict(distinct_ok));
  fmt::print("   sanity: rows with the updated payload = {} (expected {}): {}\n",
             FormatCount(updated), FormatCount(expected_updated), Verdict(updated_ok));
  fmt::print("   sanity: baseline rewrite wrote {} rows (expected {}): {}\n",
             FormatCount(base_rows), FormatCount(o.rows), Verdict(base_ok));
  std::fflush(stdout);
  return count_ok && distinct_ok && updated_ok && base_ok ? 0 : 1;
}

}  // namespace

int RunUpsert(const UpsertOptions& options) { return ExitCode(Upsert(options), "upsert"); }

}  // namespace supertable::bench

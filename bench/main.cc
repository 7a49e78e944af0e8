// supertable_bench: ingest, upsert and query benchmarks against DuckDB baselines
// (bench/README.md).
#include <algorithm>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench_util.h"
#include "benches.h"
#include "duck_session.h"
#include "engine/engine.h"

using namespace supertable::bench;

int main(int argc, char** argv) {
  // The query benchmark's baseline of a CLI run: this process as plain DuckDB, one query, its
  // result printed, nothing else (no warehouse, no engine worker).
  if (argc == 3 && std::string_view(argv[1]) == "__duck-query") return RunDuckQuery(argv[2]);
  // First, before any thread exists: an interrupted run must still remove its temp directories.
  InstallInterruptCleanup();
  // Warehouses opened here run their engine in worker processes, as the supertable binary's do.
  supertable::SetDefaultEngineWorkerCommand({SUPERTABLE_ENGINE_BIN});
  supertable::SetInProcessEngineFactory(&supertable::OpenDuckEngine);

  CLI::App app{
      "SuperTable benchmarks: each figure is a ratio against a DuckDB baseline run in the same "
      "process."};
  app.require_subcommand(1);
  // Global flags may also follow the subcommand: `supertable_bench all --quick`.
  app.fallthrough();
  bool quick = false;
  int runs = 0;  // 0 = not given: each benchmark's own default
  app.add_flag("--quick", quick,
               "Small sizes for a smoke run (ingest 200k rows, upsert 1M rows, query scale 0.05)");
  app.add_option("--runs", runs, "Runs per side; the median is reported (default 3, query 5)")
      ->check(CLI::Range(1, 99));

  // 0 = not given: the default size, or the --quick size.
  int64_t ingest_rows = 0, upsert_rows = 0;
  auto* ingest =
      app.add_subcommand("ingest", "CSV -> table append vs DuckDB COPY read_csv -> Parquet");
  ingest->add_option("--rows", ingest_rows, "Rows in the generated CSV (default 2,000,000)")
      ->check(CLI::PositiveNumber);
  auto* upsert =
      app.add_subcommand("upsert", "1% scattered-key upsert vs rewriting the whole table");
  upsert->add_option("--rows", upsert_rows, "Rows in the table (default 10,000,000)")
      ->check(CLI::PositiveNumber);
  bool upsert_clustered = false;
  upsert->add_flag("--clustered", upsert_clustered,
                   "A contiguous 1% of the keys of a table clustered by its key, instead");
  // 0 = not given, as above.
  double scale_factor = 0;
  auto* query = app.add_subcommand(
      "query",
      "TPC-H-like queries: Warehouse::Query vs plain DuckDB on the same files; then a "
      "tiny query through the CLI");
  query
      ->add_option("--sf", scale_factor, "TPC-H-like scale factor (default 1.0: lineitem ~6M rows)")
      ->check(CLI::Range(0.001, 100.0));
  int catalog_ops = 0;
  auto* catalog = app.add_subcommand(
      "catalog", "Lock and commit latency: Redis (started here) vs the embedded SQLite catalog");
  catalog->add_option("--ops", catalog_ops, "Operations per figure (default 2000)")
      ->check(CLI::PositiveNumber);
  int64_t storage_rows = 0;
  auto* storage = app.add_subcommand(
      "storage",
      "Selective query over object storage (s3rver, started here): cold, warm, hot vs local");
  storage->add_option("--rows", storage_rows, "Rows in the table (default 5,000,000)")
      ->check(CLI::PositiveNumber);
  auto* prune = app.add_subcommand(
      "prune",
      "Point lookup (10M rows, 200 files) and 1% time range (1,000 files) with file pruning vs "
      "plain DuckDB over a glob of the same files");
  int audit_records = 0;
  auto* audit = app.add_subcommand(
      "audit", "100k AuditLog::Append calls vs building the records alone (per-call cost)");
  audit->add_option("--records", audit_records, "Appends per run (default 100,000)")
      ->check(CLI::PositiveNumber);
  auto* jq = app.add_subcommand(
      "jq", "The tool library's jq stage in its sandboxed workers vs the jq command-line program");
  auto* all =
      app.add_subcommand("all", "ingest, upsert, query, catalog, storage, prune, audit, then jq");
  all->add_option("--ingest-rows", ingest_rows, "Rows for the ingest benchmark")
      ->check(CLI::PositiveNumber);
  all->add_option("--upsert-rows", upsert_rows, "Rows for the upsert benchmark")
      ->check(CLI::PositiveNumber);
  all->add_option("--sf", scale_factor, "Scale factor for the query benchmark")
      ->check(CLI::Range(0.001, 100.0));

  CLI11_PARSE(app, argc, argv);

  IngestOptions io;
  UpsertOptions uo;
  QueryOptions qo;
  if (quick) {
    io.rows = 200'000;
    uo.rows = 1'000'000;
    // At 1M rows the table is ~15 MiB: a smaller target keeps it at several files, so the smoke
    // run goes through the same multi-file code paths as the full one.
    uo.target_file_bytes = 8ll << 20;
    qo.scale_factor = 0.05;
  }
  if (ingest_rows > 0) io.rows = ingest_rows;
  if (upsert_rows > 0) uo.rows = upsert_rows;
  if (scale_factor > 0) qo.scale_factor = scale_factor;
  if (runs > 0) io.runs = uo.runs = qo.runs = runs;

  int rc = 0;
  if (*ingest || *all) rc = std::max(rc, RunIngest(io));
  if (*upsert || *all) {
    uo.clustered = upsert_clustered;
    rc = std::max(rc, RunUpsert(uo));
  }
  if (*all) {
    uo.clustered = true;
    rc = std::max(rc, RunUpsert(uo));
  }
  if (*query || *all) rc = std::max(rc, RunQuery(qo));
  CatalogOptions co;
  if (quick) co.operations = 300;
  if (catalog_ops > 0) co.operations = catalog_ops;
  if (*catalog || *all) rc = std::max(rc, RunCatalog(co));
  StorageOptions so;
  if (quick) so.rows = 500'000;
  if (storage_rows > 0) so.rows = storage_rows;
  if (runs > 0) so.runs = runs;
  if (*storage || *all) rc = std::max(rc, RunStorage(so));
  PruneOptions po;
  if (quick) {
    po.lookup_rows = 1'000'000;
    po.lookup_files = 50;
    po.events_rows = 200'000;
    po.events_files = 100;
  }
  if (runs > 0) po.runs = runs;
  if (*prune || *all) rc = std::max(rc, RunPrune(po));
  AuditOptions ao;
  if (audit_records > 0) ao.records = audit_records;
  if (runs > 0) ao.runs = runs;
  if (*audit || *all) rc = std::max(rc, RunAudit(ao));
  JqBenchOptions jo;
  if (quick) jo.runs = 30;
  if (runs > 0) jo.runs = runs;
  if (*jq || *all) rc = std::max(rc, RunJq(jo));
  return rc;
}

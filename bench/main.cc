// supertable_bench: ingest and upsert benchmarks against DuckDB baselines (bench/README.md).
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench_util.h"
#include "benches.h"

using namespace supertable::bench;

int main(int argc, char** argv) {
  // First, before any thread exists: an interrupted run must still remove its temp directories.
  InstallInterruptCleanup();

  CLI::App app{
      "SuperTable benchmarks: each figure is a ratio against a DuckDB baseline run in the same "
      "process."};
  app.require_subcommand(1);
  // Global flags may also follow the subcommand: `supertable_bench all --quick`.
  app.fallthrough();
  bool quick = false;
  int runs = 3;
  app.add_flag("--quick", quick, "Small sizes for a smoke run (ingest 200k rows, upsert 1M rows)");
  app.add_option("--runs", runs, "Runs per side; the median is reported")->check(CLI::Range(1, 99));

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
  auto* all = app.add_subcommand("all", "ingest, then upsert");
  all->add_option("--ingest-rows", ingest_rows, "Rows for the ingest benchmark")
      ->check(CLI::PositiveNumber);
  all->add_option("--upsert-rows", upsert_rows, "Rows for the upsert benchmark")
      ->check(CLI::PositiveNumber);

  CLI11_PARSE(app, argc, argv);

  IngestOptions io;
  UpsertOptions uo;
  if (quick) {
    io.rows = 200'000;
    uo.rows = 1'000'000;
    // At 1M rows the table is ~15 MiB: a smaller target keeps it at several files, so the smoke
    // run goes through the same multi-file code paths as the full one.
    uo.target_file_bytes = 8ll << 20;
  }
  if (ingest_rows > 0) io.rows = ingest_rows;
  if (upsert_rows > 0) uo.rows = upsert_rows;
  io.runs = uo.runs = runs;

  int rc = 0;
  if (*ingest || *all) rc = std::max(rc, RunIngest(io));
  if (*upsert || *all) rc = std::max(rc, RunUpsert(uo));
  return rc;
}

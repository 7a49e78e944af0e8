// Ingest benchmark: how much does a SuperTable append cost over the bare CSV-to-Parquet
// conversion DuckDB does anyway? Both sides read the same CSV with the same DuckDB build, thread
// count and memory limit and write zstd Parquet; what ours adds (sniffing for schema planning,
// row ids, commit timestamps, file statistics, fsync and the catalog commit) is the overhead
// measured.
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

// Mixed types, as a real export would have them: NULLs in a text column, values that need CSV
// quoting (a comma, non-ASCII), dates, timestamps with a time part and booleans, so the
// sniffer and the type conversions do their real work. Values spread by hash() so that the
// Parquet encodings cannot compress a trivial pattern.
std::string GenerateCsvSql(int64_t rows, const std::string& path) {
  return fmt::format(R"(COPY (
  SELECT
    i AS id,
    CASE WHEN i % 50 = 0 THEN NULL ELSE 'customer ' || (hash(i) % 1000003)::VARCHAR END AS name,
    (['Berlin', 'São Paulo', 'Washington, D.C.', 'Zürich', 'O''Hare', 'Tokyo'])[i % 6 + 1] AS city,
    round((hash(i * 7) % 10000000)::DOUBLE / 100.0, 2) AS amount,
    DATE '2020-01-01' + (i % 1800)::INTEGER AS order_date,
    make_timestamp(1577836800000000 + (hash(i * 13) % 157680000)::BIGINT * 1000000) AS created_at,
    i % 3 = 0 AS active
  FROM range({}) AS t(i)
) TO {} (FORMAT csv, HEADER true))",
                     rows, sql::Literal(path));
}

struct Side {
  std::vector<double> seconds;
  int64_t rows = 0;
  int64_t bytes = 0;
  int64_t files = 0;
};

Result<int> Ingest(const IngestOptions& o) {
  ST_ASSIGN_OR_RETURN(TempDir work, TempDir::Create("ingest"));
  ST_ASSIGN_OR_RETURN(Config config, BenchConfig(work.Join("home")));
  DuckSessionOptions duck_options = MatchingOptions(config, work.Join("duck_tmp"));

  std::string csv = work.Join("input.csv");
  {
    Note("ingest: generating a CSV of {} rows", FormatCount(o.rows));
    ST_ASSIGN_OR_RETURN(auto gen, DuckSession::Open(duck_options));
    Progress p("generate CSV");
    ST_RETURN_IF_ERROR(gen->Run(GenerateCsvSql(o.rows, csv), p.Fn()));
  }
  int64_t csv_bytes = FileBytes(csv);

  ST_ASSIGN_OR_RETURN(auto warehouse, Warehouse::Open(config));
  Side base, ours;
  std::string out = work.Join("baseline.parquet");
  for (int run = 1; run <= o.runs; ++run) {
    // Alternating baseline and ours, so that a burst of load from other processes on the
    // machine hits both sides rather than one.
    {
      // A fresh database per run, as the brief's baseline is "COPY in a fresh DuckDB"; opening
      // it is not timed, nor is opening the warehouse on our side.
      ST_ASSIGN_OR_RETURN(auto duck, DuckSession::Open(duck_options));
      Progress p(fmt::format("ingest baseline run {}/{}", run, o.runs));
      Stopwatch sw;
      ST_RETURN_IF_ERROR(duck->Run(
          fmt::format("COPY (SELECT * FROM read_csv({})) TO {} (FORMAT parquet, COMPRESSION zstd)",
                      sql::Literal(csv), sql::Literal(out)),
          p.Fn(), &base.rows));
      base.seconds.push_back(sw.Seconds());
      base.bytes = FileBytes(out);
      base.files = 1;
      std::error_code ec;
      std::filesystem::remove(out, ec);  // keep the disk footprint at one output at a time
    }
    Note("ingest run {}/{}: baseline {:.2f} s", run, o.runs, base.seconds.back());
    {
      std::string table =
          fmt::format("ingest_run{}", run);  // a new table each time: no base snapshot
      Progress p(fmt::format("ingest ours run {}/{}", run, o.runs));
      WriteRequest req;
      req.input_path = csv;
      req.mode = WriteMode::kAppend;
      req.progress = p.Fn();
      Stopwatch sw;
      ST_ASSIGN_OR_RETURN(WriteResult w, warehouse->Write(warehouse->Ref(kSuper, table), req));
      ours.seconds.push_back(sw.Seconds());
      ours.rows = w.outcome.inserted;
      ours.bytes = 0;
      for (const auto& f : w.outcome.data_files) ours.bytes += f.meta.bytes;
      ours.files = static_cast<int64_t>(w.outcome.data_files.size());
      ST_RETURN_IF_ERROR(warehouse->DropTable(warehouse->Ref(kSuper, table)));
    }
    Note("ingest run {}/{}: ours {:.2f} s", run, o.runs, ours.seconds.back());
  }

  double mb = Median(base.seconds), mo = Median(ours.seconds);
  auto runs_text = [](const std::vector<double>& v) {
    std::string s;
    for (double x : v) s += fmt::format("{}{:.2f}", s.empty() ? "" : " ", x);
    return s;
  };
  bool rows_ok = base.rows == o.rows && ours.rows == o.rows;
  fmt::print(
      "\n== ingest: {} rows, CSV {} (7 columns: BIGINT, 2x VARCHAR, DOUBLE, DATE, TIMESTAMP, "
      "BOOLEAN)\n",
      FormatCount(o.rows), FormatBytes(csv_bytes));
  fmt::print("   median of {} runs each, interleaved; seconds per run in brackets\n", o.runs);
  fmt::print(
      "   baseline  DuckDB COPY read_csv -> Parquet zstd  {:7.2f} s  {:>11} rows/s  {} in {} file  "
      "[{}]\n",
      mb, FormatCount(static_cast<int64_t>(o.rows / mb)), FormatBytes(base.bytes), base.files,
      runs_text(base.seconds));
  fmt::print(
      "   ours      Warehouse::Write append (new table)   {:7.2f} s  {:>11} rows/s  {} in {} "
      "file(s)  [{}]\n",
      mo, FormatCount(static_cast<int64_t>(o.rows / mo)), FormatBytes(ours.bytes), ours.files,
      runs_text(ours.seconds));
  fmt::print("   ratio ours/baseline: {:.2f}x  (aim <= 1.30x)\n", mo / mb);
  fmt::print("   sanity: rows written baseline {} / ours {} / expected {}: {}\n",
             FormatCount(base.rows), FormatCount(ours.rows), FormatCount(o.rows),
             rows_ok ? "PASS" : "FAIL");
  std::fflush(stdout);
  return rows_ok ? 0 : 1;
}

}  // namespace

int RunIngest(const IngestOptions& options) { return ExitCode(Ingest(options), "ingest"); }

}  // namespace supertable::bench

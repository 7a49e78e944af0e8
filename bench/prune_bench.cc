// Pruning benchmark: selective queries on tables of many files, where SuperTable's catalog knows
// from each file's statistics which files can match, against plain DuckDB reading the same files
// through a glob (which opens every footer to find out). Two tables, both appended over time so
// their files cover narrow, ordered ranges, as data arriving in order does:
// - `lookup`: N rows in F appends (default 10M rows, 200 files); a point lookup by id.
// - `events`: M rows in G appends (default 2M rows, 1,000 files); a 1% time-range aggregate.
// And an unselective aggregate on each, where nothing can be pruned and the catalog must not
// cost anything. Both sides have the Parquet footer cache on (the sandbox keeps it on), so the
// baseline is DuckDB at its best, not DuckDB cold.
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_util.h"
#include "benches.h"
#include "compare.h"
#include "duck_session.h"
#include "table/warehouse.h"

namespace supertable::bench {
namespace {

constexpr const char* kSuper = "prune";

// Appends `files` batches of `rows / files` rows to `table`, batch i holding ids from
// i * rows / files on and commit-ordered timestamps: one Parquet file per append.
Result<std::string> Build(Warehouse& warehouse, DuckSession& gen, const std::string& dir,
                          const std::string& table, int64_t rows, int files) {
  Progress progress(fmt::format("{}: {} appends", table, files));
  int64_t per = rows / files;
  std::string data_dir;
  for (int i = 0; i < files; ++i) {
    std::string path = fmt::format("{}/{}_{}.parquet", dir, table, i);
    int64_t first = i * per;
    ST_RETURN_IF_ERROR(gen.Run(fmt::format(
        "COPY (SELECT {0} + range AS id, TIMESTAMP '2025-01-01' + INTERVAL ({0} + range) SECOND "
        "AS ts, CAST(hash({0} + range) % 100000 AS INTEGER) AS user_id, "
        "CAST(hash({0} + range) % 100000 AS DOUBLE) / 100 AS amount, "
        "'c' || CAST(hash({0} + range) % 20 AS VARCHAR) AS category FROM range({1})) TO '{2}' "
        "(FORMAT parquet)",
        first, per, path)));
    WriteRequest req;
    req.input_path = path;
    ST_ASSIGN_OR_RETURN(WriteResult w, warehouse.Write(warehouse.Ref(kSuper, table), req));
    (void)w;
    std::error_code ec;
    std::filesystem::remove(path, ec);
    progress.Update(static_cast<double>(i + 1) / files);
  }
  ST_ASSIGN_OR_RETURN(Snapshot snap, warehouse.LoadSnapshot(warehouse.Ref(kSuper, table)));
  if (snap.files.empty()) return Status::Internal(table + " has no files");
  data_dir = std::filesystem::path(warehouse.ReadPath(snap.files[0].key)).parent_path().string();
  return data_dir;
}

struct Case {
  std::string name, table, sql;
  double aim;  // the target ratio
};

Result<int> PruneBench(const PruneOptions& o) {
  ST_ASSIGN_OR_RETURN(TempDir work, TempDir::Create("prune"));
  ST_ASSIGN_OR_RETURN(Config config, BenchConfig(work.Join("home")));
  ST_RETURN_IF_ERROR(PinThreads(config));
  DuckSessionOptions duck_options = MatchingOptions(config, work.Join("duck_tmp"));
  ST_ASSIGN_OR_RETURN(auto warehouse, Warehouse::Open(config));
  ST_ASSIGN_OR_RETURN(auto gen, DuckSession::Open(duck_options));
  std::string in_dir = work.Join("in");
  std::filesystem::create_directories(in_dir);
  Stopwatch build;
  ST_ASSIGN_OR_RETURN(std::string lookup_dir,
                      Build(*warehouse, *gen, in_dir, "lookup", o.lookup_rows, o.lookup_files));
  ST_ASSIGN_OR_RETURN(std::string events_dir,
                      Build(*warehouse, *gen, in_dir, "events", o.events_rows, o.events_files));
  Note("prune: tables built in {:.0f} s", build.Seconds());

  DuckSessionOptions plain = duck_options;
  plain.track_progress = false;
  ST_ASSIGN_OR_RETURN(auto duck, DuckSession::Open(plain));
  ST_RETURN_IF_ERROR(duck->Run("SET parquet_metadata_cache = true"));
  for (const auto& [name, dir] : {std::pair{std::string("lookup"), lookup_dir},
                                  std::pair{std::string("events"), events_dir}}) {
    ST_RETURN_IF_ERROR(
        duck->Run(fmt::format("CREATE VIEW {} AS SELECT id, ts, user_id, amount, category FROM "
                              "read_parquet('{}/*.parquet')",
                              name, dir)));
  }

  int64_t mid = o.lookup_rows / 2 + 17;
  int64_t span = o.events_rows / 100;  // 1% of the events' time range, in seconds
  int64_t from = o.events_rows / 3;
  std::vector<Case> cases = {
      {"point lookup", "lookup",
       fmt::format("SELECT id, user_id, amount, category FROM lookup WHERE id = {}", mid), 0.5},
      {"1% time range", "events",
       fmt::format("SELECT count(*), sum(amount) FROM events WHERE ts >= TIMESTAMP '2025-01-01' + "
                   "INTERVAL {} SECOND AND ts < TIMESTAMP '2025-01-01' + INTERVAL {} SECOND",
                   from, from + span),
       0.3},
      {"unselective", "lookup",
       "SELECT category, count(*), sum(amount) FROM lookup GROUP BY category ORDER BY category",
       1.05},
      {"unselective", "events",
       "SELECT category, count(*), sum(amount) FROM events GROUP BY category ORDER BY category",
       1.05},
  };
  std::vector<QueryFigures> figures;
  for (const auto& c : cases) {
    Note("prune: {} on {}", c.name, c.table);
    ST_ASSIGN_OR_RETURN(QueryFigures f,
                        TimeAgainstBaseline(*warehouse, kSuper, c.sql, *duck, c.sql, o.runs));
    figures.push_back(std::move(f));
  }

  fmt::print(
      "Pruning: selective queries on tables of many files, SuperTable (Warehouse::Query)\n"
      "against plain DuckDB over read_parquet('<table dir>/*.parquet'), same files, "
      "footer cache on both; median of {} interleaved runs\n",
      o.runs);
  fmt::print("  lookup: {} rows in {} files; events: {} rows in {} files\n\n",
             FormatCount(o.lookup_rows), o.lookup_files, FormatCount(o.events_rows),
             o.events_files);
  fmt::print("{:<15} {:<7} {:>11} {:>11} {:>9} {:>10} {:>15}  {}\n", "query", "table", "duckdb ms",
             "ours ms", "ratio", "aim", "files read", "sanity");
  // An aim the run missed is marked "!" (timings are figures, never a failure).
  int status = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto& f = figures[i];
    double b = Median(f.base_s) * 1e3, s = Median(f.ours_s) * 1e3;
    bool same = f.difference.empty() && f.same_rows;
    if (!same) status = 1;
    double ratio = b > 0 ? s / b : 0.0;
    fmt::print("{:<15} {:<7} {:>11.2f} {:>11.2f} {:>8.3f}x {:>10} {:>15}  {}\n", c.name, c.table, b,
               s, ratio, fmt::format("<= {:.2f}x{}", c.aim, ratio <= c.aim ? "" : "!"),
               fmt::format("{} of {}", f.files - f.files_pruned, f.files),
               same ? "PASS" : "FAIL " + f.difference);
  }
  return status;
}

}  // namespace

int RunPrune(const PruneOptions& options) { return ExitCode(PruneBench(options), "prune"); }

}  // namespace supertable::bench

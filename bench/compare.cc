// Timing SuperTable's query path against plain DuckDB (compare.h).
#include "compare.h"

#include <fmt/format.h>

namespace supertable::bench {

Status PinThreads(Config& config) {
  if (config.duckdb_threads > 0) return Status::Ok();
  ST_ASSIGN_OR_RETURN(auto probe, DuckSession::Open({}));
  int64_t n = 0;
  ST_RETURN_IF_ERROR(probe->Run("SELECT current_setting('threads')", {}, &n));
  config.duckdb_threads = static_cast<int>(n);
  return Status::Ok();
}

Result<QueryFigures> TimeAgainstBaseline(Warehouse& warehouse, const std::string& super_name,
                                         const std::string& sql, DuckSession& duck,
                                         const std::string& baseline_sql, int runs) {
  QueryFigures f;
  auto ours = [&](ResultDigest* out) -> Result<double> {
    DigestSink sink;
    QueryRequest req(super_name, sql);
    req.timeout_ms = 3'600'000;  // the production path (a watchdog thread), never firing here
    Stopwatch sw;
    auto st = warehouse.Query(req, sink);
    double s = sw.Seconds();
    if (!st.ok()) return st.status().WithContext(fmt::format("{}: through Warehouse::Query", sql));
    f.files = st->files;
    f.files_pruned = st->files_pruned;
    *out = std::move(sink.digest);
    return s;
  };
  auto base = [&](ResultDigest* out) -> Result<double> {
    ResultDigest d;
    Stopwatch sw;
    Status st = duck.Query(baseline_sql, &d);
    double s = sw.Seconds();
    if (!st.ok()) return st.WithContext(fmt::format("{}: in plain DuckDB", baseline_sql));
    *out = std::move(d);
    return s;
  };
  // One untimed run each: both sides read the files once (the page cache is shared anyway), and
  // their results are compared in full.
  ResultDigest ours_d, base_d;
  ST_RETURN_IF_ERROR(base(&base_d).status());
  ST_RETURN_IF_ERROR(ours(&ours_d).status());
  f.difference = ours_d.Compare(base_d);
  f.rows = base_d.rows;
  f.same_rows = ours_d.rows == base_d.rows;
  // Interleaved, alternating which side goes first, so neither always runs right after the
  // other has warmed caches or right before a burst of load.
  for (int run = 0; run < runs; ++run) {
    for (int side = 0; side < 2; ++side) {
      bool baseline_turn = (side == 0) == (run % 2 == 0);
      ResultDigest d;
      if (baseline_turn) {
        ST_ASSIGN_OR_RETURN(double s, base(&d));
        f.base_s.push_back(s);
      } else {
        ST_ASSIGN_OR_RETURN(double s, ours(&d));
        f.ours_s.push_back(s);
      }
      if (d.rows != f.rows) f.same_rows = false;
    }
  }
  return f;
}

}  // namespace supertable::bench

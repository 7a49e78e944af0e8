// Timing SuperTable's query path against plain DuckDB on the same files: one untimed run each
// whose results are compared in full, then interleaved timed runs.
#pragma once

#include <string>
#include <vector>

#include "bench_util.h"
#include "duck_session.h"
#include "table/warehouse.h"

namespace supertable::bench {

// SuperTable's side of a comparison: reads every JSON cell into the digest.
class DigestSink : public ResultSink {
 public:
  void Begin(const std::vector<Column>& columns) override {
    numeric_.clear();
    for (const auto& c : columns) numeric_.push_back(IsNumericTypeName(c.type));
  }
  void Row(const std::vector<nlohmann::json>& cells) override {
    digest.StartRow(cells.size());
    for (size_t c = 0; c < cells.size(); ++c) {
      const auto& cell = cells[c];
      if (cell.is_null()) {
        digest.Null(c);
      } else if (c < numeric_.size() && numeric_[c]) {
        // DECIMAL and integers past 2^53 arrive as exact text.
        digest.Number(c, cell.is_string() ? std::stod(cell.get_ref<const std::string&>())
                                          : cell.get<double>());
      } else if (cell.is_string()) {
        digest.Text(c, cell.get_ref<const std::string&>());
      } else {
        digest.Text(c, cell.dump());
      }
    }
    digest.FinishRow();
  }
  void End(bool) override {}
  ResultDigest digest;

 private:
  std::vector<bool> numeric_;
};

struct QueryFigures {
  std::vector<double> base_s, ours_s;
  int64_t rows = -1;
  bool same_rows = true;                // every run of both sides returned as many rows
  std::string difference;               // empty: the warm-up results matched
  int64_t files = 0, files_pruned = 0;  // ours, last run (QueryStats)
};

// The same thread count on both sides, set explicitly: SUPERTABLE_DUCKDB_THREADS when given,
// else DuckDB's own default (all cores), read from a plain session and put in `config` for the
// warehouse. (Queries cannot ask the sandbox for its settings.)
Status PinThreads(Config& config);

// Runs `sql` through Warehouse::Query in `super_name` and `baseline_sql` in `duck`: one untimed
// run each (results compared in full), then `runs` timed runs of each, interleaved.
Result<QueryFigures> TimeAgainstBaseline(Warehouse& warehouse, const std::string& super_name,
                                         const std::string& sql, DuckSession& duck,
                                         const std::string& baseline_sql, int runs);

}  // namespace supertable::bench

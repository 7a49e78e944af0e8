// DuckDB progress polling.
#include "engine/progress_watch.h"

#include <duckdb.hpp>

#include <algorithm>
#include <chrono>

namespace supertable {

ProgressWatch::ProgressWatch(duckdb::Connection& con, std::function<void(double)> fn) {
  if (!fn) return;
  poll_.emplace(std::chrono::milliseconds(100), [&con, fn = std::move(fn)] {
    double p = con.GetQueryProgress();
    if (p >= 0) fn(std::min(1.0, p / 100.0));
  });
}

}  // namespace supertable

// ProgressWatch: forwards DuckDB's progress for the query running on a connection to a callback,
// polled from a second thread (DuckDB answers GetQueryProgress while Query() blocks its caller).
// Used by the engine and by the benchmarks' DuckDB baselines, so both report alike.
#pragma once

#include <functional>
#include <optional>

#include "common/periodic_task.h"

namespace duckdb {
class Connection;
}

namespace supertable {

class ProgressWatch {
 public:
  // `fn` receives fractions in [0, 1] every 100 ms while the watch lives; empty `fn`: no thread.
  ProgressWatch(duckdb::Connection& con, std::function<void(double)> fn);

 private:
  std::optional<PeriodicTask> poll_;
};

}  // namespace supertable

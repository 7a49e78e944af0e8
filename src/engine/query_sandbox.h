// QuerySandbox: the DuckDB instance that runs users' SQL, and the limits around it.
//
// The instance is locked down once, at start: external access off except the organization's
// data directories, no extension install or autoload, no replacement scans (a string such as
// 'x.csv' in FROM is not a file; checked at start, and by VerifyLockdown in the tests),
// configuration locked, the
// plan check (plan_check.h) installed. Each query gets its own connection, its
// own temporary views over the snapshots it names (policy applied in the view), a watchdog that
// interrupts it at its timeout, and row and byte limits on what it returns. It runs in an engine
// worker, one query at a time; how many run at once is IsolatedEngine's business.
#pragma once

#include <memory>
#include <mutex>

#include "common/status.h"
#include "engine/engine.h"

namespace duckdb {
class DuckDB;
}

namespace supertable {

class QuerySandbox {
 public:
  static Result<std::unique_ptr<QuerySandbox>> Open(const EngineOptions& options);
  ~QuerySandbox();

  Result<QueryStats> Query(const QuerySpec& spec, ResultSink& sink);

  // Ok when `path` in FROM is only a table name to the instance (no replacement scan turns it
  // into a file read), bypassing the guard and the plan check. Open checks the replacement scans
  // themselves; tests probe real files with this.
  Status VerifyLockdown(const std::string& path);

 private:
  // Out of line: the header holds duckdb::DuckDB only as an incomplete type.
  explicit QuerySandbox(const EngineOptions& options);
  // DuckDB reports bad settings by throwing; Open turns that into a Status.
  static Result<std::unique_ptr<QuerySandbox>> OpenOrThrow(const EngineOptions& options);

  // How many of the instance's threads a query may use: all, or only its own for a query that
  // reads few rows while it runs alone (QueryThreads in the .cc says why).
  class QueryThreads;

  EngineOptions options_;
  std::unique_ptr<duckdb::DuckDB> db_;
  std::mutex threads_mu_;
  int running_ = 0;          // queries on this instance now
  int64_t all_threads_ = 0;  // the instance's configured threads
};

}  // namespace supertable

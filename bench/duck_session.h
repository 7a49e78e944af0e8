// DuckSession: a plain in-memory DuckDB for the benchmark's own work, generating inputs and
// running the baselines. Only duck_session.cc includes duckdb.hpp, so the code that drives
// SuperTable compiles against SuperTable's headers alone, like any other client would.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "engine/engine.h"

namespace supertable::bench {

struct DuckSessionOptions {
  // The same knobs SuperTable's engine takes from its Config, so that a baseline never runs
  // with more threads or memory than the system it is compared with.
  int threads = 0;
  std::string memory_limit;
  // Where DuckDB spills; inside the benchmark's temp directory so that cleanup removes it.
  std::string temp_directory;
  // Progress tracking on, as SuperTable's write connections have it. The query benchmark turns
  // it off: SuperTable's query sandbox does not track progress, and plain DuckDB does not either.
  bool track_progress = true;
};

// A baseline matching `config`: its DuckDB threads and memory limit, spilling to
// `temp_directory`.
DuckSessionOptions MatchingOptions(const Config& config, std::string temp_directory);

struct ResultDigest;

class DuckSession {
 public:
  static Result<std::unique_ptr<DuckSession>> Open(const DuckSessionOptions& options);
  ~DuckSession();
  DuckSession(const DuckSession&) = delete;
  DuckSession& operator=(const DuckSession&) = delete;

  // Runs one statement. `progress` gets DuckDB's own progress estimate while it runs; when
  // `first_value` is set it receives the first cell of the result as an integer (COPY returns
  // the number of rows it wrote, which is how a baseline checks its output).
  Status Run(const std::string& sql, const ProgressFn& progress = {},
             int64_t* first_value = nullptr);

  // Runs a query the way a plain DuckDB client would (Connection::Query, materialized result)
  // and reads every cell of the result into `digest` (ResultDigest, bench_util.h), so that the
  // baseline pays for consuming its result as SuperTable's sinks do.
  Status Query(const std::string& sql, ResultDigest* digest);

 private:
  struct Impl;
  explicit DuckSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Opens an in-memory DuckDB with its defaults, runs `sql`, prints the result on stdout as
// DuckDB's own box renderer does; returns 0, or 2 with the error on stderr.
int RunDuckQuery(const std::string& sql);

}  // namespace supertable::bench

// PlanCheck: the sandbox's last look at a user's statement, on DuckDB's bound plan, before it
// runs. The guard (sql_guard.h) rewrites the table names it finds; this check does not trust
// that it found them all. Every scan in the plan must be a read_parquet over files of the
// snapshots the query pinned (the views the sandbox built), a read_json over exactly the NDJSON
// objects a system table pinned (system.audit), a pure generator (range,
// generate_series, unnest) or data already in the plan (VALUES, CTEs, DESCRIBE's answer); every
// operator must be one a read-only query is made of. Anything else (a catalog view such as
// pg_settings, a table function, a replacement scan of a path, another organization's file)
// refuses the query. It runs as a DuckDB optimizer extension before the built-in optimizers;
// DuckDB skips optimizers for some plans, so the sandbox also refuses any statement the check
// did not see (fail closed). Only src/engine/ includes this header.
#pragma once

#include <memory>
#include <set>
#include <string>

#include <duckdb.hpp>

namespace supertable {

// Adds the check to an open database, before it runs any query. (DuckDB does not copy optimizer
// extensions from the DBConfig a database is opened with.)
void InstallPlanCheck(duckdb::DuckDB& db);

// Arms the check on one connection while it lives: statements planned on it are checked
// against `allowed_files` (the exact paths the query's views read). A connection with no armed
// PlanCheck is not checked (the sandbox's own statements).
class PlanCheck {
 public:
  // `allowed_json_files`: the NDJSON objects of the query's system tables, which only
  // read_json may read (and read_json nothing else).
  PlanCheck(duckdb::Connection& con, std::set<std::string> allowed_files,
            std::set<std::string> allowed_json_files = {});
  ~PlanCheck();
  PlanCheck(const PlanCheck&) = delete;
  PlanCheck& operator=(const PlanCheck&) = delete;

  // How many plans the check has passed since the PlanCheck was made.
  int checks() const;

 private:
  duckdb::Connection& con_;
  duckdb::shared_ptr<class PlanCheckState> state_;
};

}  // namespace supertable

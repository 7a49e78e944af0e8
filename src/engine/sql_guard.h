// SqlGuard: decides whether a user's SQL may run, from DuckDB's parse tree, never from keywords.
// It accepts exactly one read-only statement (a query, or EXPLAIN/DESCRIBE/SUMMARIZE of one),
// refuses every table function outside a short list of pure generators, and rewrites each table
// the query names (`table`, `super.table`, with an optional `AT (VERSION => n)` or
// `AT (TIMESTAMP => '...')`) to the private view the engine builds for it, so no other name in
// DuckDB's catalog (and no file path) can be reached. Only src/engine/ includes this header.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <duckdb.hpp>

#include "common/status.h"
#include "engine/engine.h"

namespace supertable {

// Called once per distinct table reference; returns the name of the view that stands for it.
using ViewForTable = std::function<Result<std::string>(const TableName& name)>;

// Parses `sql`, checks it, and rewrites its table references through `view_for`. On success
// the returned statement is ready for Connection::PendingQuery.
Result<duckdb::unique_ptr<duckdb::SQLStatement>> GuardStatement(duckdb::Connection& con,
                                                                const std::string& sql,
                                                                const ViewForTable& view_for);

}  // namespace supertable

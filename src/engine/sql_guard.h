// SqlGuard: decides whether a user's SQL may run, from DuckDB's parse tree, never from keywords.
// It accepts exactly one read-only statement (a query, or EXPLAIN/DESCRIBE/SUMMARIZE of one),
// refuses every table function outside a short list of pure generators, and rewrites each table
// the query names (`table`, `super.table`, with an optional `AT (VERSION => n)` or
// `AT (TIMESTAMP => '...')`) to the private view the engine builds for it, so no other name in
// DuckDB's catalog (and no file path) can be reached. Names resolve by SQL's scoping rules: a
// CTE hides a table only inside the query that defines it (and that query's subqueries), after
// its definition, and inside itself only when it is recursive. Before DuckDB binds anything it
// also enforces SqlLimits. It is the first of the sandbox's layers, not the only one: the plan
// check (plan_check.h) refuses whatever the guard lets through that is not a pinned file.
// Only src/engine/ includes this header.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <duckdb.hpp>

#include "common/status.h"
#include "engine/engine.h"
#include "engine/sql_limits.h"

namespace supertable {

// What stands for a table the query names: a view, by name, or a query that takes the table's
// place as a subquery. A query is the engine's own text: the guard parses it and does not walk
// it (it reads files through table functions users may not name). Inlined, the table is bound
// once, with the statement; a view is bound when it is made and again in the statement.
struct TableStandIn {
  std::string view;   // a view's name, or empty
  std::string query;  // SELECT ... when `view` is empty
  // The values of the parameters $1, $2, ... in `query`: lists of files (ScanOptions).
  std::vector<std::vector<std::string>> file_lists;
};

// Returns what stands for a table the query names. `conjuncts`: the predicates that constrain
// that reference's rows (file_pruning.h), which the stand-in may use to leave out files; they
// stay valid during the call. Called once per distinct table (and time travel point) among
// references without conjuncts, once per reference with them.
using ViewForTable = std::function<Result<TableStandIn>(
    const TableName& name, const std::vector<const duckdb::ParsedExpression*>& conjuncts)>;

struct GuardedStatement {
  duckdb::unique_ptr<duckdb::SQLStatement> statement;  // ready for Connection::PendingQuery
  // The queries of DESCRIBE SELECT ... in it: DuckDB binds them but never plans them, so the
  // sandbox plans each separately for the plan check to see what they reach.
  std::vector<duckdb::unique_ptr<duckdb::SQLStatement>> described;
};

// Parses `sql`, checks it, and rewrites its table references through `view_for`.
Result<GuardedStatement> GuardStatement(duckdb::Connection& con, const std::string& sql,
                                        const ViewForTable& view_for, const SqlLimits& limits);

}  // namespace supertable

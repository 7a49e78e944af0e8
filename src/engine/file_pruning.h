// File pruning: which data files of a table can hold a row that a query's predicates admit,
// decided from the per-file statistics in the snapshot (min, max, null count) before DuckDB opens
// any footer. Two halves:
// - PushableConjuncts (parse-tree logic, used by the SQL guard): for each table a SELECT reads
//   in its FROM clause, the conjuncts of WHERE and of join conditions that constrain that table's
//   own rows, where removing the rows they reject cannot change the answer (not under the
//   null-supplying side of an outer join, never below a POSITIONAL or ASOF join or a sample).
// - FilesThatMayMatch (used by the sandbox when it builds a table's view): evaluates those
//   conjuncts against every file's statistics. A file is dropped only when no row of it can
//   satisfy them; anything not understood (a function, a cast that may not preserve order, a
//   column without statistics, a constant that does not convert exactly) keeps the file.
// The rules, type by type, are in docs/ARCHITECTURE.md ("File pruning"). Only src/engine/
// includes this header.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <duckdb.hpp>

#include "table/snapshot.h"

namespace supertable {

// Conjuncts that constrain one table reference's rows. Column references in them name that
// table's columns (qualified by its alias, or unqualified when it is the only table of its FROM).
using PruneConjuncts = std::vector<const duckdb::ParsedExpression*>;

// For each base table reference of `select`'s FROM clause (not inside subqueries), the conjuncts
// that may prune its files. References absent from the map get none.
std::map<const duckdb::TableRef*, PruneConjuncts> PushableConjuncts(
    const duckdb::SelectNode& select);

// One entry per snapshot file, true when the file may hold a row that satisfies every conjunct.
// `columns`: the names (lower case) of the columns whose values the query sees unchanged (a
// masked or policy-rewritten column is not among them, and never prunes). Constants are folded
// by DuckDB on `con`, with its settings (time zone), exactly as the query will. Never fails: when
// in doubt every file is kept.
std::vector<bool> FilesThatMayMatch(duckdb::Connection& con, const Snapshot& snapshot,
                                    const std::set<std::string>& columns,
                                    const PruneConjuncts& conjuncts);

}  // namespace supertable

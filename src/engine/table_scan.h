// TableScan: the SQL that reads a pinned snapshot as a relation. Each file is projected to the
// table's current schema (casts for widened types, NULL for columns the file predates). Files
// that need no row id are read many to a read_parquet, grouped by schema; files that carry
// deletes (or when row ids are asked for) are read with their row id, which fresh files derive
// as first row id + position and compacted files store, and rows named by the snapshot's delete
// files are removed with an anti-join on it. Pure text generation; no DuckDB.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "table/snapshot.h"

namespace supertable {

struct ScanOptions {
  // Columns to produce, in order; empty means the whole current schema.
  std::vector<std::string> columns;
  // Types to produce the columns as; empty means the snapshot's schema. A writer passes the
  // schema its batch has, which may have widened or new columns.
  std::vector<Column> as_schema;
  bool system_columns = false;  // append __st_row_id and __st_commit_time
  bool file_name = false;       // append __st_file, the object key of the row's data file
  // false: keep rows the delete files remove (the caller filters them itself). Requires
  // system_columns or file_name, so every row carries its row id.
  bool apply_deletes = true;
  // Restrict to these data files (by key); empty means every file of the snapshot.
  std::vector<std::string> only_files;
  // When set, the lists of files are appended here and the text names each as a parameter,
  // $1, $2, ... in order, instead of spelling it out: the query's guard puts them in the parse
  // tree as values. A thousand quoted paths cost milliseconds to parse, and more to bind as a
  // list of literals than as one list value.
  std::vector<std::vector<std::string>>* file_lists = nullptr;
};

// A SELECT statement producing the snapshot's live rows.
std::string ScanSql(const Snapshot& snapshot,
                    const std::function<std::string(const std::string&)>& read_path,
                    const ScanOptions& options);

// A SELECT statement producing a JsonRelation's rows from the NDJSON files at `paths` (an
// empty relation of the same columns when there are none: read_json needs at least one file).
std::string JsonScanSql(const JsonRelation& relation, const std::vector<std::string>& paths);

// The name of the column that carries the source path when ScanOptions::file_name is set.
inline constexpr const char* kFileNameColumn = "__st_file";

}  // namespace supertable

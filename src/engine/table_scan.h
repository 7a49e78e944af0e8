// TableScan: the SQL that reads a pinned snapshot as a relation. Files are grouped by the schema
// they were written with; each group is one read_parquet over exactly those files, projected to
// the table's current schema (casts for widened types, NULL for columns the files predate), and
// the groups are combined with UNION ALL. Rows named by the snapshot's delete files are removed
// with an anti-join on the row id. Pure text generation; no DuckDB.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "table/snapshot.h"

namespace supertable {

struct ScanOptions {
  // Columns to produce, in order; empty means the whole current schema.
  std::vector<std::string> columns;
  // Types to produce the columns as; empty means the snapshot's schema. A writer passes the
  // schema its batch has, which may have widened or new columns.
  std::vector<Column> as_schema;
  bool system_columns = false;  // append __st_row_id and __st_commit_time
  bool file_name = false;       // append __st_file, the path the row was read from
  // Restrict to these data files (by key); empty means every file of the snapshot.
  std::vector<std::string> only_files;
};

// A SELECT statement producing the snapshot's live rows.
std::string ScanSql(const Snapshot& snapshot, const std::function<std::string(const std::string&)>& read_path,
                    const ScanOptions& options);

// The name of the column that carries the source path when ScanOptions::file_name is set.
inline constexpr const char* kFileNameColumn = "__st_file";

}  // namespace supertable

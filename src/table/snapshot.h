// Snapshot: one immutable version of a table. A snapshot document (JSON in the ObjectStore) lists
// the complete state of the table at that version: its schema, every live data file with its
// statistics, and the delete files whose row ids are subtracted at read time. A reader needs
// nothing but this one document to read the table (format: docs/STORAGE_FORMAT.md).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace supertable {

// Hidden system columns, never shown unless the caller asks for them. __st_commit_time is
// stored in every data file; __st_row_id (unique within a table) is derived from the file's
// position for fresh files and stored in compacted ones (see DataFile).
inline constexpr const char* kRowIdColumn = "__st_row_id";            // BIGINT
inline constexpr const char* kCommitTimeColumn = "__st_commit_time";  // TIMESTAMPTZ of the write

struct Column {
  std::string name;
  std::string type;  // DuckDB type name, e.g. BIGINT, VARCHAR, DECIMAL(18,3), STRUCT(a INTEGER)
  bool operator==(const Column&) const = default;
};

// The column of `cols` named `name` as SQL names it (case-insensitive; names are unique that
// way), or nullptr.
const Column* FindColumn(const std::vector<Column>& cols, const std::string& name);

// Min/max are DuckDB's text form of the values (CAST(text AS type) restores them); absent when
// the writer could not record them (e.g. nested types, very long strings).
struct ColumnStats {
  std::optional<std::string> min;
  std::optional<std::string> max;
  int64_t null_count = 0;
};

struct DataFile {
  std::string key;           // ObjectStore key
  int64_t rows = 0;          // rows in the file, including ones deleted later
  int64_t deleted_rows = 0;  // rows of this file that delete files remove
  int64_t bytes = 0;
  // Row ids: a freshly written file's rows are min_row_id + their position in the file (nothing
  // stored); a compacted file keeps its rows' ids in a __st_row_id column (row_ids_stored).
  int64_t min_row_id = 0;
  int64_t max_row_id = 0;
  bool row_ids_stored = false;
  int64_t schema_id = 0;                     // the table schema the file was written with
  std::map<std::string, ColumnStats> stats;  // by column name; user columns only
  int64_t live_rows() const { return rows - deleted_rows; }
};

// A Parquet file with one BIGINT column (__st_row_id) naming deleted rows (merge-on-read).
struct DeleteFile {
  std::string key;
  int64_t rows = 0;
  std::vector<std::string> targets;  // keys of the data files it deletes rows from
};

struct Snapshot {
  int64_t version = 0;
  int64_t parent_version = 0;  // 0 for the first snapshot
  int64_t committed_micros = 0;
  std::string operation;
  int64_t schema_id = 0;  // increases whenever the schema changes
  std::vector<Column> schema;
  // The schema of every schema_id a live data file was written with (including the current one),
  // so a reader knows exactly which columns each file has and which to fill with NULL.
  std::map<int64_t, std::vector<Column>> file_schemas;
  std::vector<DataFile> files;
  std::vector<DeleteFile> deletes;
  int64_t next_row_id = 0;  // row ids below this have been handed out
  // The columns new files are sorted by (ingest --cluster-by, compact --sort-by), remembered so
  // that later writes and compactions keep the order; empty: arrival order.
  std::vector<std::string> cluster_by;

  int64_t live_rows() const;
  int64_t total_bytes() const;
  const Column* FindColumn(const std::string& name) const;  // case-insensitive, as SQL is

  std::string ToJson() const;
  static Result<Snapshot> FromJson(const std::string& text);
};

// Parsed snapshot documents by key. Documents never change once written, so a parsed one can
// be kept: the most recently used, up to `max_files` file entries in all (about 1 KiB each).
// Thread-safe. Used by the warehouse for every read of a table and by engine workers, which
// read the snapshots of the tables a query names themselves instead of being sent them.
class SnapshotCache {
 public:
  explicit SnapshotCache(size_t max_files = 50000) : max_files_(max_files) {}
  // The snapshot under `key`: from the cache, or parsed from what `read` returns.
  Result<std::shared_ptr<const Snapshot>> Get(const std::string& key,
                                              const std::function<Result<std::string>()>& read);

 private:
  using Entries = std::list<std::pair<std::string, std::shared_ptr<const Snapshot>>>;
  const size_t max_files_;
  std::mutex mu_;
  Entries entries_;  // most recently used first
  std::unordered_map<std::string, Entries::iterator> index_;
  size_t files_ = 0;  // file entries (plus one per document) held
};

// The JSON forms the snapshot document uses, also for handing files and schemas to an engine
// worker process. The FromJson functions throw nlohmann::json exceptions on malformed input.
nlohmann::json ColumnsToJson(const std::vector<Column>& columns);
std::vector<Column> ColumnsFromJson(const nlohmann::json& j);
nlohmann::json DataFileToJson(const DataFile& f);
DataFile DataFileFromJson(const nlohmann::json& j);

// ObjectStore key layout for a table (docs/STORAGE_FORMAT.md).
std::string TablePrefix(const std::string& org, const std::string& super_name,
                        const std::string& table);

}  // namespace supertable

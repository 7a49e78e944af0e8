// Engine: everything SuperTable asks of DuckDB, behind an interface that exposes no DuckDB type,
// so that only src/engine/ pays for including duckdb.hpp. It reads input files, computes what a
// write must add and delete, writes Parquet files with their statistics into a staging
// directory, and runs queries over views of pinned snapshots. It never touches the catalog and
// never publishes anything: the table layer decides what to commit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/cancel_token.h"
#include "common/config.h"
#include "common/status.h"
#include "engine/input_scan.h"
#include "engine/table_policy.h"
#include "table/snapshot.h"

namespace supertable {

class ObjectCache;

// kJsonArray is kJson after the reader has seen a '[' first; users name only kJson.
enum class InputFormat { kAuto, kCsv, kJson, kJsonArray, kParquet };
// "csv", "json", "ndjson", "jsonl", "parquet"; auto resolves from the file extension.
Result<InputFormat> ParseInputFormat(const std::string& name);
Result<InputFormat> ResolveInputFormat(InputFormat f, const std::string& path);

enum class WriteMode { kAppend, kUpsert, kDeleteOnly };

// Reports fractions in [0, 1] while long DuckDB work runs; called from a watcher thread.
using ProgressFn = std::function<void(double fraction)>;

struct WriteSpec {
  std::string input_path;
  InputFormat format = InputFormat::kAuto;
  WriteMode mode = WriteMode::kAppend;
  std::vector<std::string> key_columns;  // overwrite_columns (upsert, delete_only)
  std::optional<std::string> newer_than;
  const Snapshot* base = nullptr;  // the snapshot the write applies to; nullptr for a new table
  std::function<std::string(const std::string& key)>
      read_path;            // ObjectStore key -> path DuckDB opens
  std::string staging_dir;  // where new files are written; must exist
  int64_t first_row_id = 0;
  int64_t commit_micros = 0;
  int64_t target_file_bytes = 128ll << 20;
  // Sort the new rows by these columns (of the table after the write) before they are split
  // into files, so that the files' ranges do not overlap and prune well; empty: input order.
  std::vector<std::string> cluster_by;
  InputLimits limits;  // checked by the pre-scan before DuckDB reads the input
  ProgressFn progress;
};

// A finished file in the staging directory, not yet in the ObjectStore.
struct StagedDataFile {
  std::string local_path;
  DataFile meta;  // everything but `key`
};

struct StagedDeleteFile {
  std::string local_path;
  int64_t rows = 0;
  std::map<std::string, int64_t> per_target;  // data file key -> rows of it this file deletes
};

struct WriteOutcome {
  std::vector<Column> schema;  // the table schema after this write
  bool schema_changed = false;
  std::vector<StagedDataFile> data_files;
  std::optional<StagedDeleteFile> delete_file;
  int64_t input_rows = 0;
  int64_t inserted = 0;
  int64_t deleted = 0;             // stored rows removed (replaced or deleted)
  int64_t skipped_stale = 0;       // incoming rows dropped by newer_than
  int64_t skipped_duplicates = 0;  // earlier duplicates of a key inside the batch
  int64_t files_scanned = 0;       // stored files read to find matching keys
  int64_t files_pruned = 0;        // stored files skipped thanks to their statistics
};

// A moment in a table's history: a version, or the version current at a timestamp.
struct AsOf {
  std::optional<int64_t> version;
  std::optional<int64_t> timestamp_micros;
};

// How a query names a table: `table` (super_name empty: the query's super) or `super.table`.
struct TableName {
  std::string super_name;
  std::string table;
  std::optional<AsOf> as_of;  // from AT (VERSION => n) / AT (TIMESTAMP => '...') in the SQL
};

// A relation read from NDJSON objects instead of a table's Parquet files: the warehouse's system
// tables (system.audit). The snapshot lists the objects (keys and sizes) and, as `schema`, the
// relation's columns; DuckDB reads the objects with read_json and exactly `fields` as their
// schema (other keys are ignored, missing ones are NULL), keeps the rows where `where` holds and
// projects `columns`. The plan check lets read_json through only over these objects.
struct JsonRelation {
  std::vector<Column> fields;
  std::vector<std::pair<std::string, std::string>> columns;  // name, SQL expression over fields
  std::string where;                                         // SQL predicate; empty: every row
};

// A table reference resolved by the caller (the warehouse): the pinned snapshot and the policy.
struct ResolvedTable {
  std::string display_name;  // "super.table" as errors should name it
  std::shared_ptr<const Snapshot> snapshot;
  // The object key of the snapshot's document, when it is one: an engine worker is then sent
  // the key alone and reads (and keeps) the document itself. Empty for relations made in memory.
  std::string snapshot_key;
  TablePolicy policy;
  std::optional<JsonRelation> json = std::nullopt;  // set: the snapshot's files are NDJSON
};

using TableResolver = std::function<Result<ResolvedTable>(const TableName& name)>;

// Receives a query's result; rows are arrays of JSON-encoded cells (docs/USER_GUIDE.md, "Types").
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void Begin(const std::vector<Column>& columns) = 0;
  virtual void Row(const std::vector<nlohmann::json>& cells) = 0;
  virtual void End(bool truncated) = 0;
};

struct QuerySpec {
  TableResolver resolve;  // called once per distinct table the SQL names, before it runs
  std::function<std::string(const std::string& key)> read_path;
  std::string sql;
  int64_t row_limit = -1;          // -1: none; otherwise stop after this many rows: truncated
  int64_t result_byte_limit = -1;  // -1: none; otherwise stop once the JSON-encoded rows pass it
  int64_t timeout_ms = 0;          // 0: none; otherwise interrupt the query and fail
  bool system_columns = false;     // expose __st_row_id and __st_commit_time in the views
  // Bind, plan and check the statement (the sink gets its columns) without running it: what
  // validate_sql needs, and unlike EXPLAIN it prints nothing of the views' policies.
  bool validate_only = false;
  // Leave out the data files whose statistics show they hold no row the query's predicates
  // admit (file_pruning.h). Off only to compare against (tests, benchmarks).
  bool prune_files = true;
  CancelToken* cancel = nullptr;  // Cancel() stops the query; it then fails with kCancelled
  // Write the rows (within the same limits) as a Parquet file at this path, a file of the
  // engine's temporary directory, instead of handing them to the sink (which still gets the
  // columns and the end); "": rows go to the sink.
  std::string parquet_output;
  // Values of the statement's named parameters, as a JSON object's text ($min_amount:
  // {"min_amount": 10}), bound by DuckDB, never spliced into the SQL (DecodeParameter's kinds:
  // strings, numbers, booleans, null, arrays of one kind). Text, not a json member, so this
  // header stays light. A parameter without a value, or a value without a parameter, fails.
  std::string parameters_json;
};

struct QueryStats {
  int64_t rows = 0;
  bool truncated = false;
  std::string truncated_reason;  // "row limit" or "result byte limit"
  int64_t elapsed_micros = 0;
  // Data files of the tables the query reads, counted per reference to a table, and how many of
  // them their statistics left out (QuerySpec::prune_files).
  int64_t files = 0;
  int64_t files_pruned = 0;
  // Filled by the warehouse, for the audit trail: the tables the query read ("super.table") and
  // the policies applied to them ("row_filter:s.t", "columns:s.t", "mask:s.t.col").
  std::vector<std::string> tables;
  std::vector<std::string> policies;
};

// Limits on users' SQL that the guard checks before DuckDB binds anything: DuckDB crashes
// (stack overflow, and a reported SIGFPE in its hash aggregate) on statements far past them
// (docs/SECURITY.md). Settings SUPERTABLE_MAX_SQL_BYTES, _EXPRESSIONS, _DEPTH.
struct SqlLimits {
  int64_t max_bytes = kDefaultMaxSqlBytes;              // length of the SQL text
  int64_t max_expressions = kDefaultMaxSqlExpressions;  // every node of every expression tree
  int max_depth = kDefaultMaxSqlDepth;  // brackets, expressions, subqueries, types, type strings
};

struct EngineOptions {
  int threads = 0;
  std::string memory_limit;
  std::string temp_directory;
  // The only directories users' queries may read (the organization's part of the object
  // store); everything else, files, network, extensions, settings, is closed to them. Remote
  // entries (kRemoteScheme + key prefix) also limit which keys the query instance may open.
  std::vector<std::string> readable_directories;
  // IsolatedEngine: worker processes, so operations running at once, and queries that may wait
  // for one; beyond that: "busy".
  int max_concurrent_queries = 4;
  int max_queued_queries = 16;
  SqlLimits sql_limits;
  // Remote objects (paths under kRemoteScheme) are read through this cache; nullptr when the
  // store is local. Must outlive the engine.
  ObjectCache* object_cache = nullptr;

  // Engine workers (docs/ARCHITECTURE.md, "Engine workers"): the command (argv) that starts one
  // worker process, which serves this one over file descriptor 3. With a command, every
  // operation runs in a supervised worker (a crash, runaway or memory blow-up there is the
  // caller's error, never this process's end); empty, DuckDB runs in this process, which only
  // programs linked with the in-process engine can do (the worker itself, tests, benchmarks:
  // SetInProcessEngineFactory). DefaultEngineWorkerCommand() is what the supertable binary
  // registered.
  std::vector<std::string> worker_command;
  // What a worker needs to open the same object store and cache as this process.
  std::string storage_type = "LOCAL";
  std::string home;
  int64_t cache_max_bytes = 0;
  // How long a worker may overrun a query's time limit, or a cancel, before it is killed.
  int64_t kill_grace_ms = 1000;
};

// The worker command every Warehouse opened in this process uses (empty until set). The
// supertable binary sets `supertable-engine` beside itself; tests set the binary they built.
void SetDefaultEngineWorkerCommand(std::vector<std::string> argv);
std::vector<std::string> DefaultEngineWorkerCommand();

class Engine;
// DuckDB in this process (src/engine/duckdb_engine.cc, in the supertable_duck library). The
// supertable binary does not link it: it starts faster without DuckDB's library, and every
// operation it runs goes to an engine worker (the supertable-engine binary) anyway.
Result<std::unique_ptr<Engine>> OpenDuckEngine(const EngineOptions& options);
// What Engine::Open uses without a worker command; programs that link the in-process engine set
// it to OpenDuckEngine. Unset, such an Open is an error.
using InProcessEngineFactory = Result<std::unique_ptr<Engine>> (*)(const EngineOptions&);
void SetInProcessEngineFactory(InProcessEngineFactory factory);

// The one message for a query stopped at its time limit, wherever it was stopped.
Status QueryTimeoutError(int64_t timeout_ms);

class Engine {
 public:
  virtual ~Engine() = default;
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options);

  // Reads the input and computes the write against spec.base; leaves files in staging_dir.
  // The caller removes staged files if it does not commit them.
  virtual Result<WriteOutcome> PrepareWrite(const WriteSpec& spec) = 0;

  // Rewrites `files` of `snapshot` (deleted rows dropped, row ids kept) into new staged files.
  virtual Result<std::vector<StagedDataFile>> RewriteFiles(
      const Snapshot& snapshot, const std::vector<DataFile>& files,
      const std::function<std::string(const std::string&)>& read_path,
      const std::string& staging_dir, int64_t target_file_bytes) = 0;

  // Runs users' SQL in the sandboxed DuckDB instance (docs/USER_GUIDE.md, "Queries").
  virtual Result<QueryStats> Query(const QuerySpec& spec, ResultSink& sink) = 0;

  // Whether `filter` is a row filter an access policy may hold (engine/row_filter.h): parsed by
  // DuckDB's parser, so checked where DuckDB is.
  virtual Status CheckRowFilter(const std::string& filter) = 0;

  // Starts the workers ahead of the first request, so a server's first queries do not wait for
  // them (a no-op in process).
  virtual void Prestart() {}
};

}  // namespace supertable

// Warehouse: the service layer every front door calls. It owns the catalog, the object store and
// the engine for one organization, and implements the operations users name: write a table,
// list, describe, history, query, compact, gc, drop. A CLI command, and later an MCP tool or a
// REST endpoint, that does the same thing calls the same method here.
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

#include "catalog/catalog.h"
#include "common/config.h"
#include "common/periodic_task.h"
#include "common/status.h"
#include "engine/engine.h"
#include "storage/object_cache.h"
#include "storage/object_store.h"
#include "table/snapshot.h"

namespace supertable {

struct WriteRequest {
  std::string input_path;
  InputFormat format = InputFormat::kAuto;
  WriteMode mode = WriteMode::kAppend;
  std::vector<std::string> key_columns;
  std::optional<std::string> newer_than;
  // Sort the written rows by these columns, and remember them for the table's later writes and
  // compactions (Snapshot::cluster_by); an empty list forgets it. Unset: the remembered order.
  std::optional<std::vector<std::string>> cluster_by;
  ProgressFn progress;
  // Called once per attempt after the new files are staged and before anything is published.
  // Tests use it to interleave another writer's commit (the "lock expired meanwhile" case).
  std::function<void(int attempt)> before_commit;
};

struct WriteResult {
  int64_t version = 0;  // the version committed; unchanged when nothing was written
  bool committed = false;
  int attempts = 0;  // > 1 when a concurrent commit forced a retry
  WriteOutcome outcome;
};

// How far one caller reaches into a table. kNone: the table does not exist for them (the same
// answer as a missing table, everywhere). kMeta: its name, schema and statistics that reveal no
// values. kRead: its rows, through its TablePolicy. kWrite: also writes.
enum class TableAccess { kNone, kMeta, kRead, kWrite };

struct TableSummary {
  std::string name;
  int64_t version = 0;
  int64_t rows = 0;
  int64_t files = 0;
  int64_t bytes = 0;
  int64_t committed_micros = 0;
  // Set when the caller reads the table through a row filter: rows, files and bytes would tell
  // them about rows they may not see, and are zero.
  bool stats_withheld = false;
};

struct ColumnSummary {
  Column column;
  int64_t null_count = 0;
  std::optional<std::string> min, max;  // over all live files; absent when not every file has stats
};

struct TableDescription {
  TableSummary summary;
  std::vector<ColumnSummary> columns;
  int64_t delete_files = 0;
  int64_t deleted_rows = 0;
  TableAccess access = TableAccess::kWrite;
  std::vector<std::string> masked;  // columns the caller sees masked (by at least one role)
};

// Which tables, columns and rows one caller may see: the security layer builds one per request
// from the caller's roles (security/policy.h). Every warehouse operation that shows data or
// metadata takes one; nullptr is the local administrator, who sees everything.
class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  // `super_name`.`table` as the catalog spells them. Fills `policy` for kRead and kWrite.
  virtual TableAccess ForTable(const std::string& super_name, const std::string& table,
                               TablePolicy* policy) const = 0;
  // Whether the super table shows in listings even with no visible table in it (a grant of
  // "super.*" shows an empty super).
  virtual bool ShowsSuper(const std::string& super_name) const = 0;
  // Whether the caller administers the organization: then `system.audit` resolves to its audit
  // trail (table/system_tables.h); otherwise that name is an unknown table like any other.
  // Without a policy (the local administrator, a superuser) it does.
  virtual bool ReadsAudit() const { return false; }
};

// A fixed policy: the listed tables ("super.table", any case) are readable through their
// TablePolicy, every other table does not exist. For tests and tools that need no roles.
class FixedAccessPolicy : public AccessPolicy {
 public:
  std::map<std::string, TablePolicy> tables;
  TableAccess ForTable(const std::string& super_name, const std::string& table,
                       TablePolicy* policy) const override;
  bool ShowsSuper(const std::string&) const override { return false; }
};

struct QueryRequest {
  QueryRequest() = default;
  QueryRequest(std::string super, std::string query, int64_t limit = -1, bool system = false)
      : super_name(std::move(super)),
        sql(std::move(query)),
        row_limit(limit),
        system_columns(system) {}

  std::string super_name;  // the super whose tables unqualified names mean
  std::string sql;
  int64_t row_limit = -1;  // -1: none
  bool system_columns = false;
  bool validate_only = false;      // see QuerySpec::validate_only
  bool prune_files = true;         // see QuerySpec::prune_files
  std::optional<AsOf> as_of;       // every table without its own AT clause is read as of this
  int64_t timeout_ms = -1;         // -1: SUPERTABLE_QUERY_TIMEOUT_MS; 0: none
  int64_t result_byte_limit = -1;  // -1: SUPERTABLE_MAX_RESULT_BYTES
  const AccessPolicy* policy = nullptr;
  CancelToken* cancel = nullptr;  // see QuerySpec::cancel
  // Set: the rows are written as a Parquet file (QuerySpec::parquet_output) instead of going to
  // the sink, and this receives its path, a file of the home's tmp/ the caller must remove.
  std::string* parquet_file = nullptr;
  // Values of the SQL's named parameters, a JSON object's text (QuerySpec::parameters_json).
  std::string parameters_json;
};

struct CompactOptions {
  int64_t target_file_bytes = 0;  // 0: the configured SUPERTABLE_TARGET_FILE_BYTES
  // Rewrite the table sorted by these columns so that no two files' ranges of the first one
  // overlap, and remember them as the table's order (Snapshot::cluster_by); an empty list
  // forgets it. Unset: the table's remembered order, if any (then only overlapping files, files
  // with deletes and runs of small ones are rewritten), else merge small files only.
  std::optional<std::vector<std::string>> sort_by;
};

struct CompactResult {
  int64_t version = 0;
  bool committed = false;
  int64_t files_before = 0, files_after = 0;
  int64_t files_rewritten = 0;
  int64_t deletes_applied = 0;
};

inline constexpr int64_t kGcClockSlackMicros = 5ll * 1000000;

struct GcOptions {
  // Keep history this long; in effect never less than running_query_window_micros.
  int64_t retention_micros = 7LL * 24 * 3600 * 1000000;
  // Versions current within this window are kept whatever the retention: a query on any server
  // may still be reading the version it pinned at its start. Default: Config::LongestQueryMs()
  // plus kGcClockSlackMicros.
  std::optional<int64_t> running_query_window_micros;
  int64_t grace_micros = 3600LL * 1000000;  // never delete unreferenced files younger than this
  bool dry_run = false;
};

struct GcResult {
  int64_t versions_expired = 0;
  int64_t files_deleted = 0;
  int64_t bytes_deleted = 0;
  int64_t files_kept = 0;
  std::vector<std::string> deleted_keys;
};

class Warehouse {
 public:
  // Opens (creating if needed) the warehouse under config.home for config.organization.
  static Result<std::unique_ptr<Warehouse>> Open(const Config& config);

  const Config& config() const { return config_; }
  Catalog& catalog() { return *catalog_; }
  ObjectStore& store() { return *store_; }
  Engine& engine() { return *engine_; }
  // nullptr when the store is local.
  ObjectCache* object_cache() { return cache_.get(); }
  TableRef Ref(const std::string& super_name, const std::string& table) const {
    return {config_.organization, super_name, table};
  }

  Result<WriteResult> Write(const TableRef& table, const WriteRequest& request);

  // Every read operation below shows only what `policy` lets the caller see (nullptr: all). A
  // table or super they may not see is reported exactly as a missing one, and never suggested.
  Result<std::vector<std::string>> ListSupers(const AccessPolicy* policy = nullptr);
  Result<std::vector<TableSummary>> ListTables(const std::string& super_name,
                                               const AccessPolicy* policy = nullptr);
  // Columns the caller may not see are left out; statistics that would reveal values they may
  // not read (min/max of masked columns, anything under a row filter, values for kMeta) are
  // withheld: `stats_withheld` says so.
  Result<TableDescription> Describe(const TableRef& table, const AccessPolicy* policy = nullptr);
  // Under a row filter the counters of each commit (rows inserted, deleted) are withheld too.
  Result<std::vector<CommitRecord>> History(const TableRef& table,
                                            const AccessPolicy* policy = nullptr);
  // The current snapshot (or the one of `version`) and the record it was committed with.
  Result<Snapshot> LoadSnapshot(const TableRef& table,
                                std::optional<int64_t> version = std::nullopt);
  Result<QueryStats> Query(const QueryRequest& request, ResultSink& sink);
  // The version of `table` to read for `as_of` (the current one when absent).
  Result<CommitRecord> ResolveVersion(const TableRef& table, const std::optional<AsOf>& as_of);

  Result<CompactResult> Compact(const TableRef& table, const CompactOptions& options);
  Result<GcResult> Gc(const TableRef& table, const GcOptions& options);
  // Removes staging leftovers of crashed writers older than the grace period.
  Result<int64_t> CleanStaging(int64_t grace_micros);

  // An empty super table (ingest makes one too, on its first write). AlreadyExists when it does.
  Status CreateSuper(const std::string& super_name);
  Status DropTable(const TableRef& table);
  Status DropSuper(const std::string& super_name);

  // NotFound with a suggestion when the super or table does not exist (for the caller).
  Status CheckSuperExists(const std::string& super_name, const AccessPolicy* policy = nullptr);
  Result<CommitRecord> RequireHead(const TableRef& table, const AccessPolicy* policy = nullptr);
  // InvalidArgument when `table` (or its super) differs from an existing name only by case.
  Status CheckNoCaseClash(const TableRef& table);

  std::string ReadPath(const std::string& key) const { return store_->ReadPath(key); }

  // The snapshot document under `key`, through the SnapshotCache: a repeated query on object
  // storage then costs no GET for its snapshot. Data file sizes go to the object cache, which then
  // needs no HEAD to open them.
  Result<std::shared_ptr<const Snapshot>> ReadSnapshot(const std::string& key);

 private:
  Warehouse(Config config, std::unique_ptr<Catalog> catalog, std::unique_ptr<ObjectStore> store,
            std::unique_ptr<ObjectCache> cache, std::unique_ptr<Engine> engine)
      : config_(std::move(config)),
        catalog_(std::move(catalog)),
        store_(std::move(store)),
        cache_(std::move(cache)),
        engine_(std::move(engine)) {}

  // Moves staged files (local path, key) into the store, writes `snap` as a new snapshot
  // document and compare-and-swaps it in as the table's current version. On any failure,
  // Conflict included, the published objects are deleted again. Every commit goes through here.
  Status PublishAndCommit(const TableRef& table, int64_t expected_version, Snapshot& snap,
                          const std::vector<std::pair<std::string, std::string>>& moves,
                          const std::string& summary);

  Config config_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<ObjectStore> store_;
  // Remote stores only: the engine workers read through their own ObjectCache over the same
  // directory and report their traffic to this one (info, benchmarks).
  std::unique_ptr<ObjectCache> cache_;
  std::unique_ptr<Engine> engine_;

  SnapshotCache snapshots_;
};

// Keeps a lock's lease alive from a background thread while a long write runs.
class LockKeeper {
 public:
  LockKeeper(Lock& lock, int64_t ttl_ms);

 private:
  PeriodicTask renew_;
};

// The lock that serializes writers (and maintenance) of one table.
std::string TableLockName(const TableRef& table);

}  // namespace supertable

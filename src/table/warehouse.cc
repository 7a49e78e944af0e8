// Warehouse: opening, listing, describing, querying and dropping. Writes are in
// table_writer.cc, compaction and gc in maintenance.cc.
#include "table/warehouse.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"
#include "common/names.h"
#include "engine/schema_evolution.h"
#include "storage/remote_object_store.h"
#include "table/system_tables.h"

namespace supertable {

namespace {

// Orders two statistics values of one column type. Text forms of dates and timestamps sort
// like the values; numbers need parsing.
bool StatLess(const std::string& type, const std::string& a, const std::string& b) {
  if (IsNumericTypeName(type))
    return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
  return a < b;
}

}  // namespace

std::string TableLockName(const TableRef& t) {
  return fmt::format("table:{}:{}:{}", t.org, t.super_name, t.table);
}

LockKeeper::LockKeeper(Lock& lock, int64_t ttl_ms)
    : renew_(std::chrono::milliseconds(std::max<int64_t>(ttl_ms / 3, 10)), [&lock] {
        Status st = lock.Renew();
        // A lost lock is not fatal: the commit's compare-and-swap still refuses a stale write.
        if (!st.ok()) log::Warn("{}", st.message());
      }) {}

Result<std::unique_ptr<Warehouse>> Warehouse::Open(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.home, ec);
  if (ec)
    return Status::IoError(
        fmt::format("cannot create SUPERTABLE_HOME {}: {}", config.home, ec.message()));
  ST_ASSIGN_OR_RETURN(auto catalog, OpenCatalog(config.locking_backend, config.home));
  ST_ASSIGN_OR_RETURN(auto store, OpenObjectStore(config.storage_type, config.home));
  std::filesystem::create_directories(store->StagingDir(), ec);
  if (ec)
    return Status::IoError(
        fmt::format("cannot create staging {}: {}", store->StagingDir(), ec.message()));
  EngineOptions eo;
  eo.threads = config.duckdb_threads;
  eo.memory_limit = config.duckdb_memory_limit;
  eo.temp_directory = config.home + "/tmp";
  // Only this organization's objects (keys are org/super/table/..., docs/STORAGE_FORMAT.md);
  // the plan check narrows each query further, to the files it pinned.
  eo.readable_directories = {store->ReadRoot() + config.organization + "/"};
  eo.sql_limits = {config.max_sql_bytes, config.max_sql_expressions,
                   static_cast<int>(config.max_sql_depth)};
  eo.max_concurrent_queries = config.max_concurrent_queries;
  eo.max_queued_queries = config.query_queue;
  eo.worker_command = DefaultEngineWorkerCommand();
  eo.storage_type = config.storage_type;
  eo.home = config.home;
  eo.cache_max_bytes = config.cache_max_bytes;
  std::unique_ptr<ObjectCache> cache;
  if (auto* remote = dynamic_cast<RemoteObjectStore*>(store.get())) {
    cache = std::make_unique<ObjectCache>(remote, remote->Describe(), config.home + "/cache",
                                          config.cache_max_bytes);
    eo.object_cache = cache.get();
  }
  ST_ASSIGN_OR_RETURN(auto engine, Engine::Open(eo));
  return std::unique_ptr<Warehouse>(new Warehouse(config, std::move(catalog), std::move(store),
                                                  std::move(cache), std::move(engine)));
}

TableAccess FixedAccessPolicy::ForTable(const std::string& super_name, const std::string& table,
                                        TablePolicy* policy) const {
  std::string full = super_name + "." + table;
  for (const auto& [key, tp] : tables) {
    if (strcasecmp(key.c_str(), full.c_str()) == 0) {
      if (policy) *policy = tp;
      return TableAccess::kRead;
    }
  }
  return TableAccess::kNone;
}

namespace {

bool Visible(const AccessPolicy* p, const std::string& super_name, const std::string& table) {
  TablePolicy ignored;
  return !p || p->ForTable(super_name, table, &ignored) != TableAccess::kNone;
}

}  // namespace

Status Warehouse::CheckSuperExists(const std::string& super_name, const AccessPolicy* policy) {
  ST_RETURN_IF_ERROR(ValidateName(super_name, "super table"));
  ST_ASSIGN_OR_RETURN(bool exists, catalog_->SuperExists(config_.organization, super_name));
  if (exists && policy && !policy->ShowsSuper(super_name)) {
    ST_ASSIGN_OR_RETURN(auto entries, catalog_->ListTables(config_.organization, super_name));
    exists = std::any_of(entries.begin(), entries.end(),
                         [&](const TableEntry& e) { return Visible(policy, super_name, e.name); });
  }
  if (exists) return Status::Ok();
  ST_ASSIGN_OR_RETURN(auto supers, ListSupers(policy));
  return Status::NotFound(fmt::format("unknown super table '{}' in organization '{}'{}", super_name,
                                      config_.organization, DidYouMean(super_name, supers)));
}

Result<CommitRecord> Warehouse::RequireHead(const TableRef& t, const AccessPolicy* policy) {
  ST_RETURN_IF_ERROR(ValidateName(t.table, "table"));
  ST_RETURN_IF_ERROR(CheckSuperExists(t.super_name, policy));
  ST_ASSIGN_OR_RETURN(auto head, catalog_->GetHead(t));
  if (head && Visible(policy, t.super_name, t.table)) return *head;
  ST_ASSIGN_OR_RETURN(auto tables, catalog_->ListTables(t.org, t.super_name));
  std::vector<std::string> names;
  for (const auto& e : tables) {
    if (Visible(policy, t.super_name, e.name)) names.push_back(e.name);
  }
  return Status::NotFound(fmt::format("unknown table '{}' in super table '{}'{}", t.table,
                                      t.super_name, DidYouMean(t.table, names)));
}

Result<Snapshot> Warehouse::LoadSnapshot(const TableRef& t, std::optional<int64_t> version) {
  ST_ASSIGN_OR_RETURN(CommitRecord head, RequireHead(t));
  std::string key = head.snapshot_key;
  if (version && *version != head.version) {
    ST_ASSIGN_OR_RETURN(auto history, catalog_->History(t));
    auto it = std::find_if(history.begin(), history.end(),
                           [&](const CommitRecord& r) { return r.version == *version; });
    if (it == history.end()) {
      return Status::NotFound(
          fmt::format("table {} has no version {} (current is {}; older versions may have expired)",
                      t.ToString(), *version, head.version));
    }
    key = it->snapshot_key;
  }
  ST_ASSIGN_OR_RETURN(auto snap, ReadSnapshot(key));
  return *snap;
}

Result<std::shared_ptr<const Snapshot>> Warehouse::ReadSnapshot(const std::string& key) {
  return snapshots_.Get(key, [&] { return store_->Get(key); });
}

Result<std::vector<std::string>> Warehouse::ListSupers(const AccessPolicy* policy) {
  ST_ASSIGN_OR_RETURN(auto supers, catalog_->ListSupers(config_.organization));
  if (!policy) return supers;
  std::vector<std::string> out;
  for (const auto& s : supers) {
    bool shown = policy->ShowsSuper(s);
    if (!shown) {
      ST_ASSIGN_OR_RETURN(auto entries, catalog_->ListTables(config_.organization, s));
      shown = std::any_of(entries.begin(), entries.end(),
                          [&](const TableEntry& e) { return Visible(policy, s, e.name); });
    }
    if (shown) out.push_back(s);
  }
  return out;
}

Result<std::vector<TableSummary>> Warehouse::ListTables(const std::string& super_name,
                                                        const AccessPolicy* policy) {
  ST_RETURN_IF_ERROR(CheckSuperExists(super_name, policy));
  ST_ASSIGN_OR_RETURN(auto entries, catalog_->ListTables(config_.organization, super_name));
  std::vector<TableSummary> out;
  for (const auto& e : entries) {
    TablePolicy tp;
    if (policy && policy->ForTable(super_name, e.name, &tp) == TableAccess::kNone) continue;
    TableSummary summary{e.name, e.head.version, 0, 0, 0, e.head.committed_micros, tp.filtered()};
    if (!summary.stats_withheld) {
      ST_ASSIGN_OR_RETURN(auto s, ReadSnapshot(e.head.snapshot_key));
      summary.rows = s->live_rows();
      summary.files = static_cast<int64_t>(s->files.size());
      summary.bytes = s->total_bytes();
    }
    out.push_back(summary);
  }
  return out;
}

Result<TableDescription> Warehouse::Describe(const TableRef& t, const AccessPolicy* policy) {
  // One look-up of the head, for the access check and the snapshot both.
  ST_ASSIGN_OR_RETURN(CommitRecord head, RequireHead(t, policy));
  TablePolicy tp;
  TableAccess access = policy ? policy->ForTable(t.super_name, t.table, &tp) : TableAccess::kWrite;
  ST_ASSIGN_OR_RETURN(auto snapshot, ReadSnapshot(head.snapshot_key));
  const Snapshot& s = *snapshot;
  TableDescription d;
  d.access = access;
  bool filtered = tp.filtered();
  d.summary = {
      t.table,         head.version,          s.live_rows(), static_cast<int64_t>(s.files.size()),
      s.total_bytes(), head.committed_micros, filtered};
  d.delete_files = static_cast<int64_t>(s.deletes.size());
  for (const auto& f : s.files) d.deleted_rows += f.deleted_rows;
  if (filtered)
    d.summary.rows = d.summary.files = d.summary.bytes = d.delete_files = d.deleted_rows = 0;
  for (const auto& c : s.schema) {
    TablePolicy::Exposure exposure = tp.ExposureOf(c.name);
    if (exposure == TablePolicy::Exposure::kHidden) continue;
    if (std::any_of(tp.views.begin(), tp.views.end(),
                    [&](const RoleView& v) { return v.Shows(c.name) && v.MaskOf(c.name); })) {
      d.masked.push_back(c.name);
    }
    ColumnSummary cs;
    cs.column = c;
    // Statistics are values of rows: kept from whoever may not read every value as stored.
    if (filtered || access == TableAccess::kMeta || exposure != TablePolicy::Exposure::kPlain) {
      cs.null_count = -1;
      d.columns.push_back(std::move(cs));
      continue;
    }
    // Plain strings, not optionals, while folding: GCC 12 misreports optional<string> here.
    std::string lo, hi;
    bool have = false, complete = !s.files.empty();
    for (const auto& f : s.files) {
      auto it = f.stats.find(c.name);
      if (it == f.stats.end()) {
        complete = false;
        continue;
      }
      // Stats count rows of the file as written; deleted rows may still be in them.
      cs.null_count += it->second.null_count;
      if (!it->second.min || !it->second.max) {
        if (it->second.null_count < f.rows) complete = false;
        continue;
      }
      if (!have || StatLess(c.type, *it->second.min, lo)) lo = *it->second.min;
      if (!have || StatLess(c.type, hi, *it->second.max)) hi = *it->second.max;
      have = true;
    }
    if (complete && have) {
      cs.min = lo;
      cs.max = hi;
    }
    d.columns.push_back(std::move(cs));
  }
  return d;
}

Result<std::vector<CommitRecord>> Warehouse::History(const TableRef& t,
                                                     const AccessPolicy* policy) {
  ST_RETURN_IF_ERROR(RequireHead(t, policy).status());
  TablePolicy tp;
  if (policy) policy->ForTable(t.super_name, t.table, &tp);
  ST_ASSIGN_OR_RETURN(auto history, catalog_->History(t));
  if (tp.filtered()) {
    for (auto& r : history) r.summary_json = "{}";  // counts of rows the caller may not see
  }
  return history;
}

Result<CommitRecord> Warehouse::ResolveVersion(const TableRef& t,
                                               const std::optional<AsOf>& as_of) {
  ST_ASSIGN_OR_RETURN(CommitRecord head, RequireHead(t));
  if (!as_of || (!as_of->version && !as_of->timestamp_micros)) return head;
  ST_ASSIGN_OR_RETURN(auto history, catalog_->History(t));
  if (as_of->version) {
    for (const auto& r : history) {
      if (r.version == *as_of->version) return r;
    }
    return Status::NotFound(fmt::format(
        "table {} has no version {} (versions {}..{} are retained)", t.ToString(), *as_of->version,
        history.empty() ? head.version : history.front().version, head.version));
  }
  const CommitRecord* found = nullptr;
  for (const auto& r : history) {
    if (r.committed_micros <= *as_of->timestamp_micros) found = &r;
  }
  if (!found) {
    return Status::NotFound(fmt::format(
        "table {} has no version as of {}: its oldest retained version was committed at {}",
        t.ToString(), FormatTimestamp(*as_of->timestamp_micros),
        FormatTimestamp(history.empty() ? head.committed_micros
                                        : history.front().committed_micros)));
  }
  return *found;
}

Result<QueryStats> Warehouse::Query(const QueryRequest& req, ResultSink& sink) {
  ST_RETURN_IF_ERROR(CheckSuperExists(req.super_name, req.policy));
  QuerySpec spec;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const Snapshot>>> pins;  // key, doc
  std::optional<std::vector<std::string>> supers_listed;
  std::map<std::string, std::vector<TableEntry>> tables_listed;
  std::map<std::string, TablePolicy> read;  // what the query read, for QueryStats
  // Called for each table the SQL names, before it runs: that is when the snapshot is pinned.
  spec.resolve = [&](const TableName& name) -> Result<ResolvedTable> {
    if ((!req.policy || req.policy->ReadsAudit()) && IsAuditTableName(name)) {
      return ResolveAuditTable(*store_, config_.organization, name);
    }
    std::string super_name = name.super_name.empty() ? req.super_name : name.super_name;
    ST_RETURN_IF_ERROR(ValidateName(super_name, "super table"));
    ST_RETURN_IF_ERROR(ValidateName(name.table, "table"));
    // Catalog names are exact; SQL names are not: find the table the way SQL would. The
    // listings are read once per query, however many tables it names.
    if (!supers_listed) {
      ST_ASSIGN_OR_RETURN(supers_listed, catalog_->ListSupers(config_.organization));
    }
    for (const auto& s : *supers_listed) {
      if (strcasecmp(s.c_str(), super_name.c_str()) == 0) super_name = s;
    }
    auto listed_it = tables_listed.find(super_name);
    if (listed_it == tables_listed.end()) {
      ST_ASSIGN_OR_RETURN(auto entries, catalog_->ListTables(config_.organization, super_name));
      listed_it = tables_listed.emplace(super_name, std::move(entries)).first;
    }
    const std::vector<TableEntry>& listed = listed_it->second;
    std::string table = name.table;
    const TableEntry* entry = nullptr;
    for (const auto& e : listed) {
      if (strcasecmp(e.name.c_str(), table.c_str()) == 0) {
        table = e.name;
        entry = &e;
      }
    }
    std::string full = super_name + "." + table;
    TablePolicy policy;
    if (req.policy) {
      // A table the caller may not read looks exactly like one that does not exist: the
      // message repeats the caller's spelling and suggests only tables they may see.
      TableAccess access =
          entry ? req.policy->ForTable(super_name, table, &policy) : TableAccess::kNone;
      if (access == TableAccess::kNone) {
        // Only a miss needs the visible names (for the suggestion).
        std::string asked =
            name.super_name.empty() ? name.table : name.super_name + "." + name.table;
        std::vector<std::string> visible;
        for (const auto& e : listed) {
          if (Visible(req.policy, super_name, e.name)) visible.push_back(e.name);
        }
        return Status::NotFound(
            fmt::format("unknown table '{}'{}", asked, DidYouMean(name.table, visible)));
      }
      if (access == TableAccess::kMeta) {
        return Status::PermissionDenied(fmt::format(
            "table '{}': your roles show its structure and statistics, not its rows", full));
      }
    }
    TableRef ref = Ref(super_name, table);
    const std::optional<AsOf>& as_of = name.as_of ? name.as_of : req.as_of;
    // The listing already holds the current version; history is read only for time travel, and
    // the catalog only again to explain a name that was not found.
    CommitRecord rec;
    if (entry && !as_of) {
      rec = entry->head;
    } else {
      ST_ASSIGN_OR_RETURN(rec, ResolveVersion(ref, as_of));
    }
    // `orders` and `shop.orders` in one query are one table: one pinned snapshot, not two reads
    // of the catalog that a commit could fall between.
    std::string pin_key = full + "\x1f" + std::to_string(rec.version);
    if (!name.as_of && !req.as_of) pin_key = full;
    auto pinned = pins.find(pin_key);
    if (pinned == pins.end()) {
      ST_ASSIGN_OR_RETURN(auto snap, ReadSnapshot(rec.snapshot_key));
      pinned = pins.emplace(pin_key, std::make_pair(rec.snapshot_key, std::move(snap))).first;
    }
    read[full] = policy;
    return ResolvedTable{full, pinned->second.second, pinned->second.first, std::move(policy)};
  };
  spec.read_path = [this](const std::string& key) { return store_->ReadPath(key); };
  spec.sql = req.sql;
  spec.row_limit = req.row_limit;
  spec.system_columns = req.system_columns;
  spec.validate_only = req.validate_only;
  spec.prune_files = req.prune_files;
  spec.cancel = req.cancel;
  spec.parameters_json = req.parameters_json;
  if (req.parquet_file) {
    spec.parquet_output = config_.home + "/tmp/result-" + RandomId() + ".parquet";
    *req.parquet_file = spec.parquet_output;
  }
  spec.timeout_ms = req.timeout_ms >= 0 ? req.timeout_ms : config_.query_timeout_ms;
  // gc's running-query window (Config::LongestQueryMs) only protects queries that end within
  // it: none may ask for longer, "no limit" included.
  if (spec.timeout_ms <= 0 || spec.timeout_ms > config_.LongestQueryMs()) {
    spec.timeout_ms = config_.LongestQueryMs();
  }
  spec.result_byte_limit = req.result_byte_limit >= 0     ? req.result_byte_limit
                           : config_.max_result_bytes > 0 ? config_.max_result_bytes
                                                          : -1;
  auto ran = engine_->Query(spec, sink);
  if (!ran.ok() && req.parquet_file) {
    std::error_code ec;
    std::filesystem::remove(*req.parquet_file, ec);  // a failed query leaves no file
    req.parquet_file->clear();
  }
  ST_ASSIGN_OR_RETURN(QueryStats stats, std::move(ran));
  if (!req.validate_only) {
    log::Info("query: {} rows in {:.1f} ms; read {} of {} data files ({} pruned by statistics)",
              stats.rows, static_cast<double>(stats.elapsed_micros) / 1000.0,
              stats.files - stats.files_pruned, stats.files, stats.files_pruned);
  }
  for (const auto& [name, policy] : read) {
    stats.tables.push_back(name);
    for (const auto& v : policy.views) {
      if (!v.row_filter.empty()) stats.policies.push_back("row_filter:" + name);
      if (v.columns) stats.policies.push_back("columns:" + name);
      for (const auto& [c, m] : v.masks) stats.policies.push_back("mask:" + name + "." + c);
    }
  }
  std::sort(stats.policies.begin(), stats.policies.end());
  stats.policies.erase(std::unique(stats.policies.begin(), stats.policies.end()),
                       stats.policies.end());
  return stats;
}

Status Warehouse::DropTable(const TableRef& t) {
  ST_RETURN_IF_ERROR(RequireHead(t).status());
  ST_ASSIGN_OR_RETURN(auto lock, catalog_->AcquireLock(TableLockName(t), config_.lock_ttl_ms,
                                                       config_.lock_timeout_ms));
  // Catalog first: once it is gone nobody can start reading it, then the files go.
  ST_RETURN_IF_ERROR(catalog_->DropTable(t));
  ST_ASSIGN_OR_RETURN(auto objects, store_->List(TablePrefix(t.org, t.super_name, t.table)));
  for (const auto& o : objects) ST_RETURN_IF_ERROR(store_->Delete(o.key));
  // Temporary files of crashed writes too: no gc will visit a dropped table again.
  ST_RETURN_IF_ERROR(
      store_->RemoveAbandoned(TablePrefix(t.org, t.super_name, t.table), NowMicros()).status());
  return lock->Release();
}

Status Warehouse::CreateSuper(const std::string& super_name) {
  ST_RETURN_IF_ERROR(ValidateName(super_name, "super table"));
  ST_ASSIGN_OR_RETURN(auto supers, catalog_->ListSupers(config_.organization));
  for (const auto& s : supers) {
    if (s == super_name) {
      return Status::AlreadyExists(fmt::format("super table '{}' already exists", super_name));
    }
    if (strcasecmp(s.c_str(), super_name.c_str()) == 0) {
      return Status::InvalidArgument(
          fmt::format("super table '{}' differs from the existing '{}' only by case; SQL names "
                      "are case-insensitive",
                      super_name, s));
    }
  }
  return catalog_->RestoreSuper(config_.organization, super_name);
}

Status Warehouse::DropSuper(const std::string& super_name) {
  ST_RETURN_IF_ERROR(CheckSuperExists(super_name));
  ST_ASSIGN_OR_RETURN(auto entries, catalog_->ListTables(config_.organization, super_name));
  for (const auto& e : entries) ST_RETURN_IF_ERROR(DropTable(Ref(super_name, e.name)));
  ST_RETURN_IF_ERROR(catalog_->DropSuper(config_.organization, super_name));
  // Files of writes that never committed to a table of this super.
  ST_ASSIGN_OR_RETURN(auto objects, store_->List(config_.organization + "/" + super_name + "/"));
  for (const auto& o : objects) ST_RETURN_IF_ERROR(store_->Delete(o.key));
  return Status::Ok();
}

}  // namespace supertable

// Warehouse::Write: the commit protocol for appends, upserts and deletes
// (docs/COMMIT_PROTOCOL.md). Under the table's lock: read the current snapshot, let the engine
// stage the new files, publish them and a new snapshot document in the object store, then
// compare-and-swap the catalog's current version. A lost race (possible only if the lock
// expired) discards the staged work and starts again from the new current snapshot.
#include <strings.h>

#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/log.h"
#include "common/names.h"
#include "table/warehouse.h"

namespace supertable {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxCommitAttempts = 8;

const char* OperationName(const WriteRequest& r) {
  switch (r.mode) {
    case WriteMode::kAppend:
      return r.key_columns.empty() ? "append" : "upsert";
    case WriteMode::kUpsert:
      return "upsert";
    case WriteMode::kDeleteOnly:
      return "delete";
  }
  return "write";
}

// Removes a staging directory when the write it belongs to ends, committed or not.
struct StagingDir {
  std::string path;
  ~StagingDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

// Publishes staged files and the snapshot document, then tries the compare-and-swap. Returns
// Conflict when another writer committed first; the published objects are then deleted (but
// not after an I/O error of the catalog, whose outcome is unknown).
Status Warehouse::PublishAndCommit(const TableRef& t, int64_t expected_version, Snapshot& snap,
                                   const std::vector<std::pair<std::string, std::string>>& moves,
                                   const std::string& summary) {
  ObjectStore& store = *store_;
  std::vector<std::string> published;
  auto rollback = [&](Status s) {
    for (const auto& key : published) (void)store.Delete(key);
    return s;
  };
  for (const auto& [local, key] : moves) {
    Status s = store.PutFile(key, local);
    if (!s.ok()) return rollback(s);
    published.push_back(key);
  }
  std::string snap_key =
      fmt::format("{}_snapshots/{:010d}-{}.json", TablePrefix(t.org, t.super_name, t.table),
                  snap.version, RandomId());
  snap.committed_micros = NowMicros();
  Status s = store.PutIfAbsent(snap_key, snap.ToJson());
  if (!s.ok()) return rollback(s);
  published.push_back(snap_key);
  CommitRecord rec{snap.version, snap_key, snap.committed_micros, snap.operation, summary};
  s = catalog_->Commit(t, expected_version, rec);
  // A conflict is a definite "no": the files are ours alone. An I/O error may hide a commit that
  // landed (a remote catalog's reply lost for good), so its files stay; if the commit did not
  // land they are unreferenced, and gc removes them after the grace period.
  if (s.code() == StatusCode::kIoError || s.code() == StatusCode::kTimeout) {
    return s.WithContext(fmt::format("commit of {} version {} (outcome unknown; snapshot {})",
                                     t.ToString(), snap.version, snap_key));
  }
  if (!s.ok()) return rollback(s);
  return Status::Ok();
}

// SQL names are case-insensitive: "Orders" and "orders" would be one view, so a new table or
// super table may not differ from an existing one only by case.
Status Warehouse::CheckNoCaseClash(const TableRef& t) {
  auto clash = [](const std::string& kind, const std::string& name,
                  const std::vector<std::string>& existing) {
    for (const auto& e : existing) {
      if (e != name && strcasecmp(e.c_str(), name.c_str()) == 0) {
        return Status::InvalidArgument(
            fmt::format("{} '{}' differs from the existing '{}' only by case; SQL names are "
                        "case-insensitive, use '{}'",
                        kind, name, e, e));
      }
    }
    return Status::Ok();
  };
  ST_ASSIGN_OR_RETURN(auto supers, catalog_->ListSupers(t.org));
  ST_RETURN_IF_ERROR(clash("super table", t.super_name, supers));
  ST_ASSIGN_OR_RETURN(auto tables, catalog_->ListTables(t.org, t.super_name));
  std::vector<std::string> names;
  for (const auto& e : tables) names.push_back(e.name);
  return clash("table", t.table, names);
}

Result<WriteResult> Warehouse::Write(const TableRef& t, const WriteRequest& req) {
  ST_RETURN_IF_ERROR(ValidateName(t.super_name, "super table"));
  ST_RETURN_IF_ERROR(ValidateName(t.table, "table"));
  if (req.mode != WriteMode::kAppend && req.key_columns.empty()) {
    return Status::InvalidArgument(
        "upsert and delete_only need key columns (--overwrite-columns a,b)");
  }
  if (req.newer_than && req.key_columns.empty()) {
    return Status::InvalidArgument(
        "--newer-than needs key columns (--overwrite-columns) to compare rows by");
  }
  std::error_code ec;
  if (!fs::is_regular_file(req.input_path, ec)) {
    return Status::InvalidArgument(fmt::format("{}: no such file", req.input_path));
  }

  ST_RETURN_IF_ERROR(CheckNoCaseClash(t));
  ST_ASSIGN_OR_RETURN(auto lock, catalog_->AcquireLock(TableLockName(t), config_.lock_ttl_ms,
                                                       config_.lock_timeout_ms));
  LockKeeper keeper(*lock, config_.lock_ttl_ms);
  std::string prefix = TablePrefix(t.org, t.super_name, t.table);

  WriteResult result;
  for (int attempt = 1; attempt <= kMaxCommitAttempts; ++attempt) {
    result.attempts = attempt;
    ST_ASSIGN_OR_RETURN(auto head, catalog_->GetHead(t));
    std::optional<Snapshot> base;
    if (head) {
      ST_ASSIGN_OR_RETURN(auto snap, ReadSnapshot(head->snapshot_key));
      base = *snap;
    } else if (req.mode == WriteMode::kDeleteOnly) {
      return Status::NotFound(
          fmt::format("cannot delete from {}: the table does not exist", t.ToString()));
    }

    StagingDir staging{store_->StagingDir() + "/" + RandomId()};
    fs::create_directories(staging.path, ec);
    if (ec) return Status::IoError(fmt::format("cannot create {}: {}", staging.path, ec.message()));

    WriteSpec spec;
    spec.input_path = req.input_path;
    spec.format = req.format;
    spec.mode = req.mode;
    spec.key_columns = req.key_columns;
    spec.newer_than = req.newer_than;
    spec.base = base ? &*base : nullptr;
    spec.read_path = [this](const std::string& key) { return store_->ReadPath(key); };
    spec.staging_dir = staging.path;
    spec.first_row_id = base ? base->next_row_id : 0;
    spec.commit_micros = NowMicros();
    spec.target_file_bytes = config_.target_file_bytes;
    spec.cluster_by = req.cluster_by ? *req.cluster_by
                      : base         ? base->cluster_by
                                     : std::vector<std::string>{};
    spec.limits = {config_.max_input_columns, config_.max_input_nesting_depth,
                   config_.max_input_record_bytes};
    spec.progress = req.progress;
    ST_ASSIGN_OR_RETURN(WriteOutcome out, engine_->PrepareWrite(spec));

    if (base && out.inserted == 0 && out.deleted == 0 && !out.schema_changed) {
      result.version = head->version;
      result.outcome = std::move(out);
      return result;  // nothing to commit: no empty versions in the history
    }

    Snapshot next = base ? *base : Snapshot{};
    next.version = head ? head->version + 1 : 1;
    next.parent_version = head ? head->version : 0;
    next.operation = OperationName(req);
    next.schema = out.schema;
    next.schema_id = base ? base->schema_id + (out.schema_changed ? 1 : 0) : 1;
    next.file_schemas[next.schema_id] = next.schema;
    next.cluster_by = spec.cluster_by;  // the engine checked the columns exist
    std::vector<std::pair<std::string, std::string>> moves;
    int64_t max_row_id = next.next_row_id - 1;
    for (auto& f : out.data_files) {
      f.meta.key = prefix + "data/" + RandomId() + ".parquet";
      moves.emplace_back(f.local_path, f.meta.key);
      max_row_id = std::max(max_row_id, f.meta.max_row_id);
      next.files.push_back(f.meta);
    }
    next.next_row_id = std::max(next.next_row_id, max_row_id + 1);
    if (out.delete_file) {
      DeleteFile d;
      d.key = prefix + "deletes/" + RandomId() + ".parquet";
      d.rows = out.delete_file->rows;
      for (auto& f : next.files) {
        auto it = out.delete_file->per_target.find(f.key);
        if (it == out.delete_file->per_target.end()) continue;
        f.deleted_rows += it->second;
        d.targets.push_back(f.key);
      }
      moves.emplace_back(out.delete_file->local_path, d.key);
      next.deletes.push_back(std::move(d));
    }

    nlohmann::json summary = {{"input_rows", out.input_rows},
                              {"inserted", out.inserted},
                              {"deleted", out.deleted},
                              {"skipped_stale", out.skipped_stale},
                              {"skipped_duplicates", out.skipped_duplicates},
                              {"files_added", out.data_files.size()},
                              {"files_scanned", out.files_scanned},
                              {"files_pruned", out.files_pruned}};
    if (out.schema_changed) summary["schema_changed"] = true;
    if (req.before_commit) req.before_commit(attempt);
    Status s = PublishAndCommit(t, head ? head->version : 0, next, moves, summary.dump());
    if (s.code() == StatusCode::kConflict) {
      log::Info("{}: concurrent commit, retrying (attempt {})", t.ToString(), attempt);
      continue;
    }
    ST_RETURN_IF_ERROR(s);
    result.version = next.version;
    result.committed = true;
    result.outcome = std::move(out);
    return result;  // the keeper stops, then the lock's destructor releases it
  }
  return Status::Conflict(
      fmt::format("{}: gave up after {} attempts; other writers kept committing first",
                  t.ToString(), kMaxCommitAttempts));
}

}  // namespace supertable

// Warehouse maintenance: compaction (merge small files, apply deletes), snapshot expiry and gc
// of files no retained snapshot references. Both commit through the same compare-and-swap as
// writes, so they can run while others write and read.
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/log.h"
#include "table/warehouse.h"

namespace supertable {

namespace fs = std::filesystem;

Result<CompactResult> Warehouse::Compact(const TableRef& t, const CompactOptions& options) {
  int64_t target =
      options.target_file_bytes > 0 ? options.target_file_bytes : config_.target_file_bytes;
  ST_RETURN_IF_ERROR(RequireHead(t).status());
  ST_ASSIGN_OR_RETURN(auto lock, catalog_->AcquireLock(TableLockName(t), config_.lock_ttl_ms,
                                                       config_.lock_timeout_ms));
  LockKeeper keeper(*lock, config_.lock_ttl_ms);
  std::string prefix = TablePrefix(t.org, t.super_name, t.table);
  CompactResult result;
  for (int attempt = 0; attempt < 8; ++attempt) {
    ST_ASSIGN_OR_RETURN(CommitRecord head, RequireHead(t));
    ST_ASSIGN_OR_RETURN(auto base_doc, ReadSnapshot(head.snapshot_key));
    const Snapshot& base = *base_doc;
    result = CompactResult{};
    result.version = head.version;
    result.files_before = static_cast<int64_t>(base.files.size());
    // Sorted compaction rewrites every file in the table's order, so the new files' ranges
    // do not overlap. Otherwise: files that carry deletes, and files small enough that merging
    // them pays off.
    Snapshot sorted = base;
    sorted.cluster_by = options.sort_by.value_or(base.cluster_by);
    bool order_changed = sorted.cluster_by != base.cluster_by;
    std::vector<DataFile> rewrite, keep;
    int64_t small = 0;
    for (const auto& f : base.files) {
      if (f.bytes < target / 2) ++small;
    }
    for (const auto& f : base.files) {
      bool is_small = f.bytes < target / 2 && small > 1;
      if (!sorted.cluster_by.empty() || f.deleted_rows > 0 || is_small ||
          (f.schema_id != base.schema_id && small > 0)) {
        rewrite.push_back(f);
      } else {
        keep.push_back(f);
      }
    }
    if (!order_changed &&
        (rewrite.empty() || (rewrite.size() == 1 && rewrite[0].deleted_rows == 0))) {
      result.files_after = result.files_before;
      return result;  // already compact
    }
    std::string staging = store_->StagingDir() + "/" + RandomId();
    std::error_code ec;
    fs::create_directories(staging, ec);
    auto staged = engine_->RewriteFiles(
        sorted, rewrite, [this](const std::string& k) { return store_->ReadPath(k); }, staging,
        target);
    if (!staged.ok()) {
      fs::remove_all(staging, ec);
      return staged.status();
    }
    Snapshot next = base;
    next.cluster_by = sorted.cluster_by;
    next.version = head.version + 1;
    next.parent_version = head.version;
    next.operation = "compact";
    next.files = keep;
    std::vector<std::pair<std::string, std::string>> moves;
    for (auto& f : *staged) {
      f.meta.key = prefix + "data/" + RandomId() + ".parquet";
      moves.emplace_back(f.local_path, f.meta.key);
      next.files.push_back(f.meta);
    }
    // Delete files survive only for the files they still target.
    std::set<std::string> kept_keys;
    for (const auto& f : keep) kept_keys.insert(f.key);
    next.deletes.clear();
    for (const auto& d : base.deletes) {
      DeleteFile nd = d;
      nd.targets.clear();
      for (const auto& k : d.targets) {
        if (kept_keys.count(k)) nd.targets.push_back(k);
      }
      if (!nd.targets.empty()) next.deletes.push_back(std::move(nd));
    }
    std::set<int64_t> live_schemas;
    for (const auto& f : next.files) live_schemas.insert(f.schema_id);
    live_schemas.insert(next.schema_id);
    for (auto it = next.file_schemas.begin(); it != next.file_schemas.end();) {
      it = live_schemas.count(it->first) ? std::next(it) : next.file_schemas.erase(it);
    }
    for (const auto& f : rewrite) result.deletes_applied += f.deleted_rows;
    result.files_rewritten = static_cast<int64_t>(rewrite.size());
    result.files_after = static_cast<int64_t>(next.files.size());
    nlohmann::json summary = {{"files_rewritten", result.files_rewritten},
                              {"files_before", result.files_before},
                              {"files_after", result.files_after},
                              {"deletes_applied", result.deletes_applied}};
    Status s = PublishAndCommit(t, head.version, next, moves, summary.dump());
    fs::remove_all(staging, ec);
    if (s.ok()) {
      result.version = next.version;
      result.committed = true;
      return result;
    }
    if (s.code() != StatusCode::kConflict) return s;
  }
  return Status::Conflict(
      fmt::format("{}: compaction kept losing to concurrent commits; try again", t.ToString()));
}

Result<GcResult> Warehouse::Gc(const TableRef& t, const GcOptions& options) {
  ST_ASSIGN_OR_RETURN(CommitRecord head, RequireHead(t));
  GcResult result;
  int64_t now = NowMicros();
  // A query anywhere may still be reading the version that was current when it started, and no
  // query runs longer than the query timeout: whatever the retention asked for, versions current
  // within that window (plus slack for clocks and snapshot loading) stay.
  const int64_t running_query_window = options.running_query_window_micros.value_or(
      config_.LongestQueryMs() * 1000 + kGcClockSlackMicros);
  int64_t cutoff = now - std::max(options.retention_micros, running_query_window);

  // 1. Expire history older than the retention window, but keep the newest version that was
  //    already current at the cutoff: "as of" any moment inside the window must still resolve.
  ST_ASSIGN_OR_RETURN(auto history, catalog_->History(t));
  int64_t keep_from = history.empty() ? head.version : history.front().version;
  for (const auto& r : history) {
    if (r.committed_micros <= cutoff) keep_from = r.version;
  }
  for (const auto& r : history) {
    if (r.version < keep_from) ++result.versions_expired;
  }
  if (!options.dry_run && result.versions_expired > 0)
    ST_RETURN_IF_ERROR(catalog_->ExpireHistory(t, keep_from));

  // 2. Everything a retained version needs. Read after expiry: a version that commits meanwhile
  //    only references files that are retained or younger than the grace period.
  ST_ASSIGN_OR_RETURN(history, catalog_->History(t));
  std::set<std::string> referenced;
  for (const auto& r : history) {
    if (r.version < keep_from) continue;  // dry run: expiry did not happen
    referenced.insert(r.snapshot_key);
    ST_ASSIGN_OR_RETURN(auto s, ReadSnapshot(r.snapshot_key));
    for (const auto& f : s->files) referenced.insert(f.key);
    for (const auto& d : s->deletes) referenced.insert(d.key);
  }

  // 3. Delete the rest, except files young enough to belong to a write still in progress, and
  //    the temporary files of writes that crashed.
  if (!options.dry_run) {
    ST_ASSIGN_OR_RETURN(int64_t leftovers,
                        store_->RemoveAbandoned(TablePrefix(t.org, t.super_name, t.table),
                                                now - options.grace_micros));
    result.files_deleted += leftovers;
  }
  ST_ASSIGN_OR_RETURN(auto objects, store_->List(TablePrefix(t.org, t.super_name, t.table)));
  for (const auto& o : objects) {
    if (referenced.count(o.key) || o.modified_micros > now - options.grace_micros) {
      ++result.files_kept;
      continue;
    }
    if (!options.dry_run) ST_RETURN_IF_ERROR(store_->Delete(o.key));
    ++result.files_deleted;
    result.bytes_deleted += o.size;
    result.deleted_keys.push_back(o.key);
  }
  return result;
}

Result<int64_t> Warehouse::CleanStaging(int64_t grace_micros) {
  int64_t removed = 0;
  std::error_code ec;
  auto cutoff = fs::file_time_type::clock::now() - std::chrono::microseconds(grace_micros);
  for (const auto& e : fs::directory_iterator(store_->StagingDir(), ec)) {
    // A write in progress keeps touching files deep inside its directory, not the directory
    // itself: judge an entry by the newest file in it.
    auto newest = e.last_write_time(ec);
    if (e.is_directory(ec)) {
      for (const auto& f : fs::recursive_directory_iterator(e.path(), ec))
        newest = std::max(newest, f.last_write_time(ec));
    }
    if (newest < cutoff) {
      fs::remove_all(e.path(), ec);
      ++removed;
    }
  }
  return removed;
}

}  // namespace supertable

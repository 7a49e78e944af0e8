// Warehouse maintenance: compaction (merge small files, apply deletes), snapshot expiry and gc
// of files no retained snapshot references. Both commit through the same compare-and-swap as
// writes, so they can run while others write and read.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/log.h"
#include "table/warehouse.h"

namespace supertable {

namespace fs = std::filesystem;

namespace {

// Orders two statistics values of a column of `type` (their text as the snapshot stores it), for
// deciding which files' ranges overlap; nullopt for a type this cannot order without DuckDB.
// Only the layout depends on it: a wrong answer rewrites a file too many or too few, never
// changes a row.
std::optional<int> CompareStat(const std::string& type, const std::string& a,
                               const std::string& b) {
  auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  try {
    if (type == "TINYINT" || type == "SMALLINT" || type == "INTEGER" || type == "BIGINT" ||
        type == "UTINYINT" || type == "USMALLINT" || type == "UINTEGER") {
      return sign(std::stoll(a), std::stoll(b));
    }
    if (type == "UBIGINT") return sign(std::stoull(a), std::stoull(b));
    if (type == "FLOAT" || type == "DOUBLE" || type.rfind("DECIMAL", 0) == 0) {
      return sign(std::stod(a), std::stod(b));
    }
  } catch (...) {
    return std::nullopt;
  }
  // ISO text orders as the values do (years 0 to 9999); strings compare by bytes, as DuckDB's
  // statistics do.
  if (type == "VARCHAR" || type == "DATE" || type.rfind("TIMESTAMP", 0) == 0) {
    return sign(a.compare(b), 0);
  }
  return std::nullopt;
}

// Sorted compaction: the files that must be rewritten for no two files' ranges of the order's
// first column to overlap (a shared end aside), with their deletes applied, and runs of
// neighbouring small files (below `small_bytes`) merged. Files whose range overlaps no other
// file's, with no deleted rows, in the current schema and not in such a run, stay; when the
// ranges cannot be compared, every file is rewritten.
std::vector<bool> SortedRewrite(const Snapshot& snap, const std::string& first_column,
                                int64_t small_bytes) {
  std::vector<bool> rewrite(snap.files.size(), true);
  const Column* col = snap.FindColumn(first_column);
  if (!col) return rewrite;
  std::vector<size_t> order;
  for (size_t i = 0; i < snap.files.size(); ++i) {
    auto st = snap.files[i].stats.find(col->name);
    if (st == snap.files[i].stats.end() || !st->second.min || !st->second.max ||
        st->second.null_count > 0) {
      return rewrite;  // a range not known (or NULLs, which sort apart): rewrite everything
    }
    order.push_back(i);
  }
  bool comparable = true;
  auto less = [&](const std::string& x, const std::string& y) {
    auto c = CompareStat(col->type, x, y);
    comparable = comparable && c.has_value();
    return c.value_or(0) < 0;
  };
  auto lo = [&](size_t i) -> const std::string& { return *snap.files[i].stats.at(col->name).min; };
  auto hi = [&](size_t i) -> const std::string& { return *snap.files[i].stats.at(col->name).max; };
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return less(lo(x), lo(y)); });
  if (!comparable) return rewrite;
  // Groups of files whose ranges overlap: a group of one stays as it is, unless it is small and
  // next to other small ones (in the order), which are merged with it.
  std::vector<size_t> small_run;  // consecutive small files that stand alone
  auto end_run = [&] {
    if (small_run.size() > 1) {
      for (size_t i : small_run) rewrite[i] = true;
    }
    small_run.clear();
  };
  for (size_t g = 0; g < order.size();) {
    size_t end = g + 1;
    std::string group_hi = hi(order[g]);
    while (end < order.size() && less(lo(order[end]), group_hi)) {
      if (less(group_hi, hi(order[end]))) group_hi = hi(order[end]);
      ++end;
    }
    if (!comparable) return std::vector<bool>(snap.files.size(), true);
    if (end == g + 1) {
      const DataFile& f = snap.files[order[g]];
      rewrite[order[g]] = f.deleted_rows > 0 || f.schema_id != snap.schema_id;
      if (f.bytes < small_bytes) {
        small_run.push_back(order[g]);
      } else {
        end_run();
      }
    } else {
      end_run();
    }
    g = end;
  }
  end_run();
  return rewrite;
}

}  // namespace

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
    // Sorted compaction rewrites, in the table's order, the files whose ranges overlap (all of
    // them when the order is new), so that no two files' ranges do afterwards. Otherwise: files
    // that carry deletes, and files small enough that merging them pays off.
    const std::vector<std::string> order = options.sort_by.value_or(base.cluster_by);
    bool order_changed = order != base.cluster_by;
    std::vector<bool> sorted_rewrite;
    if (!order.empty()) {
      sorted_rewrite = order_changed ? std::vector<bool>(base.files.size(), true)
                                     : SortedRewrite(base, order.front(), target / 2);
    }
    std::vector<DataFile> rewrite, keep;
    int64_t small = 0;
    for (const auto& f : base.files) {
      if (f.bytes < target / 2) ++small;
    }
    for (size_t i = 0; i < base.files.size(); ++i) {
      const DataFile& f = base.files[i];
      bool is_small = f.bytes < target / 2 && small > 1;
      bool again = order.empty() ? f.deleted_rows > 0 || is_small ||
                                       (f.schema_id != base.schema_id && small > 0)
                                 : sorted_rewrite[i];
      (again ? rewrite : keep).push_back(f);
    }
    if (!order_changed &&
        (rewrite.empty() || (rewrite.size() == 1 && rewrite[0].deleted_rows == 0))) {
      result.files_after = result.files_before;
      return result;  // already compact
    }
    // The next snapshot, with the order the rewrite sorts by; its files and deletes are
    // replaced below, once the rewritten files are staged.
    Snapshot next = base;
    next.cluster_by = order;
    std::string staging = store_->StagingDir() + "/" + RandomId();
    std::error_code ec;
    fs::create_directories(staging, ec);
    auto staged = engine_->RewriteFiles(
        next, rewrite, [this](const std::string& k) { return store_->ReadPath(k); }, staging,
        target);
    if (!staged.ok()) {
      fs::remove_all(staging, ec);
      return staged.status();
    }
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

// The sandboxed query instance and per-query limits.
#include "engine/query_sandbox.h"

#include <duckdb.hpp>

#include <strings.h>

#include <cstring>

#include <algorithm>
#include <map>

#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/names.h"
#include "common/periodic_task.h"
#include "common/text.h"
#include "engine/duck_config.h"
#include "engine/duck_errors.h"
#include "engine/file_pruning.h"
#include "engine/object_file_system.h"
#include "engine/plan_check.h"
#include "engine/row_filter.h"
#include "engine/sql_guard.h"
#include "engine/sql_text.h"
#include "engine/table_scan.h"
#include "engine/value_encoding.h"
#include "storage/remote_object_store.h"

namespace supertable {

namespace {

Status Exec(duckdb::Connection& con, const std::string& sql) {
  auto r = con.Query(sql);
  if (r->HasError()) return FromDuckError(r->GetErrorObject());
  return Status::Ok();
}

// Interrupts the connection's running query when the deadline passes (and again at every
// further interval, which is harmless: the query is already stopping).
class Watchdog {
 public:
  Watchdog(duckdb::Connection& con, int64_t timeout_ms) {
    if (timeout_ms <= 0) return;
    task_.emplace(std::chrono::milliseconds(timeout_ms), [this, &con] {
      fired_ = true;
      con.Interrupt();
    });
  }
  bool fired() const { return fired_; }

 private:
  std::atomic<bool> fired_{false};
  std::optional<PeriodicTask> task_;  // last: stopped before fired_ goes away
};

// Roughly how many bytes a cell adds to a JSON result: cheap, and close enough for a guard.
int64_t JsonSize(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::string:
      return static_cast<int64_t>(j.get_ref<const std::string&>().size()) + 2;
    case nlohmann::json::value_t::array:
    case nlohmann::json::value_t::object: {
      int64_t n = 2;
      for (auto it = j.begin(); it != j.end(); ++it) {
        n += JsonSize(*it) + 1;
        if (j.is_object()) n += static_cast<int64_t>(it.key().size()) + 3;
      }
      return n;
    }
    case nlohmann::json::value_t::null:
      return 4;
    default:
      return 8;
  }
}

bool IsTextType(const std::string& type) { return type == "VARCHAR"; }

// Integer types and the modulus that keeps a hash inside each one's positive range.
std::optional<std::string> IntegerModulus(const std::string& type) {
  static const std::map<std::string, std::string> kRanges = {{"TINYINT", "128"},
                                                             {"SMALLINT", "32768"},
                                                             {"INTEGER", "2147483648"},
                                                             {"BIGINT", "9223372036854775807"},
                                                             {"HUGEINT", "9223372036854775807"},
                                                             {"UTINYINT", "256"},
                                                             {"USMALLINT", "65536"},
                                                             {"UINTEGER", "4294967296"},
                                                             {"UBIGINT", "18446744073709551615"},
                                                             {"UHUGEINT", "18446744073709551615"}};
  auto it = kRanges.find(type);
  if (it == kRanges.end()) return std::nullopt;
  return it->second;
}

// What a masked column shows, in the column's type (docs/SECURITY.md, "Masks"): hashes and
// partial values of text, salted hashes of integers, a constant cast to the type; NULL where
// the type cannot hold the mask.
std::string MaskValueSql(const ColumnMask& m, const Column& col, const std::string& salt);

// A NULL stays NULL under every mask: a masked value tells whether there was one, never what.
std::string MaskSql(const ColumnMask& m, const Column& col, const std::string& salt) {
  std::string value = MaskValueSql(m, col, salt);
  if (m.kind == ColumnMask::Kind::kNull) return value;
  return fmt::format("CASE WHEN {} IS NULL THEN CAST(NULL AS {}) ELSE {} END", sql::Ident(col.name),
                     col.type, value);
}

std::string MaskValueSql(const ColumnMask& m, const Column& col, const std::string& salt) {
  std::string c = sql::Ident(col.name);
  std::string null = fmt::format("CAST(NULL AS {})", col.type);
  switch (m.kind) {
    case ColumnMask::Kind::kNull:
      return null;
    case ColumnMask::Kind::kHash: {
      std::string digest = fmt::format("sha256({} || CAST({} AS VARCHAR))", sql::Literal(salt), c);
      if (IsTextType(col.type)) return digest;
      if (auto mod = IntegerModulus(col.type)) {
        return fmt::format("CAST(hash({}) % {} AS {})", digest, *mod, col.type);
      }
      return null;
    }
    case ColumnMask::Kind::kPartial:
      if (!IsTextType(col.type)) return null;
      return fmt::format(
          "CASE WHEN length({0}) <= 4 THEN repeat('*', length({0})) "
          "ELSE repeat('*', length({0}) - 4) || right({0}, 4) END",
          c);
    case ColumnMask::Kind::kConstant:
      return fmt::format("TRY_CAST({} AS {})", sql::Literal(m.constant), col.type);
  }
  return null;
}

// The columns (lower case) whose values the view shows as stored, to every row: predicates on
// them may prune files. A column masked or hidden for some rows shows something else there.
std::set<std::string> PlainColumns(const ResolvedTable& t) {
  std::set<std::string> out;
  for (const auto& col : t.snapshot->schema) {
    if (t.policy.ExposureOf(col.name) == TablePolicy::Exposure::kPlain) {
      out.insert(AsciiLower(col.name));
    }
  }
  return out;
}

// The view text for one resolved table: the union of the caller's role views (table_policy.h):
// rows any role admits, columns any role shows, each value unmasked, masked or NULL by the roles
// that admit its row.
// `file_lists`: where the file lists go when the text names them as parameters (ScanOptions),
// for a table without a policy; null to spell them out.
Result<std::string> ViewSql(const ResolvedTable& t, const QuerySpec& spec, const Snapshot& snap,
                            std::vector<std::vector<std::string>>* file_lists) {
  ScanOptions so;
  so.system_columns = spec.system_columns;
  so.file_lists = t.policy.restricted() ? nullptr : file_lists;
  std::string inner;
  if (t.json) {
    std::vector<std::string> paths;
    for (const auto& f : snap.files) paths.push_back(spec.read_path(f.key));
    inner = JsonScanSql(*t.json, paths);
  } else {
    inner = ScanSql(snap, spec.read_path, so);
  }
  if (!t.policy.restricted()) return fmt::format("SELECT * FROM ({}) AS __st_t", inner);
  std::vector<std::string> filters;  // per view; "" admits every row
  for (const auto& v : t.policy.views) {
    if (v.row_filter.empty()) {
      filters.emplace_back();
      continue;
    }
    auto f = RowFilterSql(v.row_filter, t.policy.user);
    if (!f.ok()) {
      // The filter's text is the administrator's, not the caller's to read.
      return Status::InvalidArgument(fmt::format(
          "the access policy on table '{}' cannot be applied (a row filter is invalid); ask an "
          "administrator",
          t.display_name));
    }
    filters.push_back("(" + *f + ")");
  }
  std::string select;
  for (const auto& col : snap.schema) {
    std::vector<std::string> unmasked_when;
    std::vector<std::pair<std::string, std::string>> masked_when;  // filter, mask
    bool plain = false;
    for (size_t i = 0; i < t.policy.views.size(); ++i) {
      const RoleView& v = t.policy.views[i];
      if (!v.Shows(col.name)) continue;
      if (const ColumnMask* m = v.MaskOf(col.name)) {
        masked_when.emplace_back(filters[i], MaskSql(*m, col, t.policy.mask_salt));
      } else if (filters[i].empty()) {
        plain = true;
      } else {
        unmasked_when.push_back(filters[i]);
      }
    }
    if (!plain && unmasked_when.empty() && masked_when.empty()) continue;  // hidden
    std::string expr = sql::Ident(col.name);
    if (!plain) {
      std::string cases;
      if (!unmasked_when.empty()) {
        cases += fmt::format(" WHEN {} THEN {}", fmt::join(unmasked_when, " OR "), expr);
      }
      std::string otherwise = fmt::format("CAST(NULL AS {})", col.type);
      for (const auto& [filter, mask] : masked_when) {
        if (filter.empty()) {
          otherwise = mask;  // admits every row: nothing after it can apply
          break;
        }
        cases += fmt::format(" WHEN {} THEN {}", filter, mask);
      }
      expr = cases.empty() ? otherwise : fmt::format("CASE{} ELSE {} END", cases, otherwise);
    }
    select += fmt::format("{}{} AS {}", select.empty() ? "" : ", ", expr, sql::Ident(col.name));
  }
  if (select.empty()) {
    return Status::NotFound(
        fmt::format("no column of table '{}' is accessible to you", t.display_name));
  }
  // A JSON relation has no row ids or commit times.
  if (spec.system_columns && !t.json) {
    select += fmt::format(", {}, {}", kRowIdColumn, kCommitTimeColumn);
  }
  std::string where =
      t.policy.filtered() ? " WHERE " + fmt::format("{}", fmt::join(filters, " OR ")) : "";
  return fmt::format("SELECT {} FROM ({}) AS __st_t{}", select, inner, where);
}

// A query's result written as a Parquet file (QuerySpec::parquet_output): the rows are appended
// to a table of a private in-memory DuckDB, a second instance beside the sandboxed one (which
// may not write files), and copied out with DuckDB's own Parquet writer, so every type keeps its
// exact Parquet form. Only internal statements run there; users' SQL never does.
class ParquetExport {
 public:
  static Result<std::unique_ptr<ParquetExport>> Start(duckdb::QueryResult& result,
                                                      std::string path) {
    auto e = std::unique_ptr<ParquetExport>(new ParquetExport(std::move(path)));
    std::string columns;
    std::set<std::string> used;
    for (duckdb::idx_t i = 0; i < result.ColumnCount(); ++i) {
      // Parquet needs distinct names; "SELECT 1, 1" has two columns called "1".
      std::string name = result.ColumnName(i);
      for (int n = 2; !used.insert(AsciiLower(name)).second; ++n) {
        name = result.ColumnName(i) + "_" + std::to_string(n);
      }
      columns +=
          fmt::format("{}{} {}", i ? ", " : "", sql::Ident(name), result.types[i].ToString());
    }
    auto created = e->con_.Query("CREATE TABLE result (" + columns + ")");
    if (created->HasError()) {
      return Status::InvalidArgument("this result cannot be written as Parquet: " +
                                     created->GetError());
    }
    e->appender_ = std::make_unique<duckdb::Appender>(e->con_, "result");
    return e;
  }

  void Append(duckdb::DataChunk& chunk, duckdb::idx_t row) {
    appender_->BeginRow();
    for (duckdb::idx_t c = 0; c < chunk.ColumnCount(); ++c)
      appender_->Append(chunk.GetValue(c, row));
    appender_->EndRow();
  }

  Status Finish() {
    try {
      appender_->Close();
    } catch (const std::exception& e) {
      return Status::Internal(std::string("writing the Parquet result: ") + e.what());
    }
    auto copied = con_.Query(
        fmt::format("COPY result TO {} (FORMAT parquet, COMPRESSION zstd)", sql::Literal(path_)));
    if (copied->HasError()) {
      return Status::IoError("writing the Parquet result: " + copied->GetError());
    }
    return Status::Ok();
  }

 private:
  explicit ParquetExport(std::string path)
      : db_(nullptr, Config().get()), con_(db_), path_(std::move(path)) {}
  static std::unique_ptr<duckdb::DBConfig> Config() {
    auto c = std::make_unique<duckdb::DBConfig>();
    c->options.maximum_threads = 1;
    c->options.autoinstall_known_extensions = false;
    c->options.autoload_known_extensions = false;
    return c;
  }
  duckdb::DuckDB db_;
  duckdb::Connection con_;
  std::unique_ptr<duckdb::Appender> appender_;
  std::string path_;
};

}  // namespace

// A query that reads few rows runs on its own thread alone. DuckDB splits a scan by row group,
// so such a query has no work to share, but with helper threads the calling thread busy-waits
// while they run its pipelines (PendingQueryResult polls the executor) and sizes its hash
// tables for every thread: on a small machine shared with the server, that costs a small query
// a third of its latency and half of its CPU (docs/ARCHITECTURE.md, DuckDB).
// DuckDB's thread count belongs to the instance, so it is lowered only while the query is the
// instance's only one, and raised again by the next query that needs more.
class QuerySandbox::QueryThreads {
 public:
  // Queries reading at most this many rows (one row group of DuckDB's default size, a few
  // milliseconds of one core) run on one thread.
  static constexpr int64_t kSmallRows = 122880;

  QueryThreads(QuerySandbox& sandbox, std::optional<int64_t> rows) : sandbox_(sandbox) {
    std::lock_guard<std::mutex> g(sandbox_.threads_mu_);
    ++sandbox_.running_;
    const bool small = rows && *rows <= kSmallRows;
    int64_t want = small && sandbox_.running_ == 1 ? 1 : sandbox_.all_threads_;
    auto& instance = *sandbox_.db_->instance;
    auto& scheduler = duckdb::TaskScheduler::GetScheduler(instance);
    if (want == scheduler.NumberOfThreads()) return;
    scheduler.SetThreads(static_cast<duckdb::idx_t>(want),
                         duckdb::DBConfig::GetConfig(instance).options.external_threads);
    scheduler.RelaunchThreads();
  }
  ~QueryThreads() {
    std::lock_guard<std::mutex> g(sandbox_.threads_mu_);
    --sandbox_.running_;
  }
  QueryThreads(const QueryThreads&) = delete;
  QueryThreads& operator=(const QueryThreads&) = delete;

 private:
  QuerySandbox& sandbox_;
};

Result<std::unique_ptr<QuerySandbox>> QuerySandbox::Open(const EngineOptions& options) {
  try {
    return OpenOrThrow(options);
  } catch (const std::exception& e) {
    duckdb::ErrorData error(e);
    return Status::InvalidArgument(fmt::format("cannot start DuckDB: {}", error.RawMessage()));
  }
}

Result<std::unique_ptr<QuerySandbox>> QuerySandbox::OpenOrThrow(const EngineOptions& options) {
  auto sandbox = std::unique_ptr<QuerySandbox>(new QuerySandbox(options));
  duckdb::DBConfig config;
  ApplyBaseConfig(options, config);
  sandbox->db_ = std::make_unique<duckdb::DuckDB>(nullptr, &config);
  InstallPlanCheck(*sandbox->db_);
  // 'file.parquet' or 'https://...' in FROM must not turn into a file read. The built-in
  // Parquet and JSON extensions register their replacement scans while the database loads, so
  // they are removed from the open database's configuration, not from `config`.
  duckdb::DBConfig::GetConfig(*sandbox->db_->instance).replacement_scans.clear();
  sandbox->all_threads_ =
      duckdb::TaskScheduler::GetScheduler(*sandbox->db_->instance).NumberOfThreads();
  if (options.object_cache) {
    // The remote entries of readable_directories are the key prefixes this instance may open.
    std::vector<std::string> prefixes;
    for (const auto& d : options.readable_directories) {
      if (d.rfind(kRemoteScheme, 0) == 0) prefixes.push_back(d.substr(std::strlen(kRemoteScheme)));
    }
    RegisterObjectFileSystem(*sandbox->db_, options.object_cache, prefixes);
  }
  RegisterDataFileSystem(*sandbox->db_, options.readable_directories);
  duckdb::Connection con(*sandbox->db_);
  std::string dirs;
  for (const auto& d : options.readable_directories)
    dirs += (dirs.empty() ? "" : ", ") + sql::Literal(d);
  // Order matters: allowed_directories can only be set while external access is still on, and
  // nothing can be set once the configuration is locked.
  // Data files never change once written, so their footers can be cached across queries.
  for (const std::string& stmt : {std::string("SET GLOBAL parquet_metadata_cache = true"),
                                  fmt::format("SET allowed_directories = [{}]", dirs),
                                  std::string("SET enable_external_access = false"),
                                  std::string("SET lock_configuration = true")}) {
    ST_RETURN_IF_ERROR(Exec(con, stmt).WithContext("cannot lock down the query engine"));
  }
  // What turns a string in FROM into a file read, checked where the binder looks for it. Not by
  // a probe query here: its "table does not exist" answer makes DuckDB build every default view
  // of the catalog for its "did you mean" list, which cost a worker's start 15 ms. The probe
  // (VerifyLockdown) runs in the tests, on real files, for the DuckDB build this is pinned to.
  if (!duckdb::DBConfig::GetConfig(*sandbox->db_->instance).replacement_scans.empty()) {
    return Status::Internal(
        "the query engine still reads files named in FROM (replacement scans are active); "
        "refusing to run queries");
  }
  return sandbox;
}

Status QuerySandbox::VerifyLockdown(const std::string& path) {
  // No guard and no plan check here: this probes the instance's own configuration.
  duckdb::Connection con(*db_);
  auto r = con.Query("SELECT * FROM " + sql::Literal(path));
  if (r->HasError() && r->GetErrorObject().Type() == duckdb::ExceptionType::CATALOG) {
    return Status::Ok();  // the path is only a name, and no table has it
  }
  return Status::Internal(
      "the query engine still reads files named in FROM (replacement scans are active); refusing "
      "to run queries");
}

QuerySandbox::QuerySandbox(const EngineOptions& options) : options_(options) {}

QuerySandbox::~QuerySandbox() = default;

Result<QueryStats> QuerySandbox::Query(const QuerySpec& spec, ResultSink& sink) {
  auto start = std::chrono::steady_clock::now();
  auto remaining_ms = [&]() -> int64_t {
    if (spec.timeout_ms <= 0) return 0;
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
    return std::max<int64_t>(1, spec.timeout_ms - spent);
  };

  duckdb::Connection con(*db_);
  // Every table the SQL names becomes a private view over its pinned snapshot. Views are made
  // while the statement is checked, so all snapshots are pinned before anything runs.
  std::set<std::string> pinned_files;       // what the views read: all the plan check lets through
  std::set<std::string> pinned_json_files;  // the same for read_json (system tables' objects)
  int views = 0;
  bool restricted = false;
  int64_t files = 0, files_pruned = 0;
  std::optional<int64_t> rows = 0;  // the rows the statement reads; unknown for JSON relations
  ViewForTable view_for = [&](const TableName& name,
                              const PruneConjuncts& conjuncts) -> Result<TableStandIn> {
    ST_ASSIGN_OR_RETURN(ResolvedTable t, spec.resolve(name));
    // The files this reference reads: all of them, or those whose statistics can hold a row
    // its predicates admit.
    const Snapshot* snap = t.snapshot.get();
    std::optional<Snapshot> pruned;
    // Under a row filter the counts are withheld, like the table's statistics: how many files a
    // predicate skips tells about the rows the filter hides (docs/SECURITY.md).
    const bool counted = !t.json && !t.policy.filtered();
    if (spec.prune_files && !t.json && !conjuncts.empty() && !snap->files.empty()) {
      auto keep = FilesThatMayMatch(con, *snap, PlainColumns(t), conjuncts);
      if (std::count(keep.begin(), keep.end(), false) > 0) {
        pruned = *snap;
        pruned->files.clear();
        for (size_t i = 0; i < keep.size(); ++i) {
          if (keep[i]) pruned->files.push_back(snap->files[i]);
        }
        if (counted)
          files_pruned += static_cast<int64_t>(snap->files.size() - pruned->files.size());
        snap = &*pruned;
      }
    }
    if (counted) files += static_cast<int64_t>(t.snapshot->files.size());
    TableStandIn stand_in;
    ST_ASSIGN_OR_RETURN(std::string body, ViewSql(t, spec, *snap, &stand_in.file_lists));
    if (t.json) rows.reset();
    for (const auto& f : snap->files) {
      (t.json ? pinned_json_files : pinned_files).insert(spec.read_path(f.key));
      if (rows) *rows += f.rows;
    }
    for (const auto& d : snap->deletes) pinned_files.insert(spec.read_path(d.key));
    // A table without a policy is read in place, as a subquery: bound once, with the statement
    // (a view is bound when it is made, which for a table of many files costs as much again).
    if (!t.policy.restricted()) {
      stand_in.query = std::move(body);
      return stand_in;
    }
    // Under a policy, a view: made here, where a failure can be answered without DuckDB's
    // message, which would quote the view's text (the filters and masks), and out of the
    // statement's text, which errors quote.
    std::string view = fmt::format("__st_view_{}", views++);
    if (!Exec(con, fmt::format("CREATE TEMP VIEW {} AS {}", view, body)).ok()) {
      return Status::InvalidArgument(fmt::format(
          "the access policy on table '{}' cannot be applied to its current columns; ask an "
          "administrator",
          t.display_name));
    }
    restricted = true;
    stand_in.view = std::move(view);
    return stand_in;
  };
  ST_ASSIGN_OR_RETURN(GuardedStatement guarded,
                      GuardStatement(con, spec.sql, view_for, options_.sql_limits));
  auto& statement = guarded.statement;
  QueryThreads threads(*this, rows);
  const bool explain = statement->type == duckdb::StatementType::EXPLAIN_STATEMENT;
  // A plan shows the view's text: the row filter and the columns it hides.
  if (restricted && explain) {
    return Status::InvalidArgument(
        "EXPLAIN is not available for tables you read under an access policy");
  }

  Watchdog watchdog(con, remaining_ms());
  if (spec.cancel) spec.cancel->SetInterrupt([&con] { con.Interrupt(); });
  struct ClearCancel {
    CancelToken* t;
    ~ClearCancel() {
      if (t) t->ClearInterrupt();
    }
  } clear_cancel{spec.cancel};
  auto error = [&](duckdb::ErrorData& e) -> Status {
    if (spec.cancel && spec.cancel->cancelled())
      return Status::Cancelled("the query was cancelled");
    if (watchdog.fired() || e.Type() == duckdb::ExceptionType::INTERRUPT) {
      return QueryTimeoutError(spec.timeout_ms);
    }
    // A column hidden by policy is not in the view: it gets this same answer, and is never
    // among the suggestions, which come from the view's columns.
    const std::string& raw = e.RawMessage();
    size_t at = raw.find("Referenced column \"");
    if (e.Type() == duckdb::ExceptionType::BINDER && at != std::string::npos) {
      size_t b = at + 19, end = raw.find('"', b);
      std::string col = raw.substr(b, end - b);
      // DuckDB lists candidate columns; answer in the warehouse's words, with the nearest.
      std::vector<std::string> candidates;
      size_t c = raw.find("Candidate bindings:");
      size_t line_end =
          c == std::string::npos ? c : raw.find('\n', c);  // only that line lists them
      while (c != std::string::npos && (c = raw.find('"', c + 1)) < line_end) {
        size_t close = raw.find('"', c + 1);
        if (close == std::string::npos) break;
        std::string cand = raw.substr(c + 1, close - c - 1);
        if (size_t dot = cand.rfind('.'); dot != std::string::npos) cand = cand.substr(dot + 1);
        candidates.push_back(cand);
        c = close;
      }
      std::string hint = DidYouMean(col, candidates);
      if (hint.empty() && !candidates.empty()) {
        hint = "; columns available here include ";
        for (size_t i = 0; i < candidates.size(); ++i)
          hint += (i ? ", '" : "'") + candidates[i] + "'";
      }
      return Status::InvalidArgument(fmt::format("unknown column '{}'{}", col, hint));
    }
    return FromDuckError(e);
  };

  duckdb::unique_ptr<duckdb::QueryResult> result;
  {
    PlanCheck plan_check(con, std::move(pinned_files), std::move(pinned_json_files));
    // DuckDB plans without optimizers for some statements; what the check did not see does
    // not run.
    auto unchecked = [&](int before) {
      return plan_check.checks() == before
                 ? Status::InvalidArgument(
                       "this statement cannot be checked by the query sandbox and is not run; "
                       "use a plain SELECT")
                 : Status::Ok();
    };
    for (auto& described : guarded.described) {
      int before = plan_check.checks();
      auto prepared = con.Prepare(std::move(described));
      if (prepared->HasError()) return error(prepared->error);
      ST_RETURN_IF_ERROR(unchecked(before));
    }
    int before = plan_check.checks();
    if (spec.validate_only) {
      auto prepared = con.Prepare(std::move(statement));
      if (prepared->HasError()) return error(prepared->error);
      ST_RETURN_IF_ERROR(unchecked(before));
      std::vector<Column> columns;
      for (duckdb::idx_t i = 0; i < prepared->ColumnCount(); ++i) {
        columns.push_back({prepared->GetNames()[i], prepared->GetTypes()[i].ToString()});
      }
      sink.Begin(columns);
      sink.End(false);
      return QueryStats{};
    }
    duckdb::case_insensitive_map_t<duckdb::BoundParameterData> values;
    nlohmann::json params = spec.parameters_json.empty()
                                ? nlohmann::json::object()
                                : nlohmann::json::parse(spec.parameters_json, nullptr, false);
    if (!params.is_object()) {
      return Status::InvalidArgument("parameters must be a JSON object of names and values");
    }
    for (auto it = params.begin(); it != params.end(); ++it) {
      duckdb::Value v;
      if (!DecodeParameter(it.value(), &v)) {
        return Status::InvalidArgument(fmt::format(
            "parameter '{}': expected a string, number, boolean, null or an array of one of "
            "those",
            it.key()));
      }
      values.emplace(it.key(), duckdb::BoundParameterData(std::move(v)));
    }
    auto pending = values.empty() ? con.PendingQuery(std::move(statement), true)
                                  : con.PendingQuery(std::move(statement), values, true);
    if (pending->HasError()) return error(pending->GetErrorObject());
    ST_RETURN_IF_ERROR(unchecked(before));
    result = pending->Execute();
  }
  if (result->HasError()) return error(result->GetErrorObject());
  std::vector<Column> columns;
  for (duckdb::idx_t i = 0; i < result->ColumnCount(); ++i) {
    columns.push_back({result->ColumnName(i), result->types[i].ToString()});
  }
  sink.Begin(columns);
  std::unique_ptr<ParquetExport> parquet;
  if (!spec.parquet_output.empty()) {
    ST_ASSIGN_OR_RETURN(parquet, ParquetExport::Start(*result, spec.parquet_output));
  }
  QueryStats stats;
  stats.files = files;
  stats.files_pruned = files_pruned;
  int64_t bytes = 0;
  std::vector<nlohmann::json> row(columns.size());
  while (!stats.truncated) {
    auto chunk = result->Fetch();
    if (result->HasError()) return error(result->GetErrorObject());
    if (!chunk || chunk->size() == 0) break;
    for (duckdb::idx_t r = 0; r < chunk->size(); ++r) {
      // One row past the limit is what tells us the result was truncated.
      if (spec.row_limit >= 0 && stats.rows >= spec.row_limit) {
        stats.truncated = true;
        stats.truncated_reason = "row limit";
        break;
      }
      int64_t row_bytes = 0;
      for (duckdb::idx_t c = 0; c < columns.size(); ++c) {
        row[c] = EncodeValue(chunk->GetValue(c, r));
        if (spec.result_byte_limit >= 0) row_bytes += JsonSize(row[c]) + 1;
      }
      if (spec.result_byte_limit >= 0 && bytes + row_bytes > spec.result_byte_limit) {
        stats.truncated = true;
        stats.truncated_reason = "result byte limit";
        break;
      }
      bytes += row_bytes;
      if (parquet) {
        parquet->Append(*chunk, r);
      } else {
        sink.Row(row);
      }
      ++stats.rows;
    }
  }
  if (spec.cancel && spec.cancel->cancelled()) return Status::Cancelled("the query was cancelled");
  if (parquet) ST_RETURN_IF_ERROR(parquet->Finish());
  if (explain && columns.size() == 2 && !stats.truncated && !parquet) {
    // The plan lists only the files left to read; this row says what the statistics removed.
    sink.Row({"file_pruning", fmt::format("read {} of {} data files ({} pruned by statistics)",
                                          files - files_pruned, files, files_pruned)});
    ++stats.rows;
  }
  sink.End(stats.truncated);
  stats.elapsed_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  return stats;
}

}  // namespace supertable

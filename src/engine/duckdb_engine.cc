// The DuckDB implementation of Engine. Like every file that includes duckdb.hpp, it lives in
// src/engine/ (with value_encoding.cc and progress_watch.cc).
#include <duckdb.hpp>

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/names.h"
#include "engine/duck_config.h"
#include "engine/duck_errors.h"
#include "engine/engine.h"
#include "engine/object_file_system.h"
#include "engine/progress_watch.h"
#include "engine/query_sandbox.h"
#include "engine/row_filter.h"
#include "engine/schema_evolution.h"
#include "engine/sql_text.h"
#include "engine/table_scan.h"
#include "engine/value_encoding.h"

namespace supertable {

namespace fs = std::filesystem;

Result<InputFormat> ResolveInputFormat(InputFormat f, const std::string& path) {
  if (f != InputFormat::kAuto) return f;
  std::string ext = fs::path(path).extension().string();
  if (ext == ".gz" || ext == ".zst") ext = fs::path(path).stem().extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".csv" || ext == ".tsv" || ext == ".txt") return InputFormat::kCsv;
  if (ext == ".json" || ext == ".ndjson" || ext == ".jsonl") return InputFormat::kJson;
  if (ext == ".parquet" || ext == ".pq") return InputFormat::kParquet;
  return Status::InvalidArgument(fmt::format(
      "cannot tell the format of {} from its extension '{}'; pass --format csv|json|parquet", path,
      ext));
}

namespace {

using duckdb::Connection;

Status Run(Connection& con, const std::string& sql) {
  auto r = con.Query(sql);
  if (r->HasError()) return FromDuckError(r->GetErrorObject());
  return Status::Ok();
}

Result<duckdb::unique_ptr<duckdb::MaterializedQueryResult>> Fetch(Connection& con,
                                                                  const std::string& sql) {
  auto r = con.Query(sql);
  if (r->HasError()) return FromDuckError(r->GetErrorObject());
  return r;
}

// DuckDB's own default for CSV lines; its CSV reader sizes its buffers by max_line_size, so a
// larger value than a file needs makes every ingest slower (16 MiB: about 20% on the 2M-row
// benchmark CSV).
constexpr int64_t kDuckDbDefaultMaxLineSize = 2097152;

// The CSV line size to give DuckDB for a file the pre-scan measured: what its longest record
// needs (with room for the line end), never below DuckDB's default.
int64_t CsvMaxLineSize(const CsvShape& shape) {
  return std::max(kDuckDbDefaultMaxLineSize, shape.longest_record + 16);
}

// The reader of an input the pre-scan has passed. DuckDB's readers get a record size that lets
// every record the scan allowed through (a CSV's from what the scan measured, `csv_line_bytes`;
// a JSON object's the configured limit), so DuckDB's own, smaller defaults do not refuse them.
std::string ReaderSql(const std::string& path, InputFormat format,
                      const std::map<std::string, std::string>& csv_types, char delimiter,
                      int64_t csv_line_bytes, const InputLimits& limits) {
  switch (format) {
    case InputFormat::kCsv: {
      std::string types;
      for (const auto& [name, type] : csv_types) {
        types += fmt::format("{}{}: {}", types.empty() ? "" : ", ", sql::Literal(name),
                             sql::Literal(type));
      }
      // header=true: the spec'd input is a CSV with a header row. Errors are not ignored: a bad
      // line fails the whole ingest with its line number, and nothing is written.
      // Quotes are RFC 4180's: an unterminated quote is an error, not a literal character.
      // skip=0: the first line is the header. Left to itself the sniffer may skip a header that
      // has fewer fields than the rows and silently read the file wrong.
      return fmt::format(
          "read_csv({}, header=true, skip=0, delim={}, quote='\"', escape='\"', "
          "max_line_size={}{})",
          sql::Literal(path), sql::Literal(std::string(1, delimiter)), csv_line_bytes,
          types.empty() ? "" : ", types={" + types + "}");
    }
    case InputFormat::kJson:
      return fmt::format("read_json({}, format='auto', maximum_object_size={})", sql::Literal(path),
                         limits.max_record_bytes);
    case InputFormat::kJsonArray:
      return fmt::format("read_json({}, format='array', maximum_object_size={})",
                         sql::Literal(path), limits.max_record_bytes);
    case InputFormat::kParquet:
      return fmt::format("read_parquet({})", sql::Literal(path));
    case InputFormat::kAuto:
      break;
  }
  return "";
}

bool IsNestedType(const duckdb::LogicalType& t) { return t.IsNested(); }

// Per-file statistics from the Parquet footers DuckDB just wrote (no second pass over the data).
// Files with a stored __st_row_id column (first_row_id < 0) take their id range from its
// statistics; fresh files get consecutive ranges from first_row_id, in file order.
Result<std::vector<StagedDataFile>> CollectStagedFiles(Connection& con, const std::string& dir,
                                                       const std::vector<Column>& schema,
                                                       int64_t schema_id, int64_t first_row_id) {
  bool stored_ids = first_row_id < 0;
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".parquet") paths.push_back(e.path().string());
  }
  if (ec) return Status::IoError(fmt::format("cannot list staging {}: {}", dir, ec.message()));
  std::sort(paths.begin(), paths.end());
  std::vector<StagedDataFile> out;
  if (paths.empty()) return out;

  ST_ASSIGN_OR_RETURN(
      auto meta, Fetch(con, fmt::format("SELECT file_name, num_rows FROM parquet_file_metadata({})",
                                        sql::LiteralList(paths))));
  std::map<std::string, int64_t> rows;
  for (idx_t i = 0; i < meta->RowCount(); ++i) {
    rows[meta->GetValue(0, i).ToString()] = meta->GetValue(1, i).GetValue<int64_t>();
  }
  // One aggregate per column over the row-group statistics, compared with the column's type.
  std::string aggs =
      stored_ids
          ? fmt::format(
                "min(CASE WHEN path_in_schema = {0} THEN TRY_CAST(stats_min_value AS BIGINT) END), "
                "max(CASE WHEN path_in_schema = {0} THEN TRY_CAST(stats_max_value AS BIGINT) END), "
                "0, false",
                sql::Literal(kRowIdColumn))
          : std::string("NULL, NULL, 0, false");
  std::vector<const Column*> stat_cols;
  for (const auto& c : schema) {
    auto type = duckdb::TransformStringToLogicalType(c.type);
    if (IsNestedType(type)) continue;
    stat_cols.push_back(&c);
    std::string in = fmt::format("path_in_schema = {}", sql::Literal(c.name));
    aggs += fmt::format(
        ", min(CASE WHEN {0} THEN TRY_CAST(stats_min_value AS {1}) END)::VARCHAR"
        ", max(CASE WHEN {0} THEN TRY_CAST(stats_max_value AS {1}) END)::VARCHAR"
        ", sum(CASE WHEN {0} THEN stats_null_count END)"
        ", bool_or({0} AND (stats_min_value IS NULL OR stats_null_count IS NULL) AND num_values > "
        "coalesce(stats_null_count, 0))",
        in, c.type);
  }
  ST_ASSIGN_OR_RETURN(
      auto st,
      Fetch(con, fmt::format("SELECT file_name, {} FROM parquet_metadata({}) GROUP BY file_name",
                             aggs, sql::LiteralList(paths))));
  for (idx_t r = 0; r < st->RowCount(); ++r) {
    std::string path = st->GetValue(0, r).ToString();
    StagedDataFile f;
    f.local_path = path;
    f.meta.rows = rows[path];
    if (f.meta.rows == 0) {
      fs::remove(path, ec);  // DuckDB may leave an empty trailing file when it splits output
      continue;
    }
    f.meta.bytes = static_cast<int64_t>(fs::file_size(path, ec));
    f.meta.schema_id = schema_id;
    f.meta.row_ids_stored = stored_ids;
    if (stored_ids) {
      if (st->GetValue(1, r).IsNull())
        return Status::Internal(fmt::format("{}: no row id statistics", path));
      f.meta.min_row_id = st->GetValue(1, r).GetValue<int64_t>();
      f.meta.max_row_id = st->GetValue(2, r).GetValue<int64_t>();
    }
    for (size_t i = 0; i < stat_cols.size(); ++i) {
      idx_t base = 5 + i * 4;
      auto nulls = st->GetValue(base + 2, r);
      if (nulls.IsNull()) continue;  // no statistics recorded: nobody may prune on this column
      ColumnStats cs;
      cs.null_count = nulls.GetValue<int64_t>();
      bool incomplete =
          !st->GetValue(base + 3, r).IsNull() && st->GetValue(base + 3, r).GetValue<bool>();
      auto mn = st->GetValue(base, r), mx = st->GetValue(base + 1, r);
      if (!incomplete && !mn.IsNull() && !mx.IsNull()) {
        cs.min = mn.ToString();
        cs.max = mx.ToString();
      }
      f.meta.stats[stat_cols[i]->name] = cs;
    }
    out.push_back(std::move(f));
  }
  if (!stored_ids) {
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.local_path < b.local_path; });
    for (auto& f : out) {
      f.meta.min_row_id = first_row_id;
      f.meta.max_row_id = first_row_id + f.meta.rows - 1;
      first_row_id += f.meta.rows;
    }
  }
  return out;
}

// " ORDER BY a, b" for sorting by `columns` of `schema` (names as the table spells them), or ""
// for none; an unknown column is an error that lists the table's.
Result<std::string> ClusterOrder(const std::vector<Column>& schema,
                                 const std::vector<std::string>& columns, const char* what) {
  std::string order;
  for (const auto& name : columns) {
    const Column* found = FindColumn(schema, name);
    if (!found) {
      std::string names;
      for (const auto& c : schema) names += (names.empty() ? "" : ", ") + c.name;
      return Status::InvalidArgument(fmt::format(
          "cannot {} by '{}': the table has no such column (its columns: {})", what, name, names));
    }
    order += (order.empty() ? " ORDER BY " : ", ") + sql::Ident(found->name);
  }
  return order;
}

class DuckEngine : public Engine {
 public:
  // Two DuckDB instances: this one runs only SQL SuperTable writes (reading users' input files,
  // writing staging files); users' SQL runs in the locked-down QuerySandbox.
  // Each instance opens on first use (about 25 ms apiece): a CLI query never pays for the
  // writer, an ingest never pays for the sandbox.
  explicit DuckEngine(const EngineOptions& options) : options_(options) {}

  Result<WriteOutcome> PrepareWrite(const WriteSpec& spec) override;
  Result<std::vector<StagedDataFile>> RewriteFiles(
      const Snapshot& snapshot, const std::vector<DataFile>& files,
      const std::function<std::string(const std::string&)>& read_path,
      const std::string& staging_dir, int64_t target_file_bytes) override;
  Result<QueryStats> Query(const QuerySpec& spec, ResultSink& sink) override {
    {
      std::lock_guard<std::mutex> g(open_mu_);
      if (!sandbox_) {
        ST_ASSIGN_OR_RETURN(sandbox_, QuerySandbox::Open(options_));
      }
    }
    return sandbox_->Query(spec, sink);
  }
  Status CheckRowFilter(const std::string& filter) override {
    return RowFilterSql(filter, "user").status();
  }

 private:
  // A connection with progress tracking on (but never printed: stdout is the user's).
  Status EnsureWriter() {
    std::lock_guard<std::mutex> g(open_mu_);
    if (db_) return Status::Ok();
    try {
      duckdb::DBConfig config;
      ApplyBaseConfig(options_, config);
      db_ = std::make_unique<duckdb::DuckDB>(nullptr, &config);
      if (options_.object_cache) RegisterObjectFileSystem(*db_, options_.object_cache);
    } catch (const std::exception& e) {
      duckdb::ErrorData error(e);
      return Status::InvalidArgument(fmt::format("cannot start DuckDB: {}", error.RawMessage()));
    }
    return Status::Ok();
  }
  // Callers have run EnsureWriter.
  std::unique_ptr<Connection> NewConnection() {
    auto con = std::make_unique<Connection>(*db_);
    (void)Run(*con, "SET enable_progress_bar = true");
    (void)Run(*con, "SET enable_progress_bar_print = false");
    return con;
  }
  // Writes SELECT `select_sql` as zstd Parquet files into a fresh directory under staging.
  // `first_row_id` < 0: the SELECT carries stored row ids (compaction). `size_bound`: at most
  // this many bytes of Parquet will come out (the input's size, say), or -1 unknown.
  Result<std::vector<StagedDataFile>> WriteFiles(
      Connection& con, const std::string& select_sql, const std::vector<Column>& schema,
      int64_t schema_id, int64_t first_row_id, const std::string& staging_dir,
      int64_t target_file_bytes, const ProgressFn& progress, bool sorted, int64_t size_bound);

  EngineOptions options_;
  std::mutex open_mu_;
  std::unique_ptr<duckdb::DuckDB> db_;
  std::unique_ptr<QuerySandbox> sandbox_;
};

Result<std::vector<StagedDataFile>> DuckEngine::WriteFiles(
    Connection& con, const std::string& select_sql, const std::vector<Column>& schema,
    int64_t schema_id, int64_t first_row_id, const std::string& staging_dir,
    int64_t target_file_bytes, const ProgressFn& progress, bool sorted, int64_t size_bound) {
  std::string dir = staging_dir + "/" + RandomId();
  auto copy = [&](const std::string& source) {
    return fmt::format(
        "COPY ({}) TO {} (FORMAT parquet, COMPRESSION zstd, FILE_SIZE_BYTES {}, "
        "FILENAME_PATTERN 'part_{{i}}')",
        source, sql::Literal(dir), target_file_bytes);
  };
  if (!sorted) {
    ProgressWatch watch(con, progress);
    ST_RETURN_IF_ERROR(Run(con, copy(select_sql)));
    return CollectStagedFiles(con, dir, schema, schema_id, first_row_id);
  }
  if (size_bound >= 0 && size_bound < target_file_bytes) {
    // One file will do: the sorted rows go straight to it, in order (DuckDB keeps a query's
    // order into a single file), with none of the detour below.
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError(fmt::format("cannot create {}: {}", dir, ec.message()));
    ProgressWatch watch(con, progress);
    ST_RETURN_IF_ERROR(Run(con, fmt::format("COPY ({}) TO {} (FORMAT parquet, COMPRESSION zstd)",
                                            select_sql, sql::Literal(dir + "/part_0.parquet"))));
    return CollectStagedFiles(con, dir, schema, schema_id, first_row_id);
  }
  // Sorted output must reach the files in order, so that each file holds one stretch of it:
  // DuckDB's COPY with FILE_SIZE_BYTES gives each thread its own file and hands rows to
  // whichever thread is free, so with several threads one file can hold rows from around
  // another's (seen under load). The sort runs in parallel into a temporary table, which keeps
  // its insertion order; the copy out of it runs on one thread. `threads` is a setting of the
  // whole instance: an operation running beside this one in the same process runs on one thread
  // meanwhile, and the old value comes back whatever happens.
  std::string sorted_table = "__st_sorted_" + RandomId();
  {
    ProgressWatch watch(con, progress);
    ST_RETURN_IF_ERROR(
        Run(con, fmt::format("CREATE TEMP TABLE {} AS {}", sorted_table, select_sql)));
  }
  struct DropTable {
    Connection& con;
    std::string name;
    ~DropTable() { (void)con.Query("DROP TABLE IF EXISTS " + name); }
  } drop{con, sorted_table};
  auto threads = con.Query("SELECT current_setting('threads')");
  if (threads->HasError() || threads->RowCount() != 1) {
    return Status::Internal("cannot read the writer's thread count");
  }
  int64_t old_threads = threads->GetValue(0, 0).GetValue<int64_t>();
  ST_RETURN_IF_ERROR(Run(con, "SET threads = 1"));
  struct RestoreThreads {
    Connection& con;
    int64_t n;
    ~RestoreThreads() { (void)con.Query(fmt::format("SET threads = {}", n)); }
  } restore{con, old_threads};
  ST_RETURN_IF_ERROR(Run(con, copy("SELECT * FROM " + sorted_table)));
  return CollectStagedFiles(con, dir, schema, schema_id, first_row_id);
}

// An upper bound of the Parquet written from an input file: its size (text shrinks to Parquet;
// Parquet stays about the same; compressed text, which would grow, is refused before this by the
// input scan), or -1 when unknown.
int64_t InputBytes(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

// The stored files whose statistics allow a row with one of the batch's keys; the others are
// counted in `pruned` and never read. Each key column's range over the whole batch rules out
// files outside it; the first key's own values then rule out files whose range falls between
// them (keys from a few separate stretches of a clustered table, say, whose overall range would
// cover every file in between). `key_filter` gets the batch's key ranges as a predicate over the
// stored rows `s` (true when unknown): the scan of the candidates then skips their row groups
// outside it.
std::vector<std::string> CandidateFiles(Connection& con, const Snapshot& base,
                                        const std::vector<std::string>& keys, int64_t* pruned,
                                        std::string* key_filter) {
  std::vector<std::string> out;
  *pruned = 0;
  *key_filter = "true";
  // Incoming key ranges and whether incoming keys contain NULLs.
  std::string ranges;
  for (const auto& k : keys) {
    ranges += fmt::format("{1}min({0}), max({0}), bool_or({0} IS NULL)", sql::Ident(k),
                          ranges.empty() ? "" : ", ");
  }
  auto r = con.Query(fmt::format("SELECT {} FROM __st_batch", ranges));
  if (r->HasError() || r->RowCount() == 0) {
    for (const auto& f : base.files) out.push_back(f.key);
    return out;
  }
  struct KeyRange {
    duckdb::Value lo, hi;
    bool nulls = false;  // some incoming key is NULL
  };
  std::vector<KeyRange> batch;
  std::string filter;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto nulls = r->GetValue(3 * i + 2, 0);
    KeyRange k{r->GetValue(3 * i, 0), r->GetValue(3 * i + 1, 0),
               !nulls.IsNull() && nulls.GetValue<bool>()};
    std::string col = "s." + sql::Ident(keys[i]);
    std::string range =
        k.lo.IsNull() || k.hi.IsNull()
            ? "false"
            : fmt::format("{} BETWEEN {} AND {}", col, k.lo.ToSQLString(), k.hi.ToSQLString());
    filter += fmt::format("{}({}{})", filter.empty() ? "" : " AND ", range,
                          k.nulls ? " OR " + col + " IS NULL" : "");
    batch.push_back(std::move(k));
  }
  *key_filter = filter;
  // The first key's distinct values, sorted as DuckDB orders them (duckdb::Value's order is the
  // same), unless there are too many to hold: then the range alone decides.
  constexpr int64_t kMaxSortedKeys = 4'000'000;
  std::vector<duckdb::Value> sorted;
  {
    auto distinct = con.Query(fmt::format(
        "SELECT DISTINCT {0} FROM __st_batch WHERE {0} IS NOT NULL ORDER BY {0} LIMIT {1}",
        sql::Ident(keys[0]), kMaxSortedKeys + 1));
    if (!distinct->HasError() && static_cast<int64_t>(distinct->RowCount()) <= kMaxSortedKeys) {
      sorted.reserve(distinct->RowCount());
      for (size_t i = 0; i < distinct->RowCount(); ++i) sorted.push_back(distinct->GetValue(0, i));
    }
  }
  for (const auto& f : base.files) {
    bool may_match = true;
    for (size_t i = 0; i < keys.size() && may_match; ++i) {
      auto it = f.stats.find(keys[i]);
      const Column* col = base.FindColumn(keys[i]);
      if (it == f.stats.end() || !col) continue;  // no stats: must read it
      const duckdb::Value &lo = batch[i].lo, &hi = batch[i].hi;
      bool in_nulls = batch[i].nulls;
      bool file_nulls = it->second.null_count > 0;
      bool range_overlap = false;
      if (!lo.IsNull() && it->second.min && it->second.max) {
        try {
          auto type = lo.type();
          duckdb::Value fmin = duckdb::Value(*it->second.min).DefaultCastAs(type);
          duckdb::Value fmax = duckdb::Value(*it->second.max).DefaultCastAs(type);
          range_overlap = !(fmax < lo || fmin > hi);
          if (range_overlap && i == 0 && !sorted.empty()) {
            // Some key of the batch inside [fmin, fmax]?
            auto at = std::lower_bound(sorted.begin(), sorted.end(), fmin);
            range_overlap = at != sorted.end() && !(fmax < *at);
          }
        } catch (...) {
          range_overlap = true;  // unparsable stats: read the file
        }
      } else if (!lo.IsNull() && !it->second.min && it->second.null_count < f.rows) {
        range_overlap = true;  // file has values but no stats for them
      }
      may_match = range_overlap || (in_nulls && file_nulls);
    }
    if (may_match) {
      out.push_back(f.key);
    } else {
      ++*pruned;
    }
  }
  return out;
}

Result<WriteOutcome> DuckEngine::PrepareWrite(const WriteSpec& spec) {
  ST_RETURN_IF_ERROR(EnsureWriter());
  auto con = NewConnection();
  ST_ASSIGN_OR_RETURN(InputFormat format, ResolveInputFormat(spec.format, spec.input_path));
  std::error_code ec;
  // A sorted write that fits one file goes straight to it (WriteFiles).
  const int64_t sorted_size_bound = spec.cluster_by.empty() ? -1 : InputBytes(spec.input_path);
  // Warehouse::Write has checked that the input exists, before taking the table lock.
  auto ctx = [&](Status s) { return s.WithContext(spec.input_path); };

  // 1. What the input looks like, and how it maps onto the table. The pre-scan runs before
  // DuckDB opens the file: some shapes crash DuckDB or exhaust memory (input_scan.h). Its errors
  // name the file already.
  char delimiter = ',';
  int64_t csv_line_bytes = kDuckDbDefaultMaxLineSize;
  if (format == InputFormat::kJson) {
    ST_ASSIGN_OR_RETURN(bool array, ScanJson(spec.input_path, spec.limits));
    if (array) format = InputFormat::kJsonArray;
  } else if (format == InputFormat::kCsv) {
    ST_ASSIGN_OR_RETURN(CsvShape shape, ScanCsv(spec.input_path, spec.limits));
    delimiter = shape.delimiter;
    csv_line_bytes = CsvMaxLineSize(shape);
  } else if (format == InputFormat::kParquet) {
    ST_RETURN_IF_ERROR(ScanParquet(spec.input_path, spec.limits));
  }
  auto described_or =
      Fetch(*con, "DESCRIBE SELECT * FROM " + ReaderSql(spec.input_path, format, {}, delimiter,
                                                        csv_line_bytes, spec.limits));
  if (!described_or.ok()) {
    const std::string& m = described_or.status().message();
    if (format == InputFormat::kCsv &&
        m.find("not possible to automatically detect the CSV parsing dialect") !=
            std::string::npos) {
      return ctx(
          Status::InvalidArgument("not a well-formed CSV file: every row must have as many fields "
                                  "as the header row, and quoted "
                                  "fields must end with a closing quote (\")"));
    }
    return ctx(described_or.status());
  }
  auto described = std::move(described_or).value();
  std::vector<Column> incoming;
  for (idx_t i = 0; i < described->RowCount(); ++i) {
    incoming.push_back(
        {described->GetValue(0, i).ToString(), described->GetValue(1, i).ToString()});
  }
  // The scan bounds each format's own notion of width; what DuckDB made of it is checked too
  // before any data is read.
  if (static_cast<int64_t>(incoming.size()) > spec.limits.max_columns) {
    return TooManyColumns(spec.input_path, static_cast<int64_t>(incoming.size()), spec.limits);
  }
  if (spec.mode == WriteMode::kDeleteOnly) {
    // A delete reads only the keys; other columns of the file are neither checked nor stored.
    std::erase_if(incoming, [&](const Column& c) {
      bool is_newer = spec.newer_than && strcasecmp(spec.newer_than->c_str(), c.name.c_str()) == 0;
      return !is_newer && std::none_of(spec.key_columns.begin(), spec.key_columns.end(),
                                       [&](const std::string& k) {
                                         return strcasecmp(k.c_str(), c.name.c_str()) == 0;
                                       });
    });
  }
  std::vector<Column> base_schema = spec.base ? spec.base->schema : std::vector<Column>{};
  auto plan_or = PlanSchema(base_schema, incoming, format);
  if (!plan_or.ok()) return ctx(plan_or.status());
  SchemaPlan plan = std::move(plan_or).value();
  ST_RETURN_IF_ERROR(
      CheckTableWidth(spec.input_path, base_schema.size(), plan.schema.size(), spec.limits));

  WriteOutcome out;
  out.schema = plan.schema;
  out.schema_changed = plan.schema_changed;
  int64_t schema_id = spec.base ? spec.base->schema_id + (plan.schema_changed ? 1 : 0) : 1;

  // Keys and newer_than must be columns of the input and, for an existing table, of the table
  // too: a missing column would read as NULL everywhere, and NULL matches NULL, so every row
  // would match every other.
  auto resolve = [&](const std::string& name, const char* role) -> Result<std::string> {
    auto find = [&](const std::vector<Column>& cols) { return FindColumn(cols, name); };
    std::vector<std::string> in_names;
    for (const auto& c : incoming) in_names.push_back(c.name);
    if (!find(incoming)) {
      return Status::InvalidArgument(fmt::format("{} column '{}' is not in the input{}", role, name,
                                                 DidYouMean(name, in_names)));
    }
    if (!base_schema.empty() && !find(base_schema)) {
      return Status::InvalidArgument(fmt::format(
          "{} column '{}' is not in the table; stored rows have no value to compare", role, name));
    }
    return find(plan.schema)->name;
  };
  std::vector<std::string> keys;
  for (const auto& k : spec.key_columns) {
    auto r = resolve(k, "key");
    if (!r.ok()) return ctx(r.status());
    keys.push_back(*r);
  }
  std::optional<std::string> newer;
  if (spec.newer_than) {
    auto r = resolve(*spec.newer_than, "newer_than");
    if (!r.ok()) return ctx(r.status());
    newer = *r;
  }

  std::string projection;
  for (const auto& e : plan.select_exprs) projection += (projection.empty() ? "" : ", ") + e;
  std::string reader =
      ReaderSql(spec.input_path, format, plan.csv_types, delimiter, csv_line_bytes, spec.limits);
  std::string commit_ts =
      fmt::format("CAST({} AS TIMESTAMPTZ)", sql::Literal(FormatTimestamp(spec.commit_micros)));
  std::string user_cols;
  for (const auto& c : plan.schema)
    user_cols += (user_cols.empty() ? "" : ", ") + sql::Ident(c.name);

  if (spec.mode == WriteMode::kAppend && keys.empty()) {
    // Fast path: one parallel pass from the reader to Parquet. Row ids are not written: each
    // file's rows are its first row id + their position (a row_number() here would force
    // DuckDB to run the whole pipeline on one thread).
    ST_ASSIGN_OR_RETURN(std::string order, ClusterOrder(plan.schema, spec.cluster_by, "cluster"));
    std::string select = fmt::format("SELECT {}, {} AS {} FROM {}{}", projection, commit_ts,
                                     kCommitTimeColumn, reader, order);
    auto files = WriteFiles(*con, select, plan.schema, schema_id, spec.first_row_id,
                            spec.staging_dir, spec.target_file_bytes, spec.progress,
                            !spec.cluster_by.empty(), sorted_size_bound);
    if (!files.ok()) return ctx(files.status());
    out.data_files = std::move(files).value();
    for (const auto& f : out.data_files) out.inserted += f.meta.rows;
    out.input_rows = out.inserted;
    return out;
  }

  // 2. Load the batch, keeping input order, then keep the last row of each key.
  {
    ProgressWatch watch(*con, spec.progress);
    Status s = Run(
        *con,
        fmt::format(
            "CREATE TEMP TABLE __st_input AS SELECT {}, row_number() OVER () AS __st_ord FROM {}",
            projection, reader));
    if (!s.ok()) return ctx(s);
  }
  ST_ASSIGN_OR_RETURN(auto cnt, Fetch(*con, "SELECT count(*) FROM __st_input"));
  out.input_rows = cnt->GetValue(0, 0).GetValue<int64_t>();
  std::string key_list;
  for (const auto& k : keys) key_list += (key_list.empty() ? "" : ", ") + sql::Ident(k);
  bool duplicates = false;
  if (!keys.empty()) {
    // Most batches have none: a grouping finds out faster than the window that removes them.
    ST_ASSIGN_OR_RETURN(auto dup, Fetch(*con, fmt::format("SELECT EXISTS (SELECT 1 FROM "
                                                          "__st_input GROUP BY {} HAVING "
                                                          "count(*) > 1)",
                                                          key_list)));
    duplicates = dup->GetValue(0, 0).GetValue<bool>();
  }
  if (!duplicates) {
    ST_RETURN_IF_ERROR(Run(*con, "ALTER TABLE __st_input RENAME TO __st_batch"));
  } else {
    // PARTITION BY groups NULL keys together: NULL matches NULL, as the upsert contract says.
    ST_RETURN_IF_ERROR(
        Run(*con, fmt::format("CREATE TEMP TABLE __st_batch AS SELECT * FROM __st_input QUALIFY "
                              "row_number() OVER (PARTITION BY {} ORDER BY __st_ord DESC) = 1",
                              key_list)));
  }
  ST_ASSIGN_OR_RETURN(auto bcnt, Fetch(*con, "SELECT count(*) FROM __st_batch"));
  out.skipped_duplicates = out.input_rows - bcnt->GetValue(0, 0).GetValue<int64_t>();

  // 3. Stored rows with the batch's keys, from only the files whose statistics allow a match.
  bool has_match_table = false;
  if (!keys.empty() && spec.base && !spec.base->files.empty()) {
    int64_t pruned = 0;
    std::string key_filter;
    auto candidates = CandidateFiles(*con, *spec.base, keys, &pruned, &key_filter);
    out.files_pruned = pruned;
    out.files_scanned = static_cast<int64_t>(candidates.size());
    if (!candidates.empty()) {
      ScanOptions so;
      so.columns = keys;
      if (newer && std::find(keys.begin(), keys.end(), *newer) == keys.end())
        so.columns.push_back(*newer);
      // Read stored keys as the types the batch has now (a key may have been widened or added).
      so.as_schema = plan.schema;
      so.system_columns = true;
      so.file_name = true;
      so.only_files = candidates;
      // Deleted rows are removed from the few matches below, not from every stored row here.
      so.apply_deletes = false;
      std::string stored = ScanSql(*spec.base, spec.read_path, so);
      std::string on;
      for (const auto& k : keys) {
        on += fmt::format("{0}s.{1} IS NOT DISTINCT FROM b.{1}", on.empty() ? "" : " AND ",
                          sql::Ident(k));
      }
      std::string newer_sel =
          newer ? fmt::format(", s.{} AS __st_stored_newer", sql::Ident(*newer)) : "";
      Status s = Run(
          *con, fmt::format(
                    "CREATE TEMP TABLE __st_match AS SELECT s.{rid} AS {rid}, s.{file} AS {file}, "
                    "b.__st_ord{newer} FROM ({stored}) AS s JOIN __st_batch AS b ON {on} "
                    "WHERE {range}",
                    fmt::arg("rid", kRowIdColumn), fmt::arg("file", kFileNameColumn),
                    fmt::arg("newer", newer_sel), fmt::arg("stored", stored), fmt::arg("on", on),
                    fmt::arg("range", key_filter)));
      if (!s.ok()) return s;
      std::set<std::string> scanned(candidates.begin(), candidates.end());
      std::vector<std::string> delete_paths;
      for (const auto& d : spec.base->deletes) {
        if (std::any_of(d.targets.begin(), d.targets.end(),
                        [&](const std::string& t) { return scanned.count(t) > 0; })) {
          delete_paths.push_back(spec.read_path(d.key));
        }
      }
      if (!delete_paths.empty()) {
        ST_RETURN_IF_ERROR(Run(
            *con,
            fmt::format("DELETE FROM __st_match WHERE {0} IN (SELECT {0} FROM read_parquet({1}))",
                        kRowIdColumn, sql::LiteralList(delete_paths))));
      }
      has_match_table = true;
    }
  }

  // 4. newer_than: drop incoming rows whose stored counterpart is as new or newer (NULL is oldest).
  if (newer && has_match_table) {
    ST_RETURN_IF_ERROR(
        Run(*con, fmt::format("CREATE TEMP TABLE __st_stale AS SELECT DISTINCT b.__st_ord FROM "
                              "__st_batch b JOIN __st_match m "
                              "ON m.__st_ord = b.__st_ord WHERE (m.__st_stored_newer IS NOT NULL "
                              "AND (b.{0} IS NULL OR m.__st_stored_newer >= b.{0})) "
                              "OR (m.__st_stored_newer IS NULL AND b.{0} IS NULL)",
                              sql::Ident(*newer))));
    ST_ASSIGN_OR_RETURN(auto stale, Fetch(*con, "SELECT count(*) FROM __st_stale"));
    out.skipped_stale = stale->GetValue(0, 0).GetValue<int64_t>();
    ST_RETURN_IF_ERROR(
        Run(*con, "DELETE FROM __st_batch WHERE __st_ord IN (SELECT __st_ord FROM __st_stale)"));
    ST_RETURN_IF_ERROR(
        Run(*con, "DELETE FROM __st_match WHERE __st_ord IN (SELECT __st_ord FROM __st_stale)"));
  }

  // 5. The delete file: every stored row replaced (upsert) or named (delete_only).
  if (has_match_table) {
    ST_ASSIGN_OR_RETURN(
        auto per,
        Fetch(*con, fmt::format("SELECT {0}, count(DISTINCT {1}) FROM __st_match GROUP BY {0}",
                                kFileNameColumn, kRowIdColumn)));
    std::set<std::string> keys_in_base;
    for (const auto& f : spec.base->files) keys_in_base.insert(f.key);
    StagedDeleteFile del;
    for (idx_t i = 0; i < per->RowCount(); ++i) {
      // __st_file is the data file's object key (ScanSql writes it as a literal).
      std::string key = per->GetValue(0, i).ToString();
      if (!keys_in_base.count(key))
        return Status::Internal(fmt::format("matched rows of unknown data file {}", key));
      int64_t n = per->GetValue(1, i).GetValue<int64_t>();
      del.per_target[key] = n;
      del.rows += n;
    }
    if (del.rows > 0) {
      del.local_path = spec.staging_dir + "/" + RandomId() + ".parquet";
      ST_RETURN_IF_ERROR(
          Run(*con, fmt::format("COPY (SELECT DISTINCT {} FROM __st_match ORDER BY 1) TO {} "
                                "(FORMAT parquet, COMPRESSION zstd)",
                                kRowIdColumn, sql::Literal(del.local_path))));
      out.deleted = del.rows;
      out.delete_file = std::move(del);
    }
  }

  // 6. The new rows.
  if (spec.mode != WriteMode::kDeleteOnly) {
    ST_ASSIGN_OR_RETURN(std::string order, ClusterOrder(plan.schema, spec.cluster_by, "cluster"));
    std::string select = fmt::format(
        "SELECT {cols}, {ts} AS {ct} FROM __st_batch{order}", fmt::arg("cols", user_cols),
        fmt::arg("ts", commit_ts), fmt::arg("ct", kCommitTimeColumn),
        fmt::arg("order", order.empty() ? " ORDER BY __st_ord" : order + ", __st_ord"));
    ST_ASSIGN_OR_RETURN(
        out.data_files,
        WriteFiles(*con, select, plan.schema, schema_id, spec.first_row_id, spec.staging_dir,
                   spec.target_file_bytes, {}, !spec.cluster_by.empty(), sorted_size_bound));
    for (const auto& f : out.data_files) out.inserted += f.meta.rows;
  } else {
    // A delete never changes the schema, whatever columns the key file carries.
    out.schema = base_schema;
    out.schema_changed = false;
  }
  return out;
}

Result<std::vector<StagedDataFile>> DuckEngine::RewriteFiles(
    const Snapshot& snapshot, const std::vector<DataFile>& files,
    const std::function<std::string(const std::string&)>& read_path, const std::string& staging_dir,
    int64_t target_file_bytes) {
  ST_RETURN_IF_ERROR(EnsureWriter());
  auto con = NewConnection();
  ScanOptions so;
  so.system_columns = true;
  int64_t bytes = 0;  // the rewrite is no larger than its files (deletes only remove rows)
  for (const auto& f : files) {
    so.only_files.push_back(f.key);
    bytes += f.bytes;
  }
  // Row ids are kept, so delete files that name rows elsewhere stay valid. The table's order
  // when it has one (Snapshot::cluster_by), else row ids: locality either way.
  ST_ASSIGN_OR_RETURN(std::string order,
                      ClusterOrder(snapshot.schema, snapshot.cluster_by, "sort"));
  std::string select = ScanSql(snapshot, read_path, so) +
                       (order.empty() ? std::string(" ORDER BY ") : order + ", ") + kRowIdColumn;
  return WriteFiles(*con, select, snapshot.schema, snapshot.schema_id, -1, staging_dir,
                    target_file_bytes, {}, !snapshot.cluster_by.empty(), bytes);
}

}  // namespace

Result<std::unique_ptr<Engine>> OpenDuckEngine(const EngineOptions& options) {
  return std::unique_ptr<Engine>(std::make_unique<DuckEngine>(options));
}

}  // namespace supertable

// Subcommands of the `supertable` CLI.
#include "cli/commands.h"

#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "catalog/catalog_transfer.h"
#include "cli/demo.h"
#include "cli/progress.h"
#include "cli/serve.h"
#include "cli/shell.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/text.h"
#include "common/version.h"
#include "engine/result_format.h"
#include "mcp/stdio_transport.h"
#include "security/authenticator.h"
#include "table/warehouse.h"
#include "tools/warehouse_tools.h"

namespace supertable {

// Prints rows of plain values through the same sinks query results use.
void PrintRows(OutputFormat format, const std::vector<Column>& columns,
               const std::vector<std::vector<nlohmann::json>>& rows) {
  auto sink = MakeResultSink(format, std::cout);
  sink->Begin(columns);
  for (const auto& r : rows) sink->Row(r);
  sink->End(false);
}

namespace {

using nlohmann::json;

struct GlobalFlags {
  std::string home, org, log_level;
};

int ExitCode(const Status& s) {
  if (s.ok()) return 0;
  std::cerr << "error: " << s.message() << "\n";
  return s.IsUserError() ? 1 : 2;
}

Result<Config> LoadConfig(const GlobalFlags& g) {
  ST_ASSIGN_OR_RETURN(Config c, Config::FromEnvironment());
  if (!g.home.empty()) c.home = g.home;
  if (!g.org.empty()) c.organization = g.org;
  if (!g.log_level.empty()) c.log_level = g.log_level;
  ST_RETURN_IF_ERROR(c.Finish());
  log::SetLevel(c.log_level);
  return c;
}

Result<std::unique_ptr<Warehouse>> OpenWarehouse(const GlobalFlags& g) {
  ST_ASSIGN_OR_RETURN(Config c, LoadConfig(g));
  return Warehouse::Open(c);
}

// "7" is a version; anything else must be a timestamp ("2026-11-21 12:00:00", ISO 8601 with Z).
Result<AsOf> ParseAsOf(const std::string& text) {
  AsOf as_of;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    if (text.size() > 18)
      return Status::InvalidArgument(fmt::format("invalid --as-of '{}': version too large", text));
    as_of.version = std::stoll(text);
    return as_of;
  }
  int64_t micros = ParseTimestamp(text);
  if (micros < 0) {
    return Status::InvalidArgument(
        fmt::format("invalid --as-of '{}': expected a version number or a UTC timestamp such as "
                    "2026-11-21T12:00:00Z",
                    text));
  }
  as_of.timestamp_micros = micros;
  return as_of;
}

// MCP settings (docs/CONFIGURATION.md).
Result<McpToolOptions> McpOptionsFromEnvironment() {
  McpToolOptions o;
  struct Setting {
    const char* name;
    int64_t* target;
    int64_t min;
  };
  for (const auto& s : {Setting{"SUPERTABLE_MCP_MAX_RESPONSE_TOKENS", &o.max_response_tokens, 0},
                        Setting{"SUPERTABLE_MCP_CACHE_TTL_MS", &o.cache_ttl_ms, 0},
                        Setting{"SUPERTABLE_MCP_TASK_AFTER_MS", &o.task_after_ms, 0},
                        Setting{"SUPERTABLE_MCP_TASK_TTL_MS", &o.task_ttl_ms, 1000},
                        Setting{"SUPERTABLE_MCP_DEFAULT_LIMIT", &o.default_row_limit, 1},
                        Setting{"SUPERTABLE_MCP_MAX_LIMIT", &o.max_row_limit, 1}}) {
    if (auto v = GetSetting(s.name); v && !v->empty()) {
      ST_ASSIGN_OR_RETURN(*s.target, ParseIntSetting(s.name, *v, s.min));
    }
  }
  o.default_row_limit = std::min(o.default_row_limit, o.max_row_limit);
  ST_ASSIGN_OR_RETURN(o.max_queries_per_principal,
                      security::MaxQueriesPerPrincipalFromEnvironment());
  return o;
}

}  // namespace

int RunCli(int argc, char** argv, const std::vector<CommandRegistrar>& more_commands) {
  CLI::App app{
      "SuperTable: a lightweight data warehouse of versioned tables, queried with SQL.\n"
      "Settings come from flags, then environment variables (SUPERTABLE_HOME, "
      "SUPERTABLE_ORGANIZATION, ...),\n"
      "then a .env file in the working directory. See docs/CONFIGURATION.md.",
      "supertable"};
  app.set_version_flag("--version", std::string("supertable ") + kVersion);
  app.require_subcommand(1);
  app.fallthrough();
  GlobalFlags g;
  app.add_option("--home", g.home,
                 "Warehouse home directory (SUPERTABLE_HOME; default ~/.supertable)");
  app.add_option("--org", g.org, "Organization (SUPERTABLE_ORGANIZATION; default 'default')");
  app.add_option("--log-level", g.log_level, "debug, info, warn, error (LOG_LEVEL; default warn)");

  std::function<Status()> action;

  // init
  auto* init = app.add_subcommand("init", "Create the warehouse home and its catalog");
  init->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      std::cout << fmt::format(
          "warehouse ready at {} (organization '{}', files on {}, catalog {})\n", w->config().home,
          w->config().organization, w->store().Describe(), w->config().locking_backend);
      return Status::Ok();
    };
  });

  // ingest
  std::string in_super, in_table, in_file, in_keys, in_newer, in_format = "auto";
  std::optional<std::string> in_cluster;
  bool in_delete = false;
  auto* ingest = app.add_subcommand(
      "ingest", "Write a CSV, JSON/NDJSON or Parquet file into a table (append, upsert or delete)");
  ingest->add_option("super", in_super, "Super table (created if missing)")->required();
  ingest->add_option("table", in_table, "Table (created if missing)")->required();
  ingest->add_option("file", in_file, "Input file")->required();
  ingest->add_option("--overwrite-columns", in_keys,
                     "Key columns, comma-separated: stored rows with an incoming key are replaced");
  ingest->add_option("--newer-than", in_newer,
                     "Skip incoming rows whose stored row has this column >= theirs");
  ingest->add_flag("--delete-only", in_delete,
                   "Delete the stored rows whose keys the file lists; write nothing");
  ingest->add_option("--format", in_format,
                     "csv, json, ndjson or parquet (default: from the extension)");
  ingest->add_option("--cluster-by", in_cluster,
                     "Columns, comma-separated, to sort the written rows by, so that files cover "
                     "narrow ranges and selective queries skip the rest; remembered for the "
                     "table's later writes and compactions ('' forgets it)");
  ingest->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      WriteRequest req;
      req.input_path = in_file;
      ST_ASSIGN_OR_RETURN(req.format, ParseInputFormat(in_format));
      req.key_columns = SplitComma(in_keys);
      if (!in_newer.empty()) req.newer_than = in_newer;
      if (in_cluster) req.cluster_by = SplitComma(*in_cluster);
      req.mode = in_delete                 ? WriteMode::kDeleteOnly
                 : req.key_columns.empty() ? WriteMode::kAppend
                                           : WriteMode::kUpsert;
      ProgressBar bar(fmt::format("ingest {}", in_file));
      req.progress = [&bar](double f) { bar.Update(f); };
      ST_ASSIGN_OR_RETURN(WriteResult r, w->Write(w->Ref(in_super, in_table), req));
      const auto& o = r.outcome;
      if (!r.committed) {
        std::cout << fmt::format("{}.{}: nothing changed (version {} stays current)\n", in_super,
                                 in_table, r.version);
        return Status::Ok();
      }
      std::string detail = fmt::format("{} inserted, {} deleted", o.inserted, o.deleted);
      if (o.skipped_stale) detail += fmt::format(", {} skipped as not newer", o.skipped_stale);
      if (o.skipped_duplicates)
        detail += fmt::format(", {} earlier duplicates in the batch", o.skipped_duplicates);
      if (o.files_scanned || o.files_pruned)
        detail += fmt::format("; read {} stored file(s), skipped {} by statistics", o.files_scanned,
                              o.files_pruned);
      if (o.schema_changed) detail += "; schema changed";
      std::cout << fmt::format("{}.{}: version {} ({})\n", in_super, in_table, r.version, detail);
      return Status::Ok();
    };
  });

  // supers
  std::string fmt_supers = "table";
  auto* supers = app.add_subcommand("supers", "List super tables");
  supers->add_option("--format", fmt_supers, "table, csv, json or line");
  supers->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto f, ParseOutputFormat(fmt_supers));
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      ST_ASSIGN_OR_RETURN(auto names, w->ListSupers());
      std::vector<std::vector<json>> rows;
      for (const auto& n : names) {
        ST_ASSIGN_OR_RETURN(auto tables, w->ListTables(n));
        rows.push_back({n, tables.size()});
      }
      PrintRows(f, {{"super", "VARCHAR"}, {"tables", "BIGINT"}}, rows);
      return Status::Ok();
    };
  });

  // tables
  std::string t_super, fmt_tables = "table";
  auto* tables = app.add_subcommand("tables", "List the tables of a super table");
  tables->add_option("super", t_super, "Super table")->required();
  tables->add_option("--format", fmt_tables, "table, csv, json or line");
  tables->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto f, ParseOutputFormat(fmt_tables));
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      ST_ASSIGN_OR_RETURN(auto list, w->ListTables(t_super));
      std::vector<std::vector<json>> rows;
      for (const auto& t : list) {
        rows.push_back(
            {t.name, t.version, t.rows, t.files, t.bytes, FormatTimestamp(t.committed_micros)});
      }
      PrintRows(f,
                {{"table", "VARCHAR"},
                 {"version", "BIGINT"},
                 {"rows", "BIGINT"},
                 {"files", "BIGINT"},
                 {"bytes", "BIGINT"},
                 {"updated_at", "TIMESTAMPTZ"}},
                rows);
      return Status::Ok();
    };
  });

  // describe
  std::string d_super, d_table, fmt_describe = "table";
  auto* describe =
      app.add_subcommand("describe", "Show a table's schema, size and column statistics");
  describe->add_option("super", d_super, "Super table")->required();
  describe->add_option("table", d_table, "Table")->required();
  describe->add_option("--format", fmt_describe, "table, csv, json or line");
  describe->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto f, ParseOutputFormat(fmt_describe));
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      ST_ASSIGN_OR_RETURN(auto d, w->Describe(w->Ref(d_super, d_table)));
      std::vector<std::vector<json>> rows;
      for (const auto& c : d.columns) {
        rows.push_back({c.column.name, c.column.type, c.null_count,
                        c.min ? json(*c.min) : json(nullptr),
                        c.max ? json(*c.max) : json(nullptr)});
      }
      if (f == OutputFormat::kTable) {
        std::cout << fmt::format(
            "{}.{}: version {}, {} rows in {} file(s), {}; {} delete file(s) hiding {} rows; "
            "updated {}\n",
            d_super, d_table, d.summary.version, d.summary.rows, d.summary.files,
            FormatBytes(d.summary.bytes), d.delete_files, d.deleted_rows,
            FormatTimestamp(d.summary.committed_micros));
      }
      PrintRows(f,
                {{"column", "VARCHAR"},
                 {"type", "VARCHAR"},
                 {"nulls", "BIGINT"},
                 {"min", "VARCHAR"},
                 {"max", "VARCHAR"}},
                rows);
      return Status::Ok();
    };
  });

  // history
  std::string h_super, h_table, fmt_history = "table";
  auto* history = app.add_subcommand("history", "Show a table's versions, newest last");
  history->add_option("super", h_super, "Super table")->required();
  history->add_option("table", h_table, "Table")->required();
  history->add_option("--format", fmt_history, "table, csv, json or line");
  history->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto f, ParseOutputFormat(fmt_history));
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      ST_ASSIGN_OR_RETURN(auto recs, w->History(w->Ref(h_super, h_table)));
      std::vector<std::vector<json>> rows;
      for (const auto& r : recs) {
        json summary = json::parse(r.summary_json, nullptr, false);
        rows.push_back({r.version, FormatTimestamp(r.committed_micros), r.operation,
                        summary.is_discarded() ? json(r.summary_json) : summary});
      }
      PrintRows(f,
                {{"version", "BIGINT"},
                 {"committed_at", "TIMESTAMPTZ"},
                 {"operation", "VARCHAR"},
                 {"summary", "JSON"}},
                rows);
      return Status::Ok();
    };
  });

  // query
  std::string q_super, q_sql, fmt_query = "table", q_timeout, q_as_of;
  std::vector<std::string> q_params;
  int64_t q_limit = -1, q_max_bytes = -1;
  bool q_system = false;
  auto* query = app.add_subcommand(
      "query", "Run read-only SQL over the latest snapshots of a super table's tables");
  query->add_option("super", q_super, "Super table whose tables the SQL names")->required();
  query->add_option("sql", q_sql, "SQL, e.g. \"SELECT count(*) FROM orders\"")->required();
  query->add_option("--format", fmt_query, "table (default), csv, json or line");
  query->add_option("--limit", q_limit,
                    "Stop after this many rows and say the result was truncated (default: 10000 "
                    "for table, none otherwise)");
  query->add_option(
      "--timeout", q_timeout,
      "Stop the query after this long, e.g. 30s (default SUPERTABLE_QUERY_TIMEOUT_MS, 60s)");
  query->add_option("--max-result-bytes", q_max_bytes,
                    "Stop once the result's JSON encoding passes this many bytes (default "
                    "SUPERTABLE_MAX_RESULT_BYTES, 1 GiB; 0: none)");
  query->add_option("--as-of", q_as_of,
                    "Read every table as of this version number or UTC timestamp (time travel)");
  query->add_flag("--system-columns", q_system,
                  "Expose the hidden __st_row_id and __st_commit_time columns");
  query->add_option("--param", q_params,
                    "NAME=VALUE, repeatable: the value of the SQL's parameter $NAME, bound, never "
                    "spliced into the text (JSON if it parses as JSON: 10, true, [1,2]; else a "
                    "string)");
  query->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto f, ParseOutputFormat(fmt_query));
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      QueryRequest req{q_super, q_sql, q_limit, q_system};
      if (!q_params.empty()) {
        json params = json::object();
        for (const auto& p : q_params) {
          size_t eq = p.find('=');
          if (eq == std::string::npos || eq == 0) {
            return Status::InvalidArgument(
                fmt::format("--param '{}': expected NAME=VALUE, e.g. --param min=10", p));
          }
          std::string value = p.substr(eq + 1);
          json parsed = json::parse(value, nullptr, false);
          params[p.substr(0, eq)] =
              parsed.is_discarded() || parsed.is_object() ? json(value) : parsed;
        }
        req.parameters_json = params.dump();
      }
      // Whoever runs the CLI on the warehouse's home administers it (no policy): system.audit
      // is theirs.
      if (!q_as_of.empty()) {
        ST_ASSIGN_OR_RETURN(req.as_of, ParseAsOf(q_as_of));
      }
      // 0 means "no limit" to users; the engine spells that -1.
      if (q_max_bytes == 0) req.result_byte_limit = std::numeric_limits<int64_t>::max();
      if (q_max_bytes > 0) req.result_byte_limit = q_max_bytes;
      if (!q_timeout.empty()) {
        ST_ASSIGN_OR_RETURN(int64_t micros, ParseDurationMicros(q_timeout));
        // Round up: "0.5ms" is a very short limit, not "no limit".
        req.timeout_ms = (micros + 999) / 1000;
      }
      // The text table holds rows in memory to align them; keep it bounded unless told otherwise.
      if (req.row_limit < 0 && f == OutputFormat::kTable) req.row_limit = 10000;
      auto sink = MakeResultSink(f, std::cout);
      ST_ASSIGN_OR_RETURN(QueryStats stats, w->Query(req, *sink));
      // CSV has no place for it in the data: say so where a person or a script's log sees it.
      if (stats.truncated && f != OutputFormat::kTable) {
        std::cerr << fmt::format("note: result truncated after {} rows by the {}\n", stats.rows,
                                 stats.truncated_reason);
      }
      return Status::Ok();
    };
  });

  // shell
  std::string sh_super;
  auto* shell = app.add_subcommand(
      "shell", "Interactive SQL over a super table's tables (line editing, history, .help)");
  shell->add_option("super", sh_super, "Super table unqualified names mean (or .use SUPER later)");
  shell->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      ShellOptions o;
      if (!sh_super.empty()) {
        ST_RETURN_IF_ERROR(w->CheckSuperExists(sh_super));
        o.super_name = sh_super;
      }
      if (const char* home = std::getenv("HOME"); home && *home)
        o.history_file = std::string(home) + "/.supertable_history";
      return RunShell(*w, o);
    };
  });

  // compact
  std::string c_super, c_table;
  std::optional<std::string> c_sort;
  int64_t c_target = 0;
  auto* compact = app.add_subcommand(
      "compact", "Merge small files and apply deletes (one table, or every table of a super)");
  compact->add_option("super", c_super, "Super table")->required();
  compact->add_option("table", c_table, "Table (default: all tables of the super)");
  compact->add_option("--target-file-bytes", c_target,
                      "Target data file size (default SUPERTABLE_TARGET_FILE_BYTES)");
  compact->add_option("--sort-by", c_sort,
                      "Columns, comma-separated: rewrite the whole table sorted by them (files "
                      "with ranges that do not overlap) and remember the order ('' forgets it)");
  compact->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      std::vector<std::string> names;
      if (!c_table.empty()) {
        names.push_back(c_table);
      } else {
        ST_ASSIGN_OR_RETURN(auto list, w->ListTables(c_super));
        for (const auto& t : list) names.push_back(t.name);
      }
      for (const auto& n : names) {
        CompactOptions co;
        co.target_file_bytes = c_target;
        if (c_sort) co.sort_by = SplitComma(*c_sort);
        ST_ASSIGN_OR_RETURN(auto r, w->Compact(w->Ref(c_super, n), co));
        if (r.committed) {
          std::cout << fmt::format(
              "{}.{}: version {}: {} file(s) rewritten, {} -> {} files, {} deleted rows dropped\n",
              c_super, n, r.version, r.files_rewritten, r.files_before, r.files_after,
              r.deletes_applied);
        } else {
          std::cout << fmt::format("{}.{}: already compact ({} files)\n", c_super, n,
                                   r.files_before);
        }
      }
      return Status::Ok();
    };
  });

  // gc
  std::string gc_super, gc_table, gc_retention = "168h", gc_grace = "1h";
  bool gc_dry = false;
  auto* gc =
      app.add_subcommand("gc", "Expire old versions and delete files no retained version needs");
  gc->add_option("super", gc_super, "Super table (default: all)");
  gc->add_option("table", gc_table, "Table (default: all tables of the super)");
  gc->add_option("--retention", gc_retention,
                 "Keep versions this long for time travel (default 168h)");
  gc->add_option(
      "--grace", gc_grace,
      "Never delete unreferenced files younger than this: writes in progress (default 1h)");
  gc->add_flag("--dry-run", gc_dry, "Report what would be deleted; delete nothing");
  gc->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      GcOptions opt;
      ST_ASSIGN_OR_RETURN(opt.retention_micros, ParseDurationMicros(gc_retention));
      ST_ASSIGN_OR_RETURN(opt.grace_micros, ParseDurationMicros(gc_grace));
      opt.dry_run = gc_dry;
      std::vector<std::pair<std::string, std::string>> targets;
      std::vector<std::string> supers_list;
      if (gc_super.empty()) {
        ST_ASSIGN_OR_RETURN(supers_list, w->ListSupers());
      } else {
        supers_list.push_back(gc_super);
      }
      for (const auto& s : supers_list) {
        if (!gc_table.empty()) {
          targets.emplace_back(s, gc_table);
          continue;
        }
        ST_ASSIGN_OR_RETURN(auto list, w->ListTables(s));
        for (const auto& t : list) targets.emplace_back(s, t.name);
      }
      for (const auto& [s, t] : targets) {
        ST_ASSIGN_OR_RETURN(auto r, w->Gc(w->Ref(s, t), opt));
        std::cout << fmt::format(
            "{}.{}: {}{} version(s) expired, {} file(s) deleted ({}), {} kept\n", s, t,
            gc_dry ? "[dry run] " : "", r.versions_expired, r.files_deleted,
            FormatBytes(r.bytes_deleted), r.files_kept);
      }
      if (!gc_dry) {
        ST_ASSIGN_OR_RETURN(int64_t cleaned, w->CleanStaging(opt.grace_micros));
        if (cleaned)
          std::cout << fmt::format("removed {} abandoned staging director{}\n", cleaned,
                                   cleaned == 1 ? "y" : "ies");
      }
      return Status::Ok();
    };
  });

  // drop
  std::string dr_super, dr_table;
  auto* drop =
      app.add_subcommand("drop", "Drop a table, or a whole super table, and delete its files");
  drop->add_option("super", dr_super, "Super table")->required();
  drop->add_option("table", dr_table, "Table (default: the whole super table)");
  drop->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      if (dr_table.empty()) {
        ST_RETURN_IF_ERROR(w->DropSuper(dr_super));
        std::cout << fmt::format("dropped super table {}\n", dr_super);
      } else {
        ST_RETURN_IF_ERROR(w->DropTable(w->Ref(dr_super, dr_table)));
        std::cout << fmt::format("dropped {}.{}\n", dr_super, dr_table);
      }
      return Status::Ok();
    };
  });

  // mcp (stdio)
  auto* mcp_cmd = app.add_subcommand(
      "mcp",
      "Serve the Model Context Protocol over stdio (newline-delimited JSON-RPC; logs on stderr)");
  mcp_cmd->callback([&] {
    action = [&]() -> Status {
      // SUPERTABLE_MCP_TRANSPORT, as the original SuperTable names it, may pick HTTP instead.
      std::string transport = GetSetting("SUPERTABLE_MCP_TRANSPORT").value_or("");
      if (transport == "streamable-http" || transport == "http") {
        ST_ASSIGN_OR_RETURN(Config c, LoadConfig(g));
        ST_ASSIGN_OR_RETURN(McpToolOptions opt, McpOptionsFromEnvironment());
        return RunServe(c, ServeFlags{}, opt);
      }
      if (!transport.empty() && transport != "stdio") {
        return Status::InvalidArgument(fmt::format(
            "SUPERTABLE_MCP_TRANSPORT='{}' is not valid: expected stdio or streamable-http",
            transport));
      }
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      w->engine().Prestart();
      ST_ASSIGN_OR_RETURN(McpToolOptions opt, McpOptionsFromEnvironment());
      ST_ASSIGN_OR_RETURN(auto settings, security::AuthSettings::FromEnvironment());
      security::Directory directory(w->catalog(), w->config().organization, w->engine());
      security::Authenticator auth(directory, std::move(settings));
      opt.authenticator = &auth;
      // One client, identified once by the environment: never by tool arguments, except as
      // the original SuperTable did when a token is required and none is in the environment.
      mcp::StdioOptions so;
      if (!auth.settings().stdio_token.empty()) {
        auto p = auth.FromBearer(auth.settings().stdio_token);
        if (!p.ok()) {
          return Status::Unauthenticated("SUPERTABLE_TOKEN is not valid: " + p.status().message());
        }
        so.identity = *p;
      } else if (auth.settings().require_token) {
        auto p = std::make_shared<security::Principal>();
        p->auth = "per_call";
        so.identity = p;
      } else {
        so.identity = auth.LocalAdministrator("local");
      }
      ST_ASSIGN_OR_RETURN(opt.call_rate_limit, security::RateLimitSpecFromEnvironment());
      ST_ASSIGN_OR_RETURN(auto audit_options, security::AuditOptionsFromEnvironment());
      std::unique_ptr<security::AuditLog> audit;
      if (audit_options) {
        ST_ASSIGN_OR_RETURN(
            audit, security::AuditLog::Open(w->store(), w->config().organization, *audit_options));
      }
      opt.audit = audit.get();
      auto server = MakeWarehouseMcpServer(*w, opt);
      int rc = mcp::ServeStdio(*server, stdin, stdout, so);
      return rc == 0 ? Status::Ok() : Status::Internal("the stdio transport failed");
    };
  });

  // catalog export / import
  auto* catalog_cmd = app.add_subcommand(
      "catalog", "Move the catalog between backends (LOCKING_BACKEND=sqlite or redis)");
  catalog_cmd->require_subcommand(1);
  std::string export_path, import_path;
  auto* cat_export = catalog_cmd->add_subcommand(
      "export", "Write the organization's catalog (tables, versions, history) as JSON");
  cat_export->add_option("--output,-o", export_path, "File to write (default: stdout)");
  cat_export->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      ST_ASSIGN_OR_RETURN(json doc, ExportCatalog(w->catalog(), w->config().organization));
      std::string text = doc.dump(1) + "\n";
      if (export_path.empty()) {
        std::cout << text;
        return Status::Ok();
      }
      std::ofstream out(export_path, std::ios::binary | std::ios::trunc);
      out << text;
      out.close();
      if (!out) return Status::IoError(fmt::format("cannot write {}", export_path));
      std::cerr << fmt::format("exported {} tables of organization '{}' to {}\n",
                               doc["tables"].size(), w->config().organization, export_path);
      return Status::Ok();
    };
  });
  auto* cat_import = catalog_cmd->add_subcommand(
      "import", "Restore an exported catalog into this backend (the data files stay in place)");
  cat_import->add_option("file", import_path, "A file written by `catalog export`")->required();
  cat_import->callback([&] {
    action = [&]() -> Status {
      std::ifstream in(import_path, std::ios::binary);
      if (!in) return Status::InvalidArgument(fmt::format("cannot read {}", import_path));
      json doc = json::parse(in, nullptr, false);
      if (doc.is_discarded())
        return Status::InvalidArgument(
            fmt::format("{} is not valid JSON; expected a file written by `supertable catalog "
                        "export`",
                        import_path));
      ST_ASSIGN_OR_RETURN(auto w, OpenWarehouse(g));
      if (doc.is_object() && doc.contains("organization") && doc["organization"].is_string() &&
          doc["organization"] != w->config().organization) {
        return Status::InvalidArgument(
            fmt::format("{} holds organization '{}' but this command works on '{}'; pass --org {}",
                        import_path, doc.value("organization", ""), w->config().organization,
                        doc.value("organization", "")));
      }
      ST_ASSIGN_OR_RETURN(auto r, ImportCatalog(w->catalog(), doc));
      std::cout << fmt::format(
          "imported {} tables ({} already there) and {} super tables into the {} catalog\n",
          r.tables_restored, r.tables_already_there, r.supers, w->config().locking_backend);
      return Status::Ok();
    };
  });

  // serve (streamable HTTP)
  ServeFlags serve_flags;
  int serve_port = -1;
  auto* serve = app.add_subcommand(
      "serve",
      "Serve the Model Context Protocol over streamable HTTP (default http://127.0.0.1:8000/mcp)");
  serve->add_option("--host", serve_flags.host,
                    "Address to listen on (SUPERTABLE_MCP_HTTP_HOST; default 127.0.0.1)");
  serve->add_option("--port", serve_port,
                    "Port; 0 picks a free one (SUPERTABLE_MCP_HTTP_PORT; default 8000)");
  serve->add_option("--path", serve_flags.path, "Endpoint path (SUPERTABLE_MCP_HTTP_PATH; /mcp)");
  serve->add_flag("--allow-unauthenticated", serve_flags.allow_unauthenticated,
                  "Listen on a non-loopback address without SUPERTABLE_REQUIRE_TOKEN, knowingly");
  serve->add_flag("--demo", serve_flags.demo,
                  "First build the demo warehouse in a temporary home and serve that");
  serve->add_option("--demo-data", serve_flags.demo_data,
                    "Directory with the demo CSV files (default: demo/data)");
  serve->callback([&] {
    action = [&]() -> Status {
      if (serve_port != -1) serve_flags.port = serve_port;
      ST_ASSIGN_OR_RETURN(Config c, LoadConfig(g));
      ST_ASSIGN_OR_RETURN(McpToolOptions opt, McpOptionsFromEnvironment());
      return RunServe(c, serve_flags, opt);
    };
  });

  // demo
  DemoOptions demo_opt;
  auto* demo = app.add_subcommand(
      "demo", "Build a sample warehouse in a temporary home, upsert into it, query it");
  demo->add_option("--data", demo_opt.data_dir,
                   "Directory with the sample CSV files (default: demo/data)");
  demo->add_flag("--keep", demo_opt.keep, "Keep the temporary home and print its path");
  demo->callback([&] {
    action = [&]() -> Status {
      ST_ASSIGN_OR_RETURN(Config c, LoadConfig(g));
      return RunDemo(c, demo_opt).status();
    };
  });

  CliContext context{&action, [&] { return OpenWarehouse(g); }};
  for (CommandRegistrar add : more_commands) add(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 1;  // every parse problem is the user's to fix
  }
  if (!action) return 1;
  try {
    return ExitCode(action());
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace supertable

// Warehouse tools, resources and prompts for MCP.
#include "tools/warehouse_tools.h"

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"
#include "common/text.h"
#include "common/version.h"
#include "engine/sql_text.h"
#include "mcp/middleware.h"
#include "security/authenticator.h"
#include "tools/admin_operations.h"
#include "tools/operations.h"

namespace supertable {

std::vector<PathLabel> ServerPaths(Warehouse& w);  // below

Caller CallerOf(std::shared_ptr<const security::Principal> p) {
  auto policy = security::PolicyFor(p);
  return {std::move(p), std::move(policy)};
}

namespace {

using mcp::json;
using mcp::Tool;
using mcp::ToolContext;
using mcp::ToolResult;

const auto kStart = std::chrono::steady_clock::now();

// Every string of `j` with the server's directories replaced by their labels (ScrubPaths).
void ScrubJson(json& j, const std::vector<PathLabel>& paths) {
  if (j.is_string()) {
    j = ScrubPaths(j.get<std::string>(), paths);
  } else if (j.is_structured()) {
    for (auto& child : j) ScrubJson(child, paths);
  }
}

// Collects a query's result as JSON for tool output.
class JsonSink : public ResultSink {
 public:
  json columns = json::array();
  json rows = json::array();
  void Begin(const std::vector<Column>& cols) override {
    for (const auto& c : cols) columns.push_back({{"name", c.name}, {"type", c.type}});
  }
  void Row(const std::vector<json>& cells) override { rows.push_back(cells); }
  void End(bool) override {}
};

json Prop(const char* type, const std::string& description) {
  return PropSchema(type, description);
}

const json kSuperProp =
    Prop("string", "Super table (a group of related tables), e.g. 'shop'. list_supers shows them.");
const json kTableProp =
    Prop("string", "Table name inside the super table, e.g. 'orders'. list_tables shows them.");

ToolResult FromStatus(const Status& s) { return ToolResult::Error(s.message()); }

// Plans a query without running it; SQL that already asks for a plan is left as it is (the
// guard still decides what may run).
std::string AsExplain(const std::string& sql) {
  size_t start = sql.find_first_not_of(" \t\r\n");
  bool already = start != std::string::npos && strncasecmp(sql.c_str() + start, "explain", 7) == 0;
  return already ? sql : "EXPLAIN " + sql;
}

// The original SuperTable's argument names, accepted by every tool besides ours.
const json kCompatProps = {
    {"super_name", Prop("string", "Same as 'super' (the original SuperTable's name for it)")},
    {"organization", Prop("string", "The organization; must be this server's")},
    {"user_hash",
     Prop("string", "The original SuperTable's user hash: only narrows to the caller's own user")},
    {"auth_token", Prop("string", "The original SuperTable's per-call token")}};

// Adds the compatible argument names to a tool's input schema. "super" stops being required
// by the schema, since "super_name" may stand for it; the tool checks that one is there.
json WithCompatArgs(json schema) {
  for (const auto& [k, v] : kCompatProps.items()) schema["properties"][k] = v;
  auto& req = schema["required"];
  req.erase(std::remove(req.begin(), req.end(), json("super")), req.end());
  return schema;
}

class Operations : public OperationRegistry {
 public:
  Operations(Warehouse& w, const McpToolOptions& o)
      : w_(w), o_(o), running_(o.max_queries_per_principal) {
    Build();
  }
  const std::vector<Operation>& operations() const override { return ops_; }

  // The registry: every operation, once.
  void Build() {
    // REST routes (src/api/): reads are GETs of the resources they read; queries are POSTs.
    static const std::map<std::string, Operation::Route> kRoutes = {
        {"health", {"GET", "/api/v1/health"}},
        {"info", {"GET", "/api/v1/info"}},
        {"whoami", {"GET", "/api/v1/whoami"}},
        {"list_supers", {"GET", "/api/v1/supers"}},
        {"get_super_meta", {"GET", "/api/v1/supers/{super}"}},
        {"list_tables", {"GET", "/api/v1/supers/{super}/tables"}},
        {"describe_table", {"GET", "/api/v1/supers/{super}/tables/{table}"}},
        {"get_table_stats", {"GET", "/api/v1/supers/{super}/tables/{table}/stats"}},
        {"get_table_history", {"GET", "/api/v1/supers/{super}/tables/{table}/history"}},
        {"sample_data", {"GET", "/api/v1/supers/{super}/tables/{table}/data"}},
        {"profile_column",
         {"GET", "/api/v1/supers/{super}/tables/{table}/columns/{column}/profile"}},
        {"data_freshness", {"GET", "/api/v1/supers/{super}/freshness"}},
        {"search_columns", {"GET", "/api/v1/columns"}},
        {"query_sql", {"POST", "/api/v1/query"}},
        {"validate_sql", {"POST", "/api/v1/query/validate"}},
        {"explain_sql", {"POST", "/api/v1/query/explain"}},
        {"read_audit", {"GET", "/api/v1/audit"}},
    };
    // Administration, for people and scripts: not offered to agents as MCP tools.
    static const std::set<std::string> kNotForMcp = {"read_audit"};
    auto add = [&](Operation op) {
      // Every operation reads (health and whoami included: they tell about the server and the
      // caller), so every one needs the read scope of a scoped credential.
      if (op.scope.empty()) op.scope = security::kScopeRead;
      op.long_running = op.long_running || op.name == "query_sql" || op.name == "profile_column";
      if (auto r = kRoutes.find(op.name); r != kRoutes.end()) op.route = r->second;
      op.mcp = op.mcp && !kNotForMcp.count(op.name);
      // No door shows where the server keeps its files: answers and errors are scrubbed here,
      // once for all of them.
      op.run = [run = std::move(op.run),
                paths = ServerPaths(w_)](OperationContext& c) -> Result<json> {
        auto r = run(c);
        if (!r.ok()) {
          return Status::FromCode(r.status().code(), ScrubPaths(r.status().message(), paths));
        }
        ScrubJson(*r, paths);
        return r;
      };
      ops_.push_back(std::move(op));
    };
    add({"health",
         "Health check",
         "Check that the SuperTable server and its catalog answer. Returns status 'ok' or an "
         "error.",
         ObjectSchema(json::object(), {}),
         OutputSchema({{"status", Prop("string", "")},
                       {"version", Prop("string", "")},
                       {"uptime_s", Prop("number", "")}}),
         {},
         [this](OperationContext&) { return Health(); },
         // Quick (answered on the network thread) only when its catalog check cannot block on
         // the network: a remote catalog may retry for seconds.
         w_.config().locking_backend == "sqlite"});
    add({"info",
         "Server information",
         "Describe this SuperTable server: version, organization, storage and catalog backends, "
         "and the query limits "
         "that apply to query_sql.",
         ObjectSchema(json::object(), {}),
         OutputSchema({{"organization", Prop("string", "")}}),
         {},
         [this](OperationContext& c) { return Info(c.caller); }});
    add({"whoami",
         "Who am I",
         "Show the identity this session acts as and the organization it reads.",
         ObjectSchema(json::object(), {}),
         OutputSchema({{"user", Prop("string", "")}}),
         {},
         [this](OperationContext& c) { return WhoAmI(c.caller); }});
    add({"list_supers",
         "List super tables",
         "List the super tables (groups of related tables) of the organization with their table "
         "counts. Start here "
         "to discover data.",
         ObjectSchema(json::object(), {}),
         OutputSchema({{"supers", Prop("array", "")}}),
         {},
         [this](OperationContext& c) { return ListSupers(c.caller); }});
    add({"list_tables",
         "List tables",
         "List the tables of one super table with their current version, row count, file count, "
         "size and last "
         "update time.",
         ObjectSchema({{"super", kSuperProp}}, {"super"}),
         OutputSchema({{"tables", Prop("array", "")}}),
         {},
         [this](OperationContext& c) { return ListTables(c.args, c.caller); }});
    add({"describe_table",
         "Describe a table",
         "Show a table's columns with their types, null counts and min/max values, plus its row "
         "count and version. "
         "Use before writing SQL against it.",
         ObjectSchema({{"super", kSuperProp}, {"table", kTableProp}}, {"super", "table"}),
         OutputSchema({{"columns", Prop("array", "")}}),
         {},
         [this](OperationContext& c) { return Describe(c.args, c.caller); }});
    add({"get_table_stats",
         "Table statistics",
         "Storage statistics of a table: rows, deleted rows awaiting compaction, data and delete "
         "files, bytes, "
         "average file size, retained versions.",
         ObjectSchema({{"super", kSuperProp}, {"table", kTableProp}}, {"super", "table"}),
         OutputSchema({{"rows", Prop("integer", "")}}),
         {},
         [this](OperationContext& c) { return Stats(c.args, c.caller); }});
    add({"get_super_meta",
         "Super table metadata",
         "Summary of one super table: its tables, total rows and bytes, and when it last changed.",
         ObjectSchema({{"super", kSuperProp}}, {"super"}),
         OutputSchema({{"tables", Prop("array", "")}}),
         {},
         [this](OperationContext& c) { return SuperMeta(c.args, c.caller); }});
    add({"get_table_history",
         "Table history",
         "The versions of a table, newest first: version number, commit time, operation (append, "
         "upsert, delete, "
         "compact) and its counters. Versions can be queried with as_of or AT (VERSION => n).",
         ObjectSchema({{"super", kSuperProp},
                       {"table", kTableProp},
                       {"limit",
                        {{"type", "integer"},
                         {"minimum", 1},
                         {"maximum", 1000},
                         {"description", "Newest versions to return (default 20)"}}}},
                      {"super", "table"}),
         OutputSchema({{"versions", Prop("array", "")}}),
         {},
         [this](OperationContext& c) { return History(c.args, c.caller); }});
    add({"sample_data",
         "Sample rows",
         "A random sample of a table's rows (default 10, at most 100), to see what the data looks "
         "like.",
         ObjectSchema({{"super", kSuperProp},
                       {"table", kTableProp},
                       {"limit",
                        {{"type", "integer"},
                         {"minimum", 1},
                         {"maximum", 100},
                         {"description", "Rows (default 10)"}}}},
                      {"super", "table"}),
         QueryOutputSchema(),
         {},
         [this](OperationContext& c) { return Sample(c, c.caller); }});
    add({"query_sql",
         "Run a SQL query",
         "Run one read-only SQL query (DuckDB dialect) over the tables of a super table. Name "
         "tables as 'table' or "
         "'super.table'; time travel with FROM t AT (VERSION => 3) or the as_of argument. Returns "
         "typed columns, rows, "
         "'truncated' when the row limit cut the result, and timing. Prefer aggregates and LIMIT "
         "over fetching raw "
         "rows.",
         ObjectSchema(
             {{"super", kSuperProp},
              {"sql",
               {{"type", "string"},
                {"minLength", 1},
                {"maxLength", 100000},
                {"description", "One SELECT/WITH query"}}},
              {"limit",
               {{"type", "integer"},
                {"minimum", 1},
                {"maximum", o_.max_row_limit},
                {"description",
                 fmt::format("Maximum rows returned (default {})", o_.default_row_limit)}}},
              {"timeout_ms",
               {{"type", "integer"},
                {"minimum", 1},
                {"maximum", 600000},
                {"description", "Stop the query after this many milliseconds"}}},
              {"as_of",
               {{"type", {"integer", "string"}},
                {"description", "Read tables as of this version number or UTC timestamp"}}},
              {"parameters",
               {{"type", "object"},
                {"maxProperties", 100},
                {"additionalProperties",
                 {{"type", {"string", "number", "integer", "boolean", "null", "array"}}}},
                {"description",
                 "Values of the SQL's named parameters, bound, never spliced into the text: "
                 "\"WHERE amount > $min\" with {\"min\": 10}"}}}},
             {"super", "sql"}),
         QueryOutputSchema(),
         {},
         [this](OperationContext& c) { return QuerySql(c, c.caller); }});
    add({"validate_sql",
         "Validate SQL",
         "Check a SQL query without running it: parses, resolves tables and columns, and returns "
         "valid=true or the "
         "error with suggestions.",
         ObjectSchema({{"super", kSuperProp},
                       {"sql", {{"type", "string"}, {"minLength", 1}, {"maxLength", 100000}}}},
                      {"super", "sql"}),
         OutputSchema({{"valid", Prop("boolean", "")}, {"error", Prop("string", "")}}),
         {},
         [this](OperationContext& c) { return Validate(c, c.caller); }});
    add({"explain_sql",
         "Explain SQL",
         "Show DuckDB's query plan for a SQL query without running it.",
         ObjectSchema({{"super", kSuperProp},
                       {"sql", {{"type", "string"}, {"minLength", 1}, {"maxLength", 100000}}}},
                      {"super", "sql"}),
         OutputSchema({{"plan", Prop("string", "")}}),
         {},
         [this](OperationContext& c) { return Explain(c, c.caller); }});
    add({"profile_column",
         "Profile a column",
         "Profile one column: row count, distinct values, nulls, min, max and the most frequent "
         "values.",
         ObjectSchema({{"super", kSuperProp},
                       {"table", kTableProp},
                       {"column", Prop("string", "Column name")},
                       {"top",
                        {{"type", "integer"},
                         {"minimum", 1},
                         {"maximum", 50},
                         {"description", "How many frequent values (default 5)"}}}},
                      {"super", "table", "column"}),
         OutputSchema({{"distinct_count", Prop("integer", "")}}),
         {},
         [this](OperationContext& c) { return Profile(c, c.caller); }});
    add({"search_columns",
         "Search columns",
         "Find columns by name across tables: a case-insensitive substring, or a pattern with * "
         "wildcards. "
         "Optionally within one super table.",
         ObjectSchema({{"pattern", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}},
                       {"super", kSuperProp}},
                      {"pattern"}),
         OutputSchema({{"matches", Prop("array", "")}}),
         {},
         [this](OperationContext& c) { return Search(c.args, c.caller); }});
    add({"data_freshness",
         "Data freshness",
         "When each table of a super table (or one table) last changed, and how long ago, to judge "
         "whether data is "
         "current.",
         ObjectSchema({{"super", kSuperProp}, {"table", kTableProp}}, {"super"}),
         OutputSchema({{"tables", Prop("array", "")}}),
         {},
         [this](OperationContext& c) { return Freshness(c.args, c.caller); }});
    add({"read_audit",
         "Audit trail",
         "The organization's audit trail, newest last: who called what, with which arguments "
         "(secrets redacted), what it read, how it ended. Administrators only.",
         ObjectSchema({{"user", Prop("string", "Only this principal's records")},
                       {"since", Prop("string",
                                      "A duration back from now (30m, 1h, 2d) or a UTC "
                                      "timestamp such as 2026-11-21T12:00:00Z")},
                       {"limit",
                        {{"type", "integer"},
                         {"minimum", 1},
                         {"maximum", 10000},
                         {"description", "The newest this many records (default 100)"}}}},
                      {}),
         OutputSchema({{"records", Prop("array", "Audit records, oldest first")},
                       {"count", Prop("integer", "")}}),
         {},
         [this](OperationContext& c) { return ReadAuditTrail(c.args, c.caller); }});
    AddAdminOperations(w_, directory(), add);
  }

  // The directory of users, roles and tokens the authenticator checks credentials against
  // (one of its own over the same catalog when there is no authenticator: stdio, tests).
  security::Directory& directory() {
    if (o_.authenticator) return o_.authenticator->directory();
    if (!own_directory_) {
      own_directory_ = std::make_unique<security::Directory>(w_.catalog(), w_.config().organization,
                                                             w_.engine());
    }
    return *own_directory_;
  }

  Result<json> WhoAmI(const Caller& who) {
    const security::Principal& p = *who.principal;
    json scopes = p.scopes ? json(*p.scopes) : json("all its roles allow");
    json r;
    r = {{"user", p.user},         {"auth", p.auth},   {"superuser", p.superuser},
         {"roles", p.RoleNames()}, {"scopes", scopes}, {"organization", w_.config().organization}};
    if (!p.token_id.empty()) r["token_id"] = p.token_id;
    return r;
  }

  static json QueryOutputSchema() {
    return OutputSchema(
        {{"columns", Prop("array", "Column names and DuckDB types")},
         {"rows", Prop("array", "Rows as arrays of JSON values")},
         {"row_count", Prop("integer", "")},
         {"truncated", Prop("boolean", "True when the limit cut the result")},
         {"elapsed_ms", Prop("number", "")},
         {"files_read", Prop("integer", "Data files the query read")},
         {"files_pruned", Prop("integer",
                               "Data files left unread because their statistics show no row "
                               "can match the query's filters")}});
  }

  Result<json> RunQuery(const Caller& who, const std::string& super_name, const std::string& sql,
                        int64_t limit, OperationContext* ctx, int64_t timeout_ms = -1,
                        std::optional<AsOf> as_of = std::nullopt, bool validate_only = false,
                        const json* parameters = nullptr) {
    QueryRequest req{super_name, sql, limit};
    if (parameters && parameters->is_object()) req.parameters_json = parameters->dump();
    req.validate_only = validate_only;
    req.timeout_ms = timeout_ms;
    req.as_of = as_of;
    req.policy = who.get();
    if (ctx) req.cancel = ctx->cancel;
    if (ctx && !validate_only) req.parquet_file = ctx->parquet_file;
    // One principal may not take every engine worker: the others' queries would wait.
    std::optional<security::ConcurrencyLimiter::Slot> slot;
    if (!who.principal->superuser) {
      slot = running_.TryAcquire(who.principal->Key());
      if (!slot) {
        return Status::ResourceExhausted(
            fmt::format("busy: you already run {} queries at once; wait for one to finish "
                        "(SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL)",
                        o_.max_queries_per_principal));
      }
    }
    JsonSink sink;
    ST_ASSIGN_OR_RETURN(QueryStats stats, w_.Query(req, sink));
    if (ctx && ctx->notes) {
      json& notes = *ctx->notes;
      for (const auto& t : stats.tables) notes["tables"].push_back(t);
      for (const auto& p : stats.policies) notes["policies"].push_back(p);
      notes["rows"] = notes.value("rows", int64_t{0}) + stats.rows;
    }
    json out = {{"columns", sink.columns},
                {"rows", sink.rows},
                {"row_count", stats.rows},
                {"truncated", stats.truncated},
                {"elapsed_ms", static_cast<double>(stats.elapsed_micros) / 1000.0},
                {"files_read", stats.files - stats.files_pruned},
                {"files_pruned", stats.files_pruned}};
    if (stats.truncated) {
      out["note"] =
          fmt::format("result cut at the {}; add filters, aggregates or a LIMIT, or raise 'limit'",
                      stats.truncated_reason);
    }
    return out;
  }

  // The catalog is asked at most once a second: health is polled by load balancers and agents,
  // and must stay quick enough to run on the network thread.
  Result<json> Health() {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - kStart)
                      .count();
    if (now - health_checked_ms_.load() >= 1000) {
      std::lock_guard<std::mutex> g(health_mu_);
      if (now - health_checked_ms_.load() >= 1000) {
        auto supers = w_.ListSupers();
        health_error_ = supers.ok() ? "" : "catalog unreachable: " + supers.status().message();
        health_checked_ms_ = now;
      }
    }
    {
      std::lock_guard<std::mutex> g(health_mu_);
      if (!health_error_.empty()) return Status::IoError(health_error_);
    }
    json r;
    r = {{"status", "ok"},
         {"version", kVersion},
         {"uptime_s",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - kStart).count()}};
    return r;
  }

  Result<json> Info(const Caller&) {
    const Config& c = w_.config();
    json r;
    r = {{"name", "supertable"},
         {"version", kVersion},
         {"organization", c.organization},
         {"storage_type", c.storage_type},
         {"storage", w_.store().Describe()},
         {"catalog", c.locking_backend},
         {"limits",
          {{"query_timeout_ms", c.query_timeout_ms},
           {"default_row_limit", o_.default_row_limit},
           {"max_row_limit", o_.max_row_limit},
           {"max_response_tokens", o_.max_response_tokens},
           {"max_concurrent_queries", c.max_concurrent_queries}}}};
    if (ObjectCache* cache = w_.object_cache()) {
      ObjectCacheStats st = cache->stats();
      r["object_cache"] = {{"max_bytes", c.cache_max_bytes},
                           {"resident_bytes", st.resident_bytes},
                           {"fetched_bytes", st.remote_bytes},
                           {"served_from_cache_bytes", st.cache_bytes},
                           {"remote_requests", st.remote_requests}};
    }
    return r;
  }

  Result<json> ListSupers(const Caller& who) {
    auto names = w_.ListSupers(who.get());
    if (!names.ok()) return names.status();
    json supers = json::array();
    for (const auto& n : *names) {
      auto tables = w_.ListTables(n, who.get());
      supers.push_back({{"name", n}, {"tables", tables.ok() ? tables->size() : 0}});
    }
    json r;
    r = {{"supers", supers}};
    return r;
  }

  // Counts the caller may not see (a row filter applies) are null.
  static json TableJson(const TableSummary& t) {
    auto count = [&](int64_t v) { return t.stats_withheld ? json() : json(v); };
    return {{"name", t.name},          {"version", t.version},
            {"rows", count(t.rows)},   {"files", count(t.files)},
            {"bytes", count(t.bytes)}, {"updated_at", FormatTimestamp(t.committed_micros)}};
  }

  Result<json> ListTables(const json& a, const Caller& who) {
    const std::string sup = Super(a, who);
    auto list = w_.ListTables(sup, who.get());
    if (!list.ok()) return list.status();
    json tables = json::array();
    for (const auto& t : *list) tables.push_back(TableJson(t));
    json r;
    r = {{"super", sup}, {"tables", tables}};
    return r;
  }

  Result<json> Describe(const json& a, const Caller& who) {
    const std::string sup = Super(a, who);
    const std::string tab = Table(a, sup, who);
    auto d = w_.Describe(w_.Ref(sup, tab), who.get());
    if (!d.ok()) return d.status();
    json cols = json::array();
    for (const auto& c : d->columns) {
      json col = {{"name", c.column.name},
                  {"type", c.column.type},
                  {"null_count", c.null_count >= 0 ? json(c.null_count) : json()},
                  {"min", c.min ? json(*c.min) : json()},
                  {"max", c.max ? json(*c.max) : json()}};
      if (std::find(d->masked.begin(), d->masked.end(), c.column.name) != d->masked.end())
        col["masked"] = true;
      cols.push_back(std::move(col));
    }
    json r;
    r = {{"super", sup},
         {"table", tab},
         {"version", d->summary.version},
         {"rows", d->summary.stats_withheld ? json() : json(d->summary.rows)},
         {"columns", cols}};
    if (d->access == TableAccess::kMeta) r["access"] = "structure only";
    return r;
  }

  Result<json> Stats(const json& a, const Caller& who) {
    const std::string sup = Super(a, who);
    const std::string tab = Table(a, sup, who);
    TableRef ref = w_.Ref(sup, tab);
    auto d = w_.Describe(ref, who.get());
    if (!d.ok()) return d.status();
    auto h = w_.History(ref, who.get());
    json r;
    int64_t files = d->summary.files;
    // Under a row filter every count would tell about rows the caller may not see.
    auto count = [&](int64_t v) { return d->summary.stats_withheld ? json() : json(v); };
    r = {{"rows", count(d->summary.rows)},
         {"deleted_rows_pending_compaction", count(d->deleted_rows)},
         {"data_files", count(files)},
         {"delete_files", count(d->delete_files)},
         {"bytes", count(d->summary.bytes)},
         {"avg_file_bytes", count(files ? d->summary.bytes / files : 0)},
         {"version", d->summary.version},
         {"versions_retained", h.ok() ? h->size() : 0},
         {"updated_at", FormatTimestamp(d->summary.committed_micros)}};
    return r;
  }

  Result<json> SuperMeta(const json& a, const Caller& who) {
    const std::string sup = Super(a, who);
    auto list = w_.ListTables(sup, who.get());
    if (!list.ok()) return list.status();
    int64_t rows = 0, bytes = 0, last = 0;
    bool withheld = false;
    json tables = json::array();
    for (const auto& t : *list) {
      withheld = withheld || t.stats_withheld;
      rows += t.rows;
      bytes += t.bytes;
      last = std::max(last, t.committed_micros);
      tables.push_back(TableJson(t));
    }
    json r;
    r = {{"name", sup},
         {"table_count", list->size()},
         {"rows", withheld ? json() : json(rows)},
         {"bytes", withheld ? json() : json(bytes)},
         {"updated_at", last ? json(FormatTimestamp(last)) : json()},
         {"tables", tables}};
    return r;
  }

  Result<json> History(const json& a, const Caller& who) {
    const std::string sup = Super(a, who);
    const std::string tab = Table(a, sup, who);
    auto h = w_.History(w_.Ref(sup, tab), who.get());
    if (!h.ok()) return h.status();
    int64_t limit = a.value("limit", 20);
    json versions = json::array();
    for (auto it = h->rbegin(); it != h->rend() && static_cast<int64_t>(versions.size()) < limit;
         ++it) {
      json summary = json::parse(it->summary_json, nullptr, false);
      versions.push_back({{"version", it->version},
                          {"committed_at", FormatTimestamp(it->committed_micros)},
                          {"operation", it->operation},
                          {"summary", summary.is_discarded() ? json() : summary}});
    }
    json r;
    r = {{"versions", versions}, {"retained", h->size()}};
    return r;
  }

  Result<json> Sample(OperationContext& c, const Caller& who) {
    const json& a = c.args;
    const std::string sup = Super(a, who);
    const std::string tab = Table(a, sup, who);
    int64_t n = a.value("limit", 10);
    std::string sql = fmt::format("SELECT * FROM {} USING SAMPLE {} ROWS", sql::Ident(tab), n);
    return RunQuery(who, sup, sql, n, &c);
  }

  Result<json> QuerySql(OperationContext& c, const Caller& who) {
    const json& a = c.args;
    const std::string sup = Super(a, who);
    auto as_of = AsOfArgument(a);
    if (!as_of.ok()) return as_of.status();
    int64_t limit = a.value("limit", o_.default_row_limit);
    int64_t timeout_ms = a.value("timeout_ms", int64_t{-1});
    if (timeout_ms < 0 && a.contains("query_timeout_sec"))
      timeout_ms = a["query_timeout_sec"].get<int64_t>() * 1000;
    c.Progress(0, 1, "query started");
    auto r = RunQuery(who, sup, StringArg(a, "sql"), limit, &c, timeout_ms, *as_of, false,
                      a.contains("parameters") ? &a["parameters"] : nullptr);
    c.Progress(1, 1, "query finished");
    return r;
  }

  Result<json> Validate(OperationContext& c, const Caller& who) {
    const json& a = c.args;
    const std::string sup = Super(a, who);
    // Bound and planned, not run (and not EXPLAINed: a plan would show a policy's views).
    auto r = RunQuery(who, sup, StringArg(a, "sql"), 1000, &c, -1, std::nullopt, true);
    json out;
    out = r.ok() ? json{{"valid", true}, {"columns", (*r)["columns"]}}
                 : json{{"valid", false}, {"error", r.status().message()}};
    return out;
  }

  Result<json> Explain(OperationContext& c, const Caller& who) {
    const json& a = c.args;
    const std::string sup = Super(a, who);
    auto r = RunQuery(who, sup, AsExplain(StringArg(a, "sql")), 1000, &c);
    if (!r.ok()) return r.status();
    std::string plan;
    for (const auto& row : (*r)["rows"]) {
      if (row.size() >= 2 && row[1].is_string()) plan += row[1].get<std::string>();
    }
    json out;
    out = {{"plan", plan}};
    return out;
  }

  Result<json> Profile(OperationContext& c, const Caller& who) {
    const json& a = c.args;
    const std::string sup = Super(a, who);
    const std::string tab = Table(a, sup, who);
    std::string t = sql::Ident(tab), col = sql::Ident(StringArg(a, "column"));
    int64_t top = a.value("top", 5);
    auto stats = RunQuery(
        who, sup,
        fmt::format(
            "SELECT count(*), count(DISTINCT {0}), count(*) - count({0}), min({0})::VARCHAR, "
            "max({0})::VARCHAR FROM {1}",
            col, t),
        1, &c);
    if (!stats.ok()) return stats.status();
    auto freq = RunQuery(
        who, sup,
        fmt::format(
            "SELECT {0}::VARCHAR AS value, count(*) AS count FROM {1} GROUP BY 1 ORDER BY 2 "
            "DESC, 1 LIMIT {2}",
            col, t, top),
        top, &c);
    if (!freq.ok()) return freq.status();
    const json& row = (*stats)["rows"][0];
    json top_values = json::array();
    for (const auto& f : (*freq)["rows"]) top_values.push_back({{"value", f[0]}, {"count", f[1]}});
    json out;
    out = {{"column", StringArg(a, "column")},
           {"rows", row[0]},
           {"distinct_count", row[1]},
           {"null_count", row[2]},
           {"min", row[3]},
           {"max", row[4]},
           {"top_values", top_values}};
    return out;
  }

  Result<json> Search(const json& a, const Caller& who) {
    constexpr size_t kMaxMatches = 500;  // a search, not a catalog dump
    std::string pattern = StringArg(a, "pattern");
    for (auto& ch : pattern) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto matches = [&](std::string name) {
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (pattern.find('*') == std::string::npos) return name.find(pattern) != std::string::npos;
      // Glob with '*' only: match pieces in order, anchored at both ends.
      size_t pos = 0, start = 0;
      bool first = true;
      while (start <= pattern.size()) {
        size_t star = pattern.find('*', start);
        std::string piece =
            pattern.substr(start, star == std::string::npos ? std::string::npos : star - start);
        if (first && star != 0 && name.compare(0, piece.size(), piece) != 0) return false;
        if (star == std::string::npos) {
          return piece.empty() ||
                 (name.size() >= piece.size() &&
                  name.compare(name.size() - piece.size(), piece.size(), piece) == 0 &&
                  name.size() - piece.size() >= pos);
        }
        size_t found = name.find(piece, pos);
        if (found == std::string::npos) return false;
        pos = found + piece.size();
        start = star + 1;
        first = false;
      }
      return true;
    };
    std::vector<std::string> supers;
    if (a.contains("super") || a.contains("super_name")) {
      supers.push_back(Super(a, who));
    } else if (auto all = w_.ListSupers(who.get()); all.ok()) {
      supers = *all;
    }
    json out = json::array();
    for (const auto& s : supers) {
      auto tables = w_.ListTables(s, who.get());
      if (!tables.ok()) return tables.status();
      for (const auto& t : *tables) {
        if (out.size() >= kMaxMatches) break;
        // Describe shows the caller's columns only: a hidden one is never found.
        auto d = w_.Describe(w_.Ref(s, t.name), who.get());
        if (!d.ok()) continue;
        for (const auto& c : d->columns) {
          if (matches(c.column.name)) {
            out.push_back({{"super", s},
                           {"table", t.name},
                           {"column", c.column.name},
                           {"type", c.column.type}});
          }
          if (out.size() >= kMaxMatches) break;
        }
      }
    }
    json r;
    r = {{"matches", out}, {"count", out.size()}, {"truncated", out.size() >= kMaxMatches}};
    return r;
  }

  Result<json> ReadAuditTrail(const json& a, const Caller& who) {
    if (!who.principal->IsAdmin()) {
      return Status::PermissionDenied(
          "the audit trail is for administrators (an admin role, or a superuser)");
    }
    security::AuditQuery q;
    q.user = StringArg(a, "user");
    ST_ASSIGN_OR_RETURN(q.since_micros, security::ParseAuditSince(StringArg(a, "since"), "since"));
    q.limit = a.value("limit", int64_t{100});
    ST_ASSIGN_OR_RETURN(auto records, security::ReadAudit(w_.store(), w_.config().organization, q));
    return json{{"records", records}, {"count", records.size()}};
  }

  Result<json> Freshness(const json& a, const Caller& who) {
    const std::string sup = Super(a, who);
    const std::string tab = Table(a, sup, who);
    auto list = w_.ListTables(sup, who.get());
    if (!list.ok()) return list.status();
    int64_t now = NowMicros();
    json tables = json::array();
    for (const auto& t : *list) {
      if (a.contains("table") && strcasecmp(t.name.c_str(), tab.c_str()) != 0) continue;
      tables.push_back({{"table", t.name},
                        {"version", t.version},
                        {"updated_at", FormatTimestamp(t.committed_micros)},
                        {"age_seconds", (now - t.committed_micros) / 1000000}});
    }
    if (a.contains("table") && tables.empty()) {
      return w_.RequireHead(w_.Ref(sup, tab), who.get()).status();
    }
    json r;
    r = {{"tables", tables}};
    return r;
  }

  // Names as the catalog spells them: models type "Shop" or "ORDERS" as readily as SQL does,
  // and SQL names are case-insensitive, so tool arguments are too. Unknown names pass through
  // for the warehouse to report (with suggestions).
  std::string Super(const json& a, const Caller& who) {
    std::string name = StringArg(a, "super", StringArg(a, "super_name"));
    if (auto supers = w_.ListSupers(who.get()); supers.ok()) {
      for (const auto& s : *supers) {
        if (strcasecmp(s.c_str(), name.c_str()) == 0) return s;
      }
    }
    return name;
  }
  std::string Table(const json& a, const std::string& super_name, const Caller& who) {
    std::string name = StringArg(a, "table");
    if (auto tables = w_.ListTables(super_name, who.get()); tables.ok()) {
      for (const auto& t : *tables) {
        if (strcasecmp(t.name.c_str(), name.c_str()) == 0) return t.name;
      }
    }
    return name;
  }

 private:
  std::mutex health_mu_;
  std::atomic<int64_t> health_checked_ms_{-1000000};
  std::string health_error_;  // empty: the catalog answered at the last check
  Warehouse& w_;
  McpToolOptions o_;
  security::ConcurrencyLimiter running_;
  std::unique_ptr<security::Directory> own_directory_;
  std::vector<Operation> ops_;
};

// The MCP side of the operations: who a call acts as (the request's principal, narrowed by the
// original SuperTable's per-call arguments), the per-call rate limit of stdio, and one tool per
// operation.
class Tools {
 public:
  Tools(Warehouse& w, const McpToolOptions& o, std::shared_ptr<OperationRegistry> ops)
      : w_(w), o_(o), ops_(std::move(ops)) {
    if (o.call_rate_limit.enabled())
      calls_ = std::make_unique<security::RateLimiter>(o.call_rate_limit);
  }

  // The principal of a request (never tool arguments), or a refusal.
  Result<Caller> Identify(const mcp::RequestContext& rc) {
    auto p = std::static_pointer_cast<const security::Principal>(rc.identity);
    if (!p) return Status::Unauthenticated("this request acts as no one; it is refused");
    return CallerOf(std::move(p));
  }

  // The principal of a tool call: the request's, then narrowed (never widened) by the original
  // SuperTable's user_hash and auth_token arguments. Over stdio with SUPERTABLE_REQUIRE_TOKEN=1
  // and no SUPERTABLE_TOKEN, those arguments are the only credential, as in the original.
  Result<Caller> Identify(ToolContext& c) {
    const json& a = c.arguments();
    if (a.contains("organization") && StringArg(a, "organization") != w_.config().organization) {
      return Status::NotFound(fmt::format("unknown organization '{}'; this server serves '{}'",
                                          StringArg(a, "organization"), w_.config().organization));
    }
    auto p = std::static_pointer_cast<const security::Principal>(c.identity());
    if (!p) return Status::Unauthenticated("this request acts as no one; it is refused");
    security::Authenticator* auth = o_.authenticator;
    std::string token = StringArg(a, "auth_token"), hash = StringArg(a, "user_hash");
    if (p->auth == "per_call") {
      // No identity yet: this call must bring one.
      if (!auth || token.empty()) {
        return Status::Unauthenticated(
            "SUPERTABLE_REQUIRE_TOKEN=1: pass auth_token (or set SUPERTABLE_TOKEN for the server)");
      }
      auto from = auth->FromBearer(token);
      if (!from.ok()) {
        log::Info("mcp: per-call auth_token refused: {}", from.status().message());
        return Status::Unauthenticated(security::kInvalidCredential);
      }
      p = *from;
      if (auth->settings().require_explicit_user_hash && hash.empty()) {
        return Status::Unauthenticated(
            "SUPERTABLE_REQUIRE_EXPLICIT_USER_HASH=1: pass user_hash (32 or 64 hex characters)");
      }
    } else if (!token.empty() && auth) {
      auto from = auth->FromBearer(token);
      if (!from.ok() || (*from)->Key() != p->Key()) {
        return Status::PermissionDenied(
            "auth_token names another principal than the one this session authenticated as");
      }
    }
    if (!hash.empty()) {
      if (!auth) return Status::Unauthenticated(security::kInvalidCredential);
      const auto& allowed = auth->settings().allowed_user_hashes;
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), hash) == allowed.end()) {
        return Status::PermissionDenied("user_hash is not in SUPERTABLE_ALLOWED_USER_HASHES");
      }
      auto user = auth->directory().FindByUserHash(hash);
      if (!user.ok()) return Status::PermissionDenied("user_hash names no user");
      if (p->superuser) {
        // Narrowing: the superuser acts as that user, with that user's roles only.
        auto narrowed = auth->ForUser(user->name, p->auth + "+user_hash");
        if (!narrowed.ok()) return Status::PermissionDenied("user_hash names no enabled user");
        p = *narrowed;
      } else if (user->name != p->user) {
        return Status::PermissionDenied("user_hash names another user than the authenticated one");
      }
    }
    return CallerOf(std::move(p));
  }

  // Runs a tool as the caller of `c`, or answers with why it may not.
  ToolResult As(ToolContext& c, const std::function<ToolResult(const Caller&)>& body) {
    auto who = Identify(c);
    if (!who.ok()) return FromStatus(who.status());
    if (calls_) {
      security::RateDecision d = calls_->Take(who->principal->Key());
      if (!d.allowed) {
        return ToolResult::Error(fmt::format(
            "rate limit: {} calls per {} s (SUPERTABLE_RATE_LIMIT); retry in {} s",
            o_.call_rate_limit.requests, o_.call_rate_limit.per_ms / 1000, d.retry_after_s));
      }
    }
    return body(*who);
  }

  ToolResult Wrap(Result<json> r) {
    if (!r.ok()) return FromStatus(r.status());
    ToolResult out;
    out.structured = std::move(r).value();
    return out;
  }

  void Register(mcp::Server& s) {
    for (const Operation& op : ops_->operations()) {
      if (!op.mcp) continue;
      Tool t;
      t.name = op.name;
      t.title = op.title;
      t.description = op.description;
      t.input_schema = WithCompatArgs(op.input_schema);
      if (t.name == "query_sql") {
        t.input_schema["properties"]["query_timeout_sec"] = {
            {"type", "integer"},
            {"minimum", 1},
            {"maximum", 600},
            {"description", "Same as timeout_ms, in seconds (the original SuperTable's name)"}};
      }
      t.output_schema = op.output_schema;
      t.annotations.read_only = op.read_only;
      t.quick = op.quick;
      t.required_scope = op.scope;
      // Queries over whole tables may take minutes: a modern client that can take a task
      // gets one when the query outlasts task_after_ms, and polls it.
      if (op.long_running) {
        t.task = mcp::TaskSupport::kOptional;
        t.task_after_ms = o_.task_after_ms;
      }
      t.handler = [this, run = op.run](ToolContext& c) {
        return As(c, [&](const Caller& who) {
          OperationContext oc{c.arguments(), who, &c.cancel(),
                              [&c](double done, double total, const std::string& message) {
                                c.Progress(done, total, message);
                              },
                              &c.notes()};
          return Wrap(run(oc));
        });
      };
      s.AddTool(std::move(t));
    }
  }

  const OperationRegistry& registry() const { return *ops_; }

 private:
  Warehouse& w_;
  McpToolOptions o_;
  std::shared_ptr<OperationRegistry> ops_;
  std::unique_ptr<security::RateLimiter> calls_;
};

std::vector<std::string> Prefixed(const std::vector<std::string>& names,
                                  const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (strncasecmp(n.c_str(), prefix.c_str(), prefix.size()) == 0) out.push_back(n);
  }
  return out;
}

// Tasks of the MCP tasks extension, kept as catalog documents: every replica on one catalog
// answers tasks/get for a task another one runs, and a cancel reaches the one that runs it.
class CatalogTaskStore : public mcp::TaskStore {
 public:
  CatalogTaskStore(Catalog& catalog, std::string org, int64_t poll_ms)
      : catalog_(catalog), org_(std::move(org)), poll_ms_(poll_ms) {}
  Result<std::optional<std::string>> Get(const std::string& id) override {
    return catalog_.GetDocument(org_, kKind, id);
  }
  Status Put(const std::string& id, const std::string& body, const std::string* expected) override {
    return catalog_.PutDocument(org_, kKind, id, body, expected);
  }
  Status Remove(const std::string& id) override {
    return catalog_.DeleteDocument(org_, kKind, id).status();
  }
  Result<std::vector<std::string>> Ids() override {
    ST_ASSIGN_OR_RETURN(auto all, catalog_.ListDocuments(org_, kKind));
    std::vector<std::string> ids;
    for (auto& [name, body] : all) ids.push_back(std::move(name));
    return ids;
  }
  int64_t poll_ms() const override { return poll_ms_; }

 private:
  static constexpr const char* kKind = "mcp_task";
  Catalog& catalog_;
  std::string org_;
  int64_t poll_ms_;
};

}  // namespace

// The server's directories as MCP callers may see them: not at all. No MCP caller is an
// administrator yet (the local CLI user is, and sees paths), and an absolute path tells a
// caller where every organization's data lies.
std::vector<PathLabel> ServerPaths(Warehouse& w) {
  const std::string& home = w.config().home;
  std::vector<PathLabel> out;
  auto add = [&](std::string path, const std::string& label) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path.empty() || path[0] != '/') return;  // remote stores have no local path
    out.push_back({path, label});
    std::error_code ec;
    std::string canonical = std::filesystem::weakly_canonical(path, ec).string();
    if (!ec && canonical != path) out.push_back({canonical, label});
  };
  add(w.store().ReadRoot(), "<data>");
  add(w.store().StagingDir(), "<staging>");
  add(home + "/tmp", "<tmp>");
  add(home + "/cache", "<cache>");
  add(home, "<home>");
  return out;
}

// Scrubs a tool's error: what the registry's operations answer is scrubbed already (a result
// is not walked twice), but an error may come from around them (an exception's message, the
// caller's identity, a limit).
mcp::Middleware PathScrubMiddleware(std::vector<PathLabel> paths) {
  return [paths = std::move(paths)](const Tool& tool, ToolContext& ctx, const mcp::ToolCall& next) {
    ToolResult r = next(tool, ctx);
    if (r.is_error) {
      ScrubJson(r.structured, paths);
      ScrubJson(r.content, paths);
    }
    return r;
  };
}

// The client of a request as the audit trail records it.
json AuditClient(const mcp::Session& s, const std::string& transport) {
  json c = s.peer.is_object() ? s.peer : json::object();
  c["transport"] = transport;
  if (s.client_info.is_object()) {
    c["name"] = s.client_info.value("name", "");
    c["version"] = s.client_info.value("version", "");
  }
  return c;
}

// A record of the request's principal, its client given.
security::AuditRecord AuditBase(const mcp::RequestContext& rc, std::shared_ptr<const json> client) {
  security::AuditRecord r;
  auto p = std::static_pointer_cast<const security::Principal>(rc.identity);
  if (p) {
    r.principal = p->user;
    r.auth = p->auth;
  }
  r.client = std::move(client);
  return r;
}

// ... its client as the session knows it: built once per session, not once per call.
security::AuditRecord AuditBase(const mcp::RequestContext& rc, const std::string& transport) {
  auto client = rc.session.Memo("audit.client", [&] {
    return std::make_shared<const json>(AuditClient(rc.session, transport));
  });
  return AuditBase(rc, std::static_pointer_cast<const json>(client));
}

// Records every tool call: who, with what (secrets redacted by the log), what it read under
// which policies, how it ended, how long it took. Appending only queues (security/audit.h).
mcp::Middleware AuditMiddleware(security::AuditLog* log, std::string transport) {
  return [log, transport](const Tool& tool, ToolContext& ctx, const mcp::ToolCall& next) {
    auto start = std::chrono::steady_clock::now();
    ToolResult result = next(tool, ctx);
    security::AuditRecord r = AuditBase(ctx.request(), transport);
    r.kind = "tool_call";
    r.action = "tools/call:" + tool.name;
    r.arguments = ctx.arguments();
    r.trace = ctx.trace();
    const json& notes = ctx.notes();
    if (notes.contains("tables")) r.tables = notes["tables"].get<std::vector<std::string>>();
    if (notes.contains("policies")) r.policies = notes["policies"].get<std::vector<std::string>>();
    r.rows = notes.value("rows", int64_t{0});
    r.outcome = result.is_error ? "error" : "ok";
    if (result.is_error) r.error = result.structured.value("error", "");
    // The size guard measured the result already; only what it did not see is measured here.
    r.bytes =
        !result.is_error && notes.contains("result_bytes")
            ? notes["result_bytes"].get<int64_t>()
            : static_cast<int64_t>(
                  result.structured.dump(-1, ' ', false, json::error_handler_t::replace).size());
    r.duration_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
    log->Append(std::move(r));
    return result;
  };
}

std::shared_ptr<OperationRegistry> MakeOperationRegistry(Warehouse& warehouse,
                                                         const McpToolOptions& options) {
  return std::make_shared<Operations>(warehouse, options);
}

std::unique_ptr<mcp::Server> MakeWarehouseMcpServer(Warehouse& w, const McpToolOptions& options,
                                                    std::shared_ptr<OperationRegistry> ops) {
  if (!ops) ops = MakeOperationRegistry(w, options);
  auto server = std::make_unique<mcp::Server>(
      mcp::ServerInfo{"supertable", "SuperTable", kVersion,
                      "SuperTable is a data warehouse of versioned tables grouped in super tables. "
                      "Discover data with list_supers, "
                      "list_tables and describe_table (or search_columns), then answer questions "
                      "with query_sql: one read-only "
                      "DuckDB SQL query per call, tables named as 'table' or 'super.table'. Prefer "
                      "aggregates and LIMIT; results "
                      "are capped and say when they were truncated."});
  if (options.audit) {
    // Outermost: it records the answer as the client gets it, paths scrubbed.
    server->Use(AuditMiddleware(options.audit, options.transport));
    server->on_initialize = [log = options.audit, transport = options.transport](
                                const mcp::RequestContext& rc, const json& params) {
      // Not the session's memo: the client's name is known from these params, not yet from
      // the session.
      json client = AuditClient(rc.session, transport);
      if (params.contains("clientInfo") && params["clientInfo"].is_object()) {
        client["name"] = params["clientInfo"].value("name", "");
        client["version"] = params["clientInfo"].value("version", "");
      }
      security::AuditRecord r = AuditBase(rc, std::make_shared<const json>(std::move(client)));
      r.kind = "login";
      r.action = "initialize";
      r.outcome = "ok";
      log->Append(std::move(r));
    };
  }
  server->Use(PathScrubMiddleware(ServerPaths(w)));  // it also sees errors' messages
  server->Use(mcp::ErrorMiddleware());
  server->Use(mcp::LoggingMiddleware());
  server->Use(mcp::SizeGuardMiddleware(options.max_response_tokens));
  // Cached answers are kept per principal and per version of the directory (users, roles,
  // tokens): a change of roles takes effect at once, even for cached calls.
  server->Use(mcp::CacheMiddleware(options.cache_ttl_ms, [](const ToolContext& c) {
    auto p = std::static_pointer_cast<const security::Principal>(c.identity());
    return p ? p->Key() + "\x1f" + p->directory_version : std::string("\x1f");
  }));
  // Request states of the multi round-trip pattern are bound to the principal, and signed with
  // the organization's key, so any replica can continue what another began.
  server->identity_key = [](const std::shared_ptr<const void>& identity) {
    auto p = std::static_pointer_cast<const security::Principal>(identity);
    return p ? p->Key() : std::string();
  };
  if (options.authenticator) {
    auto key = options.authenticator->directory().Secret("mcp_request_state_key");
    if (key.ok()) {
      server->state_key = *key;
    } else {
      log::Warn(
          "mcp: request states are signed with this process's own key ({}); another "
          "replica will not accept them",
          key.status().message());
    }
  }
  server->has_scope = [](const std::shared_ptr<const void>& identity, const std::string& scope) {
    auto p = std::static_pointer_cast<const security::Principal>(identity);
    return p && p->HasScope(scope);
  };
  // Tasks live where every replica reads: the catalog (a remote one is polled less often).
  server->task_store = std::make_shared<CatalogTaskStore>(
      w.catalog(), w.config().organization, w.config().locking_backend == "sqlite" ? 100 : 250);
  server->task_ttl_ms = options.task_ttl_ms;
  auto tools = std::make_shared<Tools>(w, options, ops);
  tools->Register(*server);

  // Names the caller may see, for completions: the same listings the tools use.
  auto super_names = [&w, tools](const mcp::RequestContext& rc, const std::string& prefix) {
    auto who = tools->Identify(rc);
    if (!who.ok()) return std::vector<std::string>{};
    auto s = w.ListSupers(who->get());
    return s.ok() ? Prefixed(*s, prefix) : std::vector<std::string>{};
  };
  auto table_names = [&w, tools](const mcp::RequestContext& rc, const std::string& super_name,
                                 const std::string& prefix) {
    std::vector<std::string> names;
    auto who = tools->Identify(rc);
    if (!who.ok()) return names;
    if (auto t = w.ListTables(super_name, who->get()); t.ok()) {
      for (const auto& e : *t) names.push_back(e.name);
    }
    return Prefixed(names, prefix);
  };
  auto complete = [super_names, table_names](const mcp::RequestContext& rc, const std::string& arg,
                                             const std::string& prefix,
                                             const std::map<std::string, std::string>& ctx) {
    if (arg == "super") return super_names(rc, prefix);
    if (arg == "table") {
      auto it = ctx.find("super");
      return it == ctx.end() ? std::vector<std::string>{} : table_names(rc, it->second, prefix);
    }
    return std::vector<std::string>{};
  };

  mcp::ResourceTemplate table_resource;
  table_resource.uri_template = "supertable://{super}/{table}";
  table_resource.name = "table";
  table_resource.title = "Table schema and statistics";
  table_resource.description = "A table's columns, types, statistics and current version, as JSON.";
  table_resource.mime_type = "application/json";
  table_resource.list = [&w, tools](const mcp::RequestContext& rc) {
    std::vector<mcp::Resource> out;
    auto who = tools->Identify(rc);
    if (!who.ok()) return out;
    auto supers = w.ListSupers(who->get());
    if (!supers.ok()) return out;
    for (const auto& s : *supers) {
      auto tables = w.ListTables(s, who->get());
      if (!tables.ok()) continue;
      for (const auto& t : *tables) {
        out.push_back({"supertable://" + s + "/" + t.name, s + "." + t.name, "",
                       "Schema and statistics of " + s + "." + t.name, "application/json"});
      }
    }
    return out;
  };
  table_resource.read = [tools](const mcp::RequestContext& rc,
                                const std::map<std::string, std::string>& vars,
                                std::string* error) {
    auto who = tools->Identify(rc);
    if (!who.ok()) {
      *error = who.status().message();
      return std::optional<mcp::ResourceContent>();
    }
    // The resource is describe_table's answer: one operation, one implementation.
    json args = {{"super", vars.at("super")}, {"table", vars.at("table")}};
    OperationContext oc{args, *who};
    auto r = tools->registry().Find("describe_table")->run(oc);
    if (!r.ok()) {
      *error = r.status().message();
      return std::optional<mcp::ResourceContent>();
    }
    return std::optional<mcp::ResourceContent>(
        mcp::ResourceContent{"supertable://" + vars.at("super") + "/" + vars.at("table"),
                             "application/json", r->dump(), ""});
  };
  table_resource.complete = complete;
  // A table's version changes with every commit: that is when its schema or stats can change.
  // A table the subscriber may not see reads as missing, like one that does not exist.
  table_resource.fingerprint = [&w, tools](const mcp::RequestContext& rc,
                                           const std::map<std::string, std::string>& vars) {
    auto who = tools->Identify(rc);
    if (!who.ok()) return std::string("missing");
    auto head = w.RequireHead(w.Ref(vars.at("super"), vars.at("table")), who->get());
    return head.ok() ? std::to_string(head->version) : std::string("missing");
  };
  server->AddResourceTemplate(std::move(table_resource));

  auto text_message = [](const std::string& text) {
    return json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", text}}}}});
  };
  server->AddPrompt(
      {"explore_table",
       "Explore a table",
       "Get to know a table: its columns, statistics, a sample and the questions it can answer.",
       {{"super", "Super table", true}, {"table", "Table", true}},
       [text_message, tools, &w](const mcp::RequestContext& rc,
                                 const std::map<std::string, std::string>& args,
                                 mcp::ClientInput&) {
         // A table the caller may not see gets the answer a missing one gets.
         auto who = tools->Identify(rc);
         if (!who.ok()) return json{{"error", who.status().message()}};
         auto head = w.RequireHead(w.Ref(args.at("super"), args.at("table")), who->get());
         if (!head.ok()) return json{{"error", head.status().message()}};
         return text_message(
             fmt::format("Explore the table {0}.{1} in SuperTable. Call describe_table (super "
                         "'{0}', table '{1}') "
                         "for its columns and statistics, sample_data for a few rows, and "
                         "profile_column for the "
                         "columns that look most important. Then summarize what the table holds, "
                         "its grain (what "
                         "one row is), data quality issues, and five questions it can answer.",
                         args.at("super"), args.at("table")));
       },
       complete});
  server->AddPrompt(
      {"answer_with_sql",
       "Answer a question with SQL",
       "Answer a business question by writing and running SQL against a super table.",
       {{"super",
         "Super table to query (when left out and several are readable, the client is asked "
         "which)",
         false},
        {"question", "The question to answer", true}},
       [text_message, tools, &w](const mcp::RequestContext& rc,
                                 const std::map<std::string, std::string>& args,
                                 mcp::ClientInput& input) {
         auto who = tools->Identify(rc);
         if (!who.ok()) return json{{"error", who.status().message()}};
         std::string super_name;
         if (auto given = args.find("super"); given != args.end()) {
           super_name = given->second;
         } else {
           // Which super table: the only one the caller can read, or the user's choice among
           // those (elicitation; a round trip in the modern era, a request in the legacy one).
           auto supers = w.ListSupers(who->get());
           if (!supers.ok()) return json{{"error", supers.status().message()}};
           if (supers->empty()) return json{{"error", "there is no super table you can read"}};
           if (supers->size() == 1) {
             super_name = supers->front();
           } else {
             json question = {
                 {"message",
                  fmt::format("Which super table should answer: {}", args.at("question"))},
                 {"requestedSchema",
                  {{"type", "object"},
                   {"properties",
                    {{"super", {{"type", "string"}, {"title", "Super table"}, {"enum", *supers}}}}},
                   {"required", {"super"}}}}};
             auto answer = input.Ask("super", "elicitation/create", question);
             if (!answer.ok()) {
               return json{
                   {"error", fmt::format("name the super table (one of {}): {}",
                                         fmt::join(*supers, ", "), answer.status().message())}};
             }
             if (!*answer) return json::array();  // asked: the server answers input_required
             const json& a = **answer;
             const json content = a.value("content", json::object());
             if (a.value("action", "") != "accept" || !content.is_object() ||
                 !content.contains("super") || !content["super"].is_string()) {
               return json{{"error", "no super table was chosen"}};
             }
             super_name = content["super"];
           }
         }
         // A chosen name is the client's word: checked like a given one.
         Status known = w.CheckSuperExists(super_name, who->get());
         if (!known.ok()) return json{{"error", known.message()}};
         return text_message(fmt::format(
             "Answer this question using the SuperTable super table '{0}': {1}\n\nFirst call "
             "list_tables and describe_table to learn the schema; validate_sql your query; then "
             "run it "
             "with query_sql (aggregate in SQL, keep results small). Show the SQL you ran and "
             "explain "
             "the answer.",
             super_name, args.at("question")));
       },
       complete});
  return server;
}

}  // namespace supertable

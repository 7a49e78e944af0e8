// The operations that change the warehouse or administer the organization.
#include "tools/admin_operations.h"

#include <strings.h>

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/text.h"
#include "security/directory.h"
#include "security/principal.h"
#include "table/warehouse.h"

namespace supertable {

Result<std::optional<AsOf>> AsOfArgument(const nlohmann::json& args) {
  if (!args.contains("as_of") || args["as_of"].is_null()) return std::optional<AsOf>();
  const nlohmann::json& a = args["as_of"];
  AsOf out;
  if (a.is_number_integer()) {
    out.version = a.get<int64_t>();
  } else if (a.is_string() && !a.get<std::string>().empty() &&
             a.get<std::string>().find_first_not_of("0123456789") == std::string::npos &&
             a.get<std::string>().size() < 19) {
    out.version = std::stoll(a.get<std::string>());
  } else {
    int64_t micros = a.is_string() ? ParseTimestamp(a.get<std::string>()) : -1;
    if (micros < 0) {
      return Status::InvalidArgument(
          "as_of must be a version number or a UTC timestamp such as '2026-11-21T12:00:00Z'");
    }
    out.timestamp_micros = micros;
  }
  return std::optional<AsOf>(out);
}

namespace {

using nlohmann::json;
using security::Directory;

// How long an Idempotency-Key is remembered, and how long an upload under one may run before
// another request with the key may take it over (its server died).
constexpr int64_t kIdempotencyKeepMicros = 24ll * 3600 * 1000000;
constexpr int64_t kIdempotencyStaleMicros = 3600ll * 1000000;
constexpr const char* kIdempotencyKind = "upload_idempotency";

const json kSuper = PropSchema("string", "Super table, e.g. 'shop'");
const json kTable = PropSchema("string", "Table name inside the super table, e.g. 'orders'");
const json kUser = PropSchema("string", "User name");

// A list argument given as a JSON array of strings or as one comma-separated string (a query
// string or a form field cannot carry an array).
std::vector<std::string> ListArg(const json& a, const char* key) {
  if (!a.contains(key)) return {};
  if (a[key].is_string()) return SplitComma(a[key].get<std::string>());
  std::vector<std::string> out;
  for (const auto& v : a[key]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}
const json kListProp = {{"type", {"array", "string"}}, {"items", {{"type", "string"}}}};

Status RequireAdmin(const Caller& c, const std::string& what) {
  if (c.principal->IsAdmin()) return Status::Ok();
  return Status::PermissionDenied(
      fmt::format("{} is for administrators (an admin role, or a superuser)", what));
}

// That the caller may change super.table: a writer's grant that no row filter, column list or
// mask narrows (a change through a narrowed view could replace rows the caller cannot see).
// A table they cannot see at all is refused in the same words whether it exists or not.
Status RequireWrite(Warehouse& w, const Caller& c, const std::string& super_name,
                    const std::string& table, bool must_exist) {
  const std::string name = super_name + "." + table;
  if (!c.get()) {
    return must_exist ? w.RequireHead(w.Ref(super_name, table)).status() : Status::Ok();
  }
  TablePolicy tp;
  TableAccess access = c.get()->ForTable(super_name, table, &tp);
  if (access == TableAccess::kNone) {
    if (must_exist) return w.RequireHead(w.Ref(super_name, table), c.get()).status();
    return Status::PermissionDenied(
        fmt::format("no role of yours lets you write {} (a writer role must grant it)", name));
  }
  if (must_exist) ST_RETURN_IF_ERROR(w.RequireHead(w.Ref(super_name, table), c.get()).status());
  if (access != TableAccess::kWrite) {
    return Status::PermissionDenied(fmt::format(
        "you may read {} but not change it: a writer role must grant it (and a credential "
        "with scope supertable:write)",
        name));
  }
  if (tp.restricted()) {
    return Status::PermissionDenied(
        fmt::format("changing {} needs access to all of it; a row filter, column list or mask "
                    "of your roles applies to it",
                    name));
  }
  return Status::Ok();
}

json OutcomeJson(const std::string& super_name, const std::string& table, const WriteResult& r) {
  const WriteOutcome& o = r.outcome;
  return {{"super", super_name},
          {"table", table},
          {"version", r.version},
          {"committed", r.committed},
          {"input_rows", o.input_rows},
          {"inserted", o.inserted},
          {"deleted", o.deleted},
          {"skipped_stale", o.skipped_stale},
          {"skipped_duplicates", o.skipped_duplicates},
          {"files_scanned", o.files_scanned},
          {"files_pruned", o.files_pruned},
          {"schema_changed", o.schema_changed}};
}

// Remembers what an Idempotency-Key did, in the catalog (so every replica agrees): a request
// repeated with the same key answers what the first one did, and never writes twice.
class IdempotencyRecord {
 public:
  IdempotencyRecord(Catalog& catalog, std::string org, const Caller& c, const std::string& key,
                    std::string fingerprint)
      : catalog_(catalog),
        org_(std::move(org)),
        name_(Sha256Hex(c.principal->Key() + "\n" + key)),
        fingerprint_(std::move(fingerprint)) {}

  // Removes the records of keys older than a day, at most once an hour per process: a
  // listing of every record.
  void PurgeExpired() {
    static std::mutex mu;
    static int64_t purged = 0;
    int64_t now = NowMicros();
    {
      std::lock_guard<std::mutex> g(mu);
      if (now - purged < 3600ll * 1000000) return;
      purged = now;
    }
    auto all = catalog_.ListDocuments(org_, kIdempotencyKind);
    if (!all.ok()) return;
    for (const auto& [name, body] : *all) {
      json doc = json::parse(body, nullptr, false);
      int64_t started = doc.is_object() ? doc.value("started_micros", int64_t{0}) : 0;
      if (now - started > kIdempotencyKeepMicros) {
        (void)catalog_.DeleteDocument(org_, kIdempotencyKind, name);
      }
    }
  }

  // Claims the key for this request, or returns the answer its first use gave (`replay`).
  Status Claim(std::optional<json>* replay) {
    PurgeExpired();
    for (int attempt = 0; attempt < 5; ++attempt) {
      ST_ASSIGN_OR_RETURN(auto current, catalog_.GetDocument(org_, kIdempotencyKind, name_));
      int64_t now = NowMicros();
      json mine = {{"state", "running"}, {"fingerprint", fingerprint_}, {"started_micros", now}};
      std::string expected;
      if (current) {
        json doc = json::parse(*current, nullptr, false);
        int64_t started = doc.is_object() ? doc.value("started_micros", int64_t{0}) : 0;
        bool expired = now - started > kIdempotencyKeepMicros;
        if (!expired && doc.is_object()) {
          if (doc.value("fingerprint", "") != fingerprint_) {
            return Status::Conflict(
                "this Idempotency-Key was used for a different upload; use a new key for new "
                "data");
          }
          if (doc.value("state", "") == "done") {
            *replay = doc["result"];
            return Status::Ok();
          }
          if (now - started < kIdempotencyStaleMicros) {
            return Status::Conflict(
                "an upload with this Idempotency-Key is still running; wait for it, then "
                "repeat the request to get its answer");
          }
        }
        expected = *current;  // expired, unreadable or abandoned: take it over
      }
      Status put = catalog_.PutDocument(org_, kIdempotencyKind, name_, mine.dump(), &expected);
      if (put.ok()) {
        claimed_ = true;
        return Status::Ok();
      }
      if (put.code() != StatusCode::kConflict) return put;
    }
    return Status::Conflict("another request with this Idempotency-Key raced this one; retry");
  }

  void Finish(const Result<json>& result) {
    if (!claimed_) return;
    if (!result.ok()) {
      // Nothing was written: a retry with the same key must be free to try again.
      (void)catalog_.DeleteDocument(org_, kIdempotencyKind, name_);
      return;
    }
    json done = {{"state", "done"},
                 {"fingerprint", fingerprint_},
                 {"started_micros", NowMicros()},
                 {"result", *result}};
    (void)catalog_.PutDocument(org_, kIdempotencyKind, name_, done.dump());
  }

 private:
  Catalog& catalog_;
  std::string org_, name_, fingerprint_;
  bool claimed_ = false;
};

Result<json> WriteTable(Warehouse& w, OperationContext& c) {
  const json& a = c.args;
  const std::string super_name = StringArg(a, "super"), table = StringArg(a, "table");
  if (c.input_file.empty()) {
    return Status::InvalidArgument("the request carries no data: send the file as the body");
  }
  ST_RETURN_IF_ERROR(RequireWrite(w, c.caller, super_name, table, false));
  WriteRequest req;
  req.input_path = c.input_file;
  std::string format = StringArg(a, "format");
  if (format.empty() || format == "auto") {
    return Status::InvalidArgument(
        "say what the data is: Content-Type text/csv, application/x-ndjson, application/json or "
        "application/vnd.apache.parquet, or ?format=csv|ndjson|json|parquet");
  }
  ST_ASSIGN_OR_RETURN(req.format, ParseInputFormat(format));
  req.key_columns = ListArg(a, "overwrite_columns");
  if (a.contains("newer_than")) req.newer_than = StringArg(a, "newer_than");
  if (a.contains("cluster_by")) req.cluster_by = ListArg(a, "cluster_by");
  bool delete_only = a.value("delete_only", false);
  if (delete_only && req.key_columns.empty()) {
    return Status::InvalidArgument(
        "delete_only needs overwrite_columns: the key columns whose listed values are deleted");
  }
  req.mode = delete_only               ? WriteMode::kDeleteOnly
             : req.key_columns.empty() ? WriteMode::kAppend
                                       : WriteMode::kUpsert;
  req.progress = [&c](double f) { c.Progress(f, 1, "writing"); };

  std::optional<IdempotencyRecord> once;
  if (std::string key = StringArg(a, "idempotency_key"); !key.empty()) {
    json request = a;
    request.erase("idempotency_key");
    once.emplace(w.catalog(), w.config().organization, c.caller, key,
                 Sha256Hex(request.dump() + "\n" + Sha256FileHex(c.input_file)));
    std::optional<json> replay;
    ST_RETURN_IF_ERROR(once->Claim(&replay));
    if (replay) {
      (*replay)["replayed"] = true;
      return *replay;
    }
  }
  Result<json> result = [&]() -> Result<json> {
    auto r = w.Write(w.Ref(super_name, table), req);
    // The file is the server's copy of the upload: the client knows it as "the upload".
    if (!r.ok()) {
      return Status::FromCode(r.status().code(),
                              ScrubPaths(r.status().message(), {{c.input_file, "the upload"}}));
    }
    return OutcomeJson(super_name, table, *r);
  }();
  if (once) once->Finish(result);
  if (result.ok() && c.notes) (*c.notes)["tables"].push_back(super_name + "." + table);
  return result;
}

json FileJson(const DataFile& f) {
  json stats = json::object();
  for (const auto& [col, s] : f.stats) {
    stats[col] = {{"min", s.min ? json(*s.min) : json()},
                  {"max", s.max ? json(*s.max) : json()},
                  {"null_count", s.null_count}};
  }
  return {{"key", f.key},     {"rows", f.rows},           {"deleted_rows", f.deleted_rows},
          {"bytes", f.bytes}, {"schema_id", f.schema_id}, {"stats", stats}};
}

// A table's snapshot at a version or time: its schema and files with their statistics. The
// statistics show values, so only a caller who reads the whole table as stored sees them.
Result<json> TableSnapshot(Warehouse& w, OperationContext& c) {
  const json& a = c.args;
  const std::string super_name = StringArg(a, "super"), table = StringArg(a, "table");
  TableRef ref = w.Ref(super_name, table);
  ST_RETURN_IF_ERROR(w.RequireHead(ref, c.caller.get()).status());
  if (c.caller.get()) {
    TablePolicy tp;
    TableAccess access = c.caller.get()->ForTable(super_name, table, &tp);
    if (access == TableAccess::kMeta || tp.restricted()) {
      return Status::PermissionDenied(fmt::format(
          "the files of {}.{} show values your roles hide (a row filter, column list or mask, "
          "or a meta role); describe_table shows what you may see",
          super_name, table));
    }
  }
  ST_ASSIGN_OR_RETURN(auto as_of, AsOfArgument(a));
  ST_ASSIGN_OR_RETURN(CommitRecord rec, w.ResolveVersion(ref, as_of));
  ST_ASSIGN_OR_RETURN(Snapshot snap, w.LoadSnapshot(ref, rec.version));
  json schema = json::array();
  for (const auto& col : snap.schema) schema.push_back({{"name", col.name}, {"type", col.type}});
  json files = json::array();
  for (const auto& f : snap.files) files.push_back(FileJson(f));
  json deletes = json::array();
  for (const auto& d : snap.deletes) {
    deletes.push_back({{"key", d.key}, {"rows", d.rows}, {"targets", d.targets}});
  }
  return json{{"super", super_name},
              {"table", table},
              {"version", snap.version},
              {"parent_version", snap.parent_version},
              {"committed_at", FormatTimestamp(snap.committed_micros)},
              {"operation", snap.operation},
              {"schema", schema},
              {"cluster_by", snap.cluster_by},
              {"rows", snap.live_rows()},
              {"bytes", snap.total_bytes()},
              {"files", files},
              {"delete_files", deletes}};
}

json UserJson(const security::User& u) {
  json j = security::ToJson(u);
  return j;
}

// The caller's own tokens, or (an administrator) anyone's.
Status RequireSelfOrAdmin(const Caller& c, const std::string& owner, const std::string& what) {
  if (c.principal->IsAdmin() || (!owner.empty() && owner == c.principal->user &&
                                 c.principal->auth != "local" && c.principal->auth != "none")) {
    return Status::Ok();
  }
  return Status::PermissionDenied(
      fmt::format("{} of another user is for administrators; you may manage your own ('{}')", what,
                  c.principal->user));
}

}  // namespace

void AddAdminOperations(Warehouse& w, Directory& d, const std::function<void(Operation)>& add) {
  auto change = [&](Operation op, const char* method, const char* path, const char* scope) {
    op.route = {method, path};
    op.scope = scope;
    op.read_only = false;
    op.mcp = false;
    add(std::move(op));
  };
  auto admin_read = [&](Operation op, const char* path) {
    op.route = {"GET", path};
    op.scope = security::kScopeAdmin;
    op.mcp = false;
    add(std::move(op));
  };
  const char* kWrite = security::kScopeWrite;
  const char* kAdmin = security::kScopeAdmin;

  Operation write{
      "write_table",
      "Write a table from an upload",
      "Append, upsert (overwrite_columns) or delete (delete_only) the rows of an uploaded CSV, "
      "JSON, NDJSON or Parquet file; the super table and table are created on their first "
      "write. All of it commits as one version or nothing does.",
      ObjectSchema(
          {{"super", kSuper},
           {"table", kTable},
           {"format",
            {{"type", "string"},
             {"enum", {"csv", "json", "ndjson", "jsonl", "parquet"}},
             {"description", "What the body is (default: from its Content-Type)"}}},
           {"overwrite_columns",
            {{"type", {"array", "string"}},
             {"items", {{"type", "string"}}},
             {"description",
              "Key columns: stored rows with an incoming key are replaced (upsert)"}}},
           {"newer_than",
            PropSchema("string", "Skip incoming rows whose stored row has this column >= theirs")},
           {"delete_only",
            PropSchema("boolean", "Delete the stored rows whose keys the upload lists")},
           {"cluster_by",
            {{"type", {"array", "string"}},
             {"items", {{"type", "string"}}},
             {"description", "Sort written rows by these columns, and remember the order"}}},
           {"idempotency_key",
            {{"type", "string"},
             {"minLength", 1},
             {"maxLength", 200},
             {"description",
              "The Idempotency-Key header: a repeated request answers what the first did"}}}},
          {"super", "table"}),
      OutputSchema({{"version", PropSchema("integer", "The version committed")},
                    {"committed", PropSchema("boolean", "False when nothing changed")},
                    {"inserted", PropSchema("integer", "")},
                    {"deleted", PropSchema("integer", "")},
                    {"replayed", PropSchema("boolean",
                                            "The answer of an earlier request with "
                                            "the same Idempotency-Key")}}),
      {},
      [&w](OperationContext& c) { return WriteTable(w, c); }};
  write.long_running = true;
  write.takes_file = true;
  change(std::move(write), "PUT", "/api/v1/supers/{super}/tables/{table}/data", kWrite);

  change({"create_super",
          "Create a super table",
          "Create an empty super table (a first write creates one too).",
          ObjectSchema({{"name", kSuper}}, {"name"}),
          OutputSchema({{"name", PropSchema("string", "")}}),
          {},
          [&w](OperationContext& c) -> Result<json> {
            ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "creating a super table"));
            std::string name = StringArg(c.args, "name");
            ST_RETURN_IF_ERROR(w.CreateSuper(name));
            return json{{"name", name}, {"created", true}};
          }},
         "POST", "/api/v1/supers", kAdmin);
  change({"drop_super",
          "Drop a super table",
          "Drop a super table with all its tables and delete their files. Cannot be undone.",
          ObjectSchema({{"super", kSuper}}, {"super"}),
          OutputSchema({{"dropped", PropSchema("string", "")}}),
          {},
          [&w](OperationContext& c) -> Result<json> {
            ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "dropping a super table"));
            std::string name = StringArg(c.args, "super");
            ST_RETURN_IF_ERROR(w.CheckSuperExists(name, c.caller.get()));
            ST_RETURN_IF_ERROR(w.DropSuper(name));
            return json{{"dropped", name}};
          }},
         "DELETE", "/api/v1/supers/{super}", kAdmin);
  change({"drop_table",
          "Drop a table",
          "Drop a table, its history and its files. Cannot be undone.",
          ObjectSchema({{"super", kSuper}, {"table", kTable}}, {"super", "table"}),
          OutputSchema({{"dropped", PropSchema("string", "")}}),
          {},
          [&w](OperationContext& c) -> Result<json> {
            std::string s = StringArg(c.args, "super"), t = StringArg(c.args, "table");
            ST_RETURN_IF_ERROR(w.RequireHead(w.Ref(s, t), c.caller.get()).status());
            ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "dropping a table"));
            ST_RETURN_IF_ERROR(w.DropTable(w.Ref(s, t)));
            return json{{"dropped", s + "." + t}};
          }},
         "DELETE", "/api/v1/supers/{super}/tables/{table}", kAdmin);

  Operation compact{
      "compact_table",
      "Compact a table",
      "Merge small files and apply deletes; with sort_by, rewrite the table sorted by those "
      "columns (files whose ranges do not overlap) and remember the order.",
      ObjectSchema(
          {{"super", kSuper},
           {"table", kTable},
           {"target_file_bytes",
            {{"type", "integer"},
             {"minimum", 65536},
             {"description", "Target data file size (default SUPERTABLE_TARGET_FILE_BYTES)"}}},
           {"sort_by", kListProp}},
          {"super", "table"}),
      OutputSchema({{"version", PropSchema("integer", "")},
                    {"committed", PropSchema("boolean", "False when it was compact already")},
                    {"files_before", PropSchema("integer", "")},
                    {"files_after", PropSchema("integer", "")}}),
      {},
      [&w](OperationContext& c) -> Result<json> {
        std::string s = StringArg(c.args, "super"), t = StringArg(c.args, "table");
        ST_RETURN_IF_ERROR(RequireWrite(w, c.caller, s, t, true));
        CompactOptions o;
        o.target_file_bytes = c.args.value("target_file_bytes", int64_t{0});
        if (c.args.contains("sort_by")) o.sort_by = ListArg(c.args, "sort_by");
        ST_ASSIGN_OR_RETURN(CompactResult r, w.Compact(w.Ref(s, t), o));
        return json{{"super", s},
                    {"table", t},
                    {"version", r.version},
                    {"committed", r.committed},
                    {"files_before", r.files_before},
                    {"files_after", r.files_after},
                    {"files_rewritten", r.files_rewritten},
                    {"deletes_applied", r.deletes_applied}};
      }};
  compact.long_running = true;
  change(std::move(compact), "POST", "/api/v1/supers/{super}/tables/{table}/compact", kWrite);

  Operation gc{
      "gc_table",
      "Collect a table's garbage",
      "Expire versions older than the retention and delete the files no retained version "
      "needs.",
      ObjectSchema({{"super", kSuper},
                    {"table", kTable},
                    {"retention", PropSchema("string",
                                             "Keep versions this long for time travel (default "
                                             "168h)")},
                    {"grace", PropSchema("string",
                                         "Never delete unreferenced files younger than this "
                                         "(default 1h)")},
                    {"dry_run", PropSchema("boolean", "Report, delete nothing")}},
                   {"super", "table"}),
      OutputSchema({{"versions_expired", PropSchema("integer", "")},
                    {"files_deleted", PropSchema("integer", "")},
                    {"bytes_deleted", PropSchema("integer", "")}}),
      {},
      [&w](OperationContext& c) -> Result<json> {
        std::string s = StringArg(c.args, "super"), t = StringArg(c.args, "table");
        ST_RETURN_IF_ERROR(RequireWrite(w, c.caller, s, t, true));
        GcOptions o;
        ST_ASSIGN_OR_RETURN(o.retention_micros,
                            ParseDurationMicros(StringArg(c.args, "retention", "168h")));
        ST_ASSIGN_OR_RETURN(o.grace_micros, ParseDurationMicros(StringArg(c.args, "grace", "1h")));
        o.dry_run = c.args.value("dry_run", false);
        ST_ASSIGN_OR_RETURN(GcResult r, w.Gc(w.Ref(s, t), o));
        return json{{"super", s},
                    {"table", t},
                    {"dry_run", o.dry_run},
                    {"versions_expired", r.versions_expired},
                    {"files_deleted", r.files_deleted},
                    {"bytes_deleted", r.bytes_deleted},
                    {"files_kept", r.files_kept}};
      }};
  gc.long_running = true;
  change(std::move(gc), "POST", "/api/v1/supers/{super}/tables/{table}/gc", kWrite);

  add({"get_table_snapshot",
       "A table's snapshot",
       "A table as of a version or time (default: now): its schema and data files with their "
       "row counts, sizes and column statistics, and its delete files.",
       ObjectSchema({{"super", kSuper},
                     {"table", kTable},
                     {"as_of",
                      {{"type", {"integer", "string"}},
                       {"description", "A version number or a UTC timestamp"}}}},
                    {"super", "table"}),
       OutputSchema({{"version", PropSchema("integer", "")},
                     {"schema", PropSchema("array", "")},
                     {"files", PropSchema("array", "")}}),
       {"GET", "/api/v1/supers/{super}/tables/{table}/snapshot"},
       [&w](OperationContext& c) { return TableSnapshot(w, c); },
       false,
       security::kScopeRead,
       true,
       false,
       false});

  // Users
  admin_read({"list_users",
              "List users",
              "The organization's users with their roles.",
              ObjectSchema(json::object(), {}),
              OutputSchema({{"users", PropSchema("array", "")}}),
              {},
              [&d](OperationContext& c) -> Result<json> {
                ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "the list of users"));
                ST_ASSIGN_OR_RETURN(auto users, d.ListUsers());
                json out = json::array();
                for (const auto& u : users) out.push_back(UserJson(u));
                return json{{"users", out}};
              }},
             "/api/v1/users");
  change({"create_user",
          "Create a user",
          "Create a user, optionally with roles.",
          ObjectSchema({{"name", kUser},
                        {"email", PropSchema("string", "")},
                        {"roles", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
                       {"name"}),
          OutputSchema({{"name", PropSchema("string", "")}}),
          {},
          [&d](OperationContext& c) -> Result<json> {
            ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "creating users"));
            ST_ASSIGN_OR_RETURN(auto u,
                                d.AddUser(StringArg(c.args, "name"), StringArg(c.args, "email"),
                                          ListArg(c.args, "roles")));
            return UserJson(u);
          }},
         "POST", "/api/v1/users", kAdmin);
  add({"get_user",
       "Show a user",
       "One user, with their roles and tokens (never the tokens' secrets).",
       ObjectSchema({{"user", kUser}}, {"user"}),
       OutputSchema({{"name", PropSchema("string", "")}}),
       {"GET", "/api/v1/users/{user}"},
       [&d](OperationContext& c) -> Result<json> {
         std::string name = StringArg(c.args, "user");
         ST_RETURN_IF_ERROR(RequireSelfOrAdmin(c.caller, name, "the account"));
         ST_ASSIGN_OR_RETURN(auto u, d.GetUser(name));
         ST_ASSIGN_OR_RETURN(auto tokens, d.ListTokens(name));
         json out = UserJson(u);
         out["tokens"] = json::array();
         for (const auto& t : tokens) out["tokens"].push_back(security::ToJson(t));
         return out;
       },
       false,
       security::kScopeRead,
       true,
       false,
       false});
  change(
      {"update_user",
       "Enable or disable a user",
       "Disable a user (their tokens stop working until enabled again) or enable them.",
       ObjectSchema({{"user", kUser}, {"enabled", PropSchema("boolean", "")}}, {"user", "enabled"}),
       OutputSchema({{"name", PropSchema("string", "")}}),
       {},
       [&d](OperationContext& c) -> Result<json> {
         ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "enabling and disabling users"));
         std::string name = StringArg(c.args, "user");
         ST_RETURN_IF_ERROR(d.SetUserEnabled(name, c.args.value("enabled", true)));
         ST_ASSIGN_OR_RETURN(auto u, d.GetUser(name));
         return UserJson(u);
       }},
      "PATCH", "/api/v1/users/{user}", kAdmin);
  change({"remove_user",
          "Remove a user",
          "Remove a user and revoke their tokens.",
          ObjectSchema({{"user", kUser}}, {"user"}),
          OutputSchema({{"removed", PropSchema("string", "")}}),
          {},
          [&d](OperationContext& c) -> Result<json> {
            ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "removing users"));
            std::string name = StringArg(c.args, "user");
            ST_RETURN_IF_ERROR(d.RemoveUser(name));
            return json{{"removed", name}};
          }},
         "DELETE", "/api/v1/users/{user}", kAdmin);
  change({"grant_role",
          "Grant a role",
          "Give a user a role.",
          ObjectSchema({{"user", kUser}, {"role", PropSchema("string", "Role name")}},
                       {"user", "role"}),
          OutputSchema({{"roles", PropSchema("array", "")}}),
          {},
          [&d](OperationContext& c) -> Result<json> {
            ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "granting roles"));
            ST_RETURN_IF_ERROR(d.Grant(StringArg(c.args, "role"), StringArg(c.args, "user")));
            ST_ASSIGN_OR_RETURN(auto u, d.GetUser(StringArg(c.args, "user")));
            return UserJson(u);
          }},
         "POST", "/api/v1/users/{user}/roles", kAdmin);
  change({"revoke_role",
          "Revoke a role",
          "Take a role from a user.",
          ObjectSchema({{"user", kUser}, {"role", PropSchema("string", "Role name")}},
                       {"user", "role"}),
          OutputSchema({{"roles", PropSchema("array", "")}}),
          {},
          [&d](OperationContext& c) -> Result<json> {
            ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "revoking roles"));
            ST_RETURN_IF_ERROR(d.Revoke(StringArg(c.args, "role"), StringArg(c.args, "user")));
            ST_ASSIGN_OR_RETURN(auto u, d.GetUser(StringArg(c.args, "user")));
            return UserJson(u);
          }},
         "DELETE", "/api/v1/users/{user}/roles/{role}", kAdmin);

  // Roles
  admin_read({"list_roles",
              "List roles",
              "The organization's roles: type, tables granted, row filters, column lists and "
              "masks.",
              ObjectSchema(json::object(), {}),
              OutputSchema({{"roles", PropSchema("array", "")}}),
              {},
              [&d](OperationContext& c) -> Result<json> {
                ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "the list of roles"));
                ST_ASSIGN_OR_RETURN(auto roles, d.ListRoles());
                json out = json::array();
                for (const auto& r : roles) out.push_back(security::ToJson(r));
                return json{{"roles", out}};
              }},
             "/api/v1/roles");
  change(
      {"create_role",
       "Create a role",
       "Create a role: its type (superadmin, admin, writer, reader, meta), the tables it "
       "grants ('super.table', 'super.*', '*'), and per table a row filter (SQL), the "
       "columns it shows and masks (null, hash, partial or a quoted constant).",
       ObjectSchema(
           {{"name", PropSchema("string", "Role name")},
            {"type",
             {{"type", "string"}, {"enum", {"superadmin", "admin", "writer", "reader", "meta"}}}},
            {"tables", {{"type", "array"}, {"items", {{"type", "string"}}}}},
            {"row_filters",
             {{"type", "object"},
              {"additionalProperties", {{"type", "string"}}},
              {"description", "super.table -> SQL predicate over its columns"}}},
            {"columns",
             {{"type", "object"},
              {"additionalProperties", {{"type", "array"}, {"items", {{"type", "string"}}}}},
              {"description", "super.table -> the columns it shows"}}},
            {"masks",
             {{"type", "object"},
              {"additionalProperties",
               {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}},
              {"description", "super.table -> column -> mask"}}}},
           {"name", "type"}),
       OutputSchema({{"name", PropSchema("string", "")}}),
       {},
       [&d](OperationContext& c) -> Result<json> {
         ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "creating roles"));
         ST_ASSIGN_OR_RETURN(auto role, security::RoleFromJson(c.args.dump()));
         ST_RETURN_IF_ERROR(d.AddRole(role));
         ST_ASSIGN_OR_RETURN(auto stored, d.GetRole(role.name));
         return security::ToJson(stored);
       }},
      "POST", "/api/v1/roles", kAdmin);
  admin_read({"get_role",
              "Show a role",
              "One role.",
              ObjectSchema({{"role", PropSchema("string", "Role name")}}, {"role"}),
              OutputSchema({{"name", PropSchema("string", "")}}),
              {},
              [&d](OperationContext& c) -> Result<json> {
                ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "roles"));
                ST_ASSIGN_OR_RETURN(auto r, d.GetRole(StringArg(c.args, "role")));
                return security::ToJson(r);
              }},
             "/api/v1/roles/{role}");
  change({"remove_role",
          "Remove a role",
          "Remove a role no user holds (revoke it first).",
          ObjectSchema({{"role", PropSchema("string", "Role name")}}, {"role"}),
          OutputSchema({{"removed", PropSchema("string", "")}}),
          {},
          [&d](OperationContext& c) -> Result<json> {
            ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "removing roles"));
            ST_RETURN_IF_ERROR(d.RemoveRole(StringArg(c.args, "role")));
            return json{{"removed", StringArg(c.args, "role")}};
          }},
         "DELETE", "/api/v1/roles/{role}", kAdmin);

  // Tokens: administrators manage anyone's; a user their own.
  Operation list_tokens{
      "list_tokens",
      "List tokens",
      "Access tokens (never their secrets): yours, or an administrator's choice of owner.",
      ObjectSchema({{"owner", PropSchema("string",
                                         "Only this user's (default: yours; "
                                         "administrators: everyone's)")}},
                   {}),
      OutputSchema({{"tokens", PropSchema("array", "")}}),
      {"GET", "/api/v1/tokens"},
      [&d](OperationContext& c) -> Result<json> {
        std::string owner = StringArg(c.args, "owner");
        if (owner.empty() && !c.caller.principal->IsAdmin()) owner = c.caller.principal->user;
        ST_RETURN_IF_ERROR(RequireSelfOrAdmin(c.caller, owner, "the tokens"));
        ST_ASSIGN_OR_RETURN(auto tokens, d.ListTokens(owner));
        json out = json::array();
        for (const auto& t : tokens) out.push_back(security::ToJson(t));
        return json{{"tokens", out}};
      }};
  list_tokens.mcp = false;
  add(std::move(list_tokens));
  Operation create_token{
      "create_token",
      "Create a token",
      "An access token for a user (yourself, or anyone for an administrator), optionally "
      "narrowed to scopes and with an expiry. The token is shown once, in this answer.",
      ObjectSchema(
          {{"owner", PropSchema("string", "The user it acts as (default: you)")},
           {"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 100}}},
           {"scopes",
            {{"type", "array"},
             {"items",
              {{"type", "string"},
               {"enum", {security::kScopeRead, security::kScopeWrite, security::kScopeAdmin}}}}}},
           {"expires_in", PropSchema("string", "A duration such as 30d or 12h (default: never)")}},
          {"name"}),
      OutputSchema({{"token", PropSchema("string", "The secret; shown only here")},
                    {"id", PropSchema("string", "")}}),
      {"POST", "/api/v1/tokens"},
      [&d](OperationContext& c) -> Result<json> {
        std::string owner = StringArg(c.args, "owner", c.caller.principal->user);
        ST_RETURN_IF_ERROR(RequireSelfOrAdmin(c.caller, owner, "tokens"));
        int64_t expires = 0;
        if (std::string in = StringArg(c.args, "expires_in"); !in.empty()) {
          ST_ASSIGN_OR_RETURN(int64_t micros, ParseDurationMicros(in));
          expires = NowMicros() + micros;
        }
        // A token never carries more than the credential that made it: a read-only token
        // cannot mint a writer's.
        std::vector<std::string> scopes = ListArg(c.args, "scopes");
        if (const auto& mine = c.caller.principal->scopes) {
          if (scopes.empty()) scopes = *mine;
          for (const auto& s : scopes) {
            if (!c.caller.principal->HasScope(s)) {
              return Status::PermissionDenied(fmt::format(
                  "scope {} is more than your credential carries; ask for it with a token "
                  "that has it",
                  s));
            }
          }
        }
        ST_ASSIGN_OR_RETURN(auto issued,
                            d.CreateToken(owner, StringArg(c.args, "name"), scopes, expires));
        json out = security::ToJson(issued.record);
        out["token"] = issued.token;
        return out;
      }};
  create_token.read_only = false;
  create_token.mcp = false;
  add(std::move(create_token));
  Operation revoke_token{
      "revoke_token",
      "Revoke a token",
      "Revoke a token by its id: yours, or anyone's for an administrator.",
      ObjectSchema({{"id", PropSchema("string", "The token's id (list_tokens shows it)")}}, {"id"}),
      OutputSchema({{"revoked", PropSchema("string", "")}}),
      {"DELETE", "/api/v1/tokens/{id}"},
      [&d](OperationContext& c) -> Result<json> {
        std::string id = StringArg(c.args, "id");
        if (!c.caller.principal->IsAdmin()) {
          // Someone else's token does not exist for a caller who may not manage it.
          ST_ASSIGN_OR_RETURN(auto mine, d.ListTokens(c.caller.principal->user));
          bool found = std::any_of(mine.begin(), mine.end(),
                                   [&](const security::TokenRecord& t) { return t.id == id; });
          if (!found) return Status::NotFound(fmt::format("unknown token '{}'", id));
        }
        ST_RETURN_IF_ERROR(d.RevokeToken(id));
        return json{{"revoked", id}};
      }};
  revoke_token.read_only = false;
  revoke_token.mcp = false;
  add(std::move(revoke_token));

  admin_read(
      {"get_config",
       "Effective configuration",
       "The settings this server runs with: backends, limits, and every setting it read from "
       "the environment or .env, with secrets redacted.",
       ObjectSchema(json::object(), {}),
       OutputSchema({{"settings", PropSchema("array", "")}, {"limits", PropSchema("object", "")}}),
       {},
       [&w](OperationContext& c) -> Result<json> {
         ST_RETURN_IF_ERROR(RequireAdmin(c.caller, "the configuration"));
         const Config& cf = w.config();
         json settings = json::array();
         for (const auto& s : SettingsInUse()) {
           settings.push_back({{"name", s.name}, {"value", s.value}, {"source", s.source}});
         }
         return json{{"organization", cf.organization},
                     {"storage_type", cf.storage_type},
                     {"storage", w.store().Describe()},
                     {"catalog", cf.locking_backend},
                     {"limits",
                      {{"query_timeout_ms", cf.query_timeout_ms},
                       {"max_result_bytes", cf.max_result_bytes},
                       {"max_concurrent_queries", cf.max_concurrent_queries},
                       {"query_queue", cf.query_queue},
                       {"target_file_bytes", cf.target_file_bytes},
                       {"lock_timeout_ms", cf.lock_timeout_ms},
                       {"lock_ttl_ms", cf.lock_ttl_ms},
                       {"cache_max_bytes", cf.cache_max_bytes},
                       {"max_sql_bytes", cf.max_sql_bytes},
                       {"max_sql_expressions", cf.max_sql_expressions},
                       {"max_sql_depth", cf.max_sql_depth},
                       {"max_input_columns", cf.max_input_columns},
                       {"duckdb_threads", cf.duckdb_threads},
                       {"duckdb_memory_limit", cf.duckdb_memory_limit}}},
                     {"settings", settings}};
       }},
      "/api/v1/config");
}

}  // namespace supertable

// JSON forms of engine requests and answers for the engine worker protocol.
#include "engine/worker_codec.h"

namespace supertable {

using nlohmann::json;

json EngineOptionsToJson(const EngineOptions& o) {
  return {{"threads", o.threads},
          {"memory_limit", o.memory_limit},
          {"temp_directory", o.temp_directory},
          {"readable_directories", o.readable_directories},
          {"sql_limits",
           {{"max_bytes", o.sql_limits.max_bytes},
            {"max_expressions", o.sql_limits.max_expressions},
            {"max_depth", o.sql_limits.max_depth}}},
          {"storage_type", o.storage_type},
          {"home", o.home},
          {"cache_max_bytes", o.cache_max_bytes},
          {"kill_grace_ms", o.kill_grace_ms}};
}

EngineOptions EngineOptionsFromJson(const json& j) {
  EngineOptions o;
  o.threads = j.at("threads").get<int>();
  o.memory_limit = j.at("memory_limit").get<std::string>();
  o.temp_directory = j.at("temp_directory").get<std::string>();
  o.readable_directories = j.at("readable_directories").get<std::vector<std::string>>();
  const json& l = j.at("sql_limits");
  o.sql_limits.max_bytes = l.at("max_bytes").get<int64_t>();
  o.sql_limits.max_expressions = l.at("max_expressions").get<int64_t>();
  o.sql_limits.max_depth = l.at("max_depth").get<int>();
  o.storage_type = j.at("storage_type").get<std::string>();
  o.home = j.at("home").get<std::string>();
  o.cache_max_bytes = j.at("cache_max_bytes").get<int64_t>();
  o.kill_grace_ms = j.at("kill_grace_ms").get<int64_t>();
  return o;
}

json StatusToJson(const Status& s) {
  return {{"code", static_cast<int>(s.code())}, {"message", s.message()}};
}

Status StatusFromJson(const json& j) {
  int code = j.at("code").get<int>();
  if (code <= 0 || code > static_cast<int>(StatusCode::kResourceExhausted)) {
    return Status::Internal("the engine worker reported an unknown error code");
  }
  return Status::FromCode(static_cast<StatusCode>(code), j.at("message").get<std::string>());
}

json TableNameToJson(const TableName& n) {
  json j = {{"super", n.super_name}, {"table", n.table}};
  if (n.as_of) {
    json a = json::object();
    if (n.as_of->version) a["version"] = *n.as_of->version;
    if (n.as_of->timestamp_micros) a["timestamp_micros"] = *n.as_of->timestamp_micros;
    j["as_of"] = std::move(a);
  }
  return j;
}

TableName TableNameFromJson(const json& j) {
  TableName n{j.at("super").get<std::string>(), j.at("table").get<std::string>(), std::nullopt};
  if (j.contains("as_of")) {
    const json& a = j.at("as_of");
    AsOf as_of;
    if (a.contains("version")) as_of.version = a.at("version").get<int64_t>();
    if (a.contains("timestamp_micros"))
      as_of.timestamp_micros = a.at("timestamp_micros").get<int64_t>();
    n.as_of = as_of;
  }
  return n;
}

json ResolvedTableToJson(const ResolvedTable& t) {
  json views = json::array();
  for (const auto& v : t.policy.views) {
    json masks = json::object();
    for (const auto& [c, m] : v.masks) masks[c] = {static_cast<int>(m.kind), m.constant};
    json jv = {{"row_filter", v.row_filter}, {"masks", masks}};
    if (v.columns) jv["columns"] = *v.columns;
    views.push_back(std::move(jv));
  }
  json j = {{"display_name", t.display_name},
            {"views", views},
            {"user", t.policy.user},
            {"mask_salt", t.policy.mask_salt}};
  // A stored snapshot goes by its key: the worker reads and caches the document itself, instead
  // of parsing a copy of it (a megabyte for a table of a thousand files) on every query.
  if (t.snapshot_key.empty()) {
    j["snapshot"] = t.snapshot->ToJson();
  } else {
    j["snapshot_key"] = t.snapshot_key;
  }
  if (t.json) {
    j["json"] = {{"fields", ColumnsToJson(t.json->fields)},
                 {"columns", t.json->columns},
                 {"where", t.json->where}};
  }
  return j;
}

ResolvedTable ResolvedTableFromJson(const json& j) {
  ResolvedTable t;
  t.display_name = j.at("display_name").get<std::string>();
  if (j.contains("snapshot_key")) {
    t.snapshot_key = j.at("snapshot_key").get<std::string>();  // the receiver loads it
  } else {
    auto snap = Snapshot::FromJson(j.at("snapshot").get<std::string>());
    if (!snap.ok()) throw std::runtime_error(snap.status().message());
    t.snapshot = std::make_shared<const Snapshot>(std::move(*snap));
  }
  for (const auto& jv : j.at("views")) {
    RoleView v;
    v.row_filter = jv.at("row_filter").get<std::string>();
    if (jv.contains("columns")) v.columns = jv.at("columns").get<std::vector<std::string>>();
    for (const auto& [c, m] : jv.at("masks").items()) {
      int kind = m.at(0).get<int>();
      if (kind < 0 || kind > static_cast<int>(ColumnMask::Kind::kConstant))
        throw std::runtime_error("unknown mask kind");
      v.masks[c] = {static_cast<ColumnMask::Kind>(kind), m.at(1).get<std::string>()};
    }
    t.policy.views.push_back(std::move(v));
  }
  t.policy.user = j.at("user").get<std::string>();
  t.policy.mask_salt = j.at("mask_salt").get<std::string>();
  if (j.contains("json")) {
    const json& r = j.at("json");
    JsonRelation rel;
    rel.fields = ColumnsFromJson(r.at("fields"));
    rel.columns = r.at("columns").get<std::vector<std::pair<std::string, std::string>>>();
    rel.where = r.at("where").get<std::string>();
    t.json = std::move(rel);
  }
  return t;
}

json QuerySpecToJson(const QuerySpec& spec) {
  return {{"sql", spec.sql},
          {"row_limit", spec.row_limit},
          {"result_byte_limit", spec.result_byte_limit},
          {"timeout_ms", spec.timeout_ms},
          {"system_columns", spec.system_columns},
          {"validate_only", spec.validate_only},
          {"prune_files", spec.prune_files},
          {"parquet_output", spec.parquet_output},
          {"parameters", spec.parameters_json}};
}

void QuerySpecFromJson(const json& j, QuerySpec* spec) {
  spec->sql = j.at("sql").get<std::string>();
  spec->row_limit = j.at("row_limit").get<int64_t>();
  spec->result_byte_limit = j.at("result_byte_limit").get<int64_t>();
  spec->timeout_ms = j.at("timeout_ms").get<int64_t>();
  spec->system_columns = j.at("system_columns").get<bool>();
  spec->validate_only = j.at("validate_only").get<bool>();
  spec->prune_files = j.at("prune_files").get<bool>();
  spec->parquet_output = j.value("parquet_output", "");
  spec->parameters_json = j.value("parameters", "");
}

json QueryStatsToJson(const QueryStats& s) {
  return {{"rows", s.rows},
          {"truncated", s.truncated},
          {"truncated_reason", s.truncated_reason},
          {"elapsed_micros", s.elapsed_micros},
          {"files", s.files},
          {"files_pruned", s.files_pruned}};
}

QueryStats QueryStatsFromJson(const json& j) {
  QueryStats s;
  s.rows = j.at("rows").get<int64_t>();
  s.truncated = j.at("truncated").get<bool>();
  s.truncated_reason = j.at("truncated_reason").get<std::string>();
  s.elapsed_micros = j.at("elapsed_micros").get<int64_t>();
  s.files = j.at("files").get<int64_t>();
  s.files_pruned = j.at("files_pruned").get<int64_t>();
  return s;
}

json WriteSpecToJson(const WriteSpec& spec) {
  json j = {{"input_path", spec.input_path},       {"format", static_cast<int>(spec.format)},
            {"mode", static_cast<int>(spec.mode)}, {"key_columns", spec.key_columns},
            {"staging_dir", spec.staging_dir},     {"first_row_id", spec.first_row_id},
            {"commit_micros", spec.commit_micros}, {"target_file_bytes", spec.target_file_bytes},
            {"cluster_by", spec.cluster_by}};
  j["limits"] = {{"max_columns", spec.limits.max_columns},
                 {"max_nesting_depth", spec.limits.max_nesting_depth},
                 {"max_record_bytes", spec.limits.max_record_bytes}};
  if (spec.newer_than) j["newer_than"] = *spec.newer_than;
  if (spec.base) j["base"] = spec.base->ToJson();
  return j;
}

WriteSpec WriteSpecFromJson(const json& j, std::optional<Snapshot>* base_storage) {
  WriteSpec spec;
  spec.input_path = j.at("input_path").get<std::string>();
  int format = j.at("format").get<int>();
  int mode = j.at("mode").get<int>();
  if (format < 0 || format > static_cast<int>(InputFormat::kParquet) || mode < 0 ||
      mode > static_cast<int>(WriteMode::kDeleteOnly)) {
    throw std::runtime_error("unknown input format or write mode");
  }
  spec.format = static_cast<InputFormat>(format);
  spec.mode = static_cast<WriteMode>(mode);
  spec.key_columns = j.at("key_columns").get<std::vector<std::string>>();
  spec.staging_dir = j.at("staging_dir").get<std::string>();
  spec.first_row_id = j.at("first_row_id").get<int64_t>();
  spec.commit_micros = j.at("commit_micros").get<int64_t>();
  spec.target_file_bytes = j.at("target_file_bytes").get<int64_t>();
  spec.cluster_by = j.at("cluster_by").get<std::vector<std::string>>();
  const json& limits = j.at("limits");
  spec.limits.max_columns = limits.at("max_columns").get<int64_t>();
  spec.limits.max_nesting_depth = limits.at("max_nesting_depth").get<int64_t>();
  spec.limits.max_record_bytes = limits.at("max_record_bytes").get<int64_t>();
  if (j.contains("newer_than")) spec.newer_than = j.at("newer_than").get<std::string>();
  if (j.contains("base")) {
    auto snap = Snapshot::FromJson(j.at("base").get<std::string>());
    if (!snap.ok()) throw std::runtime_error(snap.status().message());
    *base_storage = std::move(*snap);
    spec.base = &**base_storage;
  }
  return spec;
}

json StagedDataFilesToJson(const std::vector<StagedDataFile>& files) {
  json arr = json::array();
  for (const auto& f : files)
    arr.push_back({{"local_path", f.local_path}, {"meta", DataFileToJson(f.meta)}});
  return arr;
}

std::vector<StagedDataFile> StagedDataFilesFromJson(const json& j) {
  std::vector<StagedDataFile> out;
  for (const auto& f : j)
    out.push_back({f.at("local_path").get<std::string>(), DataFileFromJson(f.at("meta"))});
  return out;
}

json WriteOutcomeToJson(const WriteOutcome& out) {
  json j = {{"schema", ColumnsToJson(out.schema)},
            {"schema_changed", out.schema_changed},
            {"data_files", StagedDataFilesToJson(out.data_files)},
            {"input_rows", out.input_rows},
            {"inserted", out.inserted},
            {"deleted", out.deleted},
            {"skipped_stale", out.skipped_stale},
            {"skipped_duplicates", out.skipped_duplicates},
            {"files_scanned", out.files_scanned},
            {"files_pruned", out.files_pruned}};
  if (out.delete_file) {
    j["delete_file"] = {{"local_path", out.delete_file->local_path},
                        {"rows", out.delete_file->rows},
                        {"per_target", out.delete_file->per_target}};
  }
  return j;
}

WriteOutcome WriteOutcomeFromJson(const json& j) {
  WriteOutcome out;
  out.schema = ColumnsFromJson(j.at("schema"));
  out.schema_changed = j.at("schema_changed").get<bool>();
  out.data_files = StagedDataFilesFromJson(j.at("data_files"));
  out.input_rows = j.at("input_rows").get<int64_t>();
  out.inserted = j.at("inserted").get<int64_t>();
  out.deleted = j.at("deleted").get<int64_t>();
  out.skipped_stale = j.at("skipped_stale").get<int64_t>();
  out.skipped_duplicates = j.at("skipped_duplicates").get<int64_t>();
  out.files_scanned = j.at("files_scanned").get<int64_t>();
  out.files_pruned = j.at("files_pruned").get<int64_t>();
  if (j.contains("delete_file")) {
    const json& d = j.at("delete_file");
    StagedDeleteFile f;
    f.local_path = d.at("local_path").get<std::string>();
    f.rows = d.at("rows").get<int64_t>();
    f.per_target = d.at("per_target").get<std::map<std::string, int64_t>>();
    out.delete_file = std::move(f);
  }
  return out;
}

}  // namespace supertable

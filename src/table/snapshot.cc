// Snapshot document (de)serialization.
#include "table/snapshot.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace supertable {

using nlohmann::json;

namespace {
constexpr int kFormatVersion = 1;

json StatsToJson(const ColumnStats& s) {
  json j = {{"null_count", s.null_count}};
  if (s.min) j["min"] = *s.min;
  if (s.max) j["max"] = *s.max;
  return j;
}

ColumnStats StatsFromJson(const json& j) {
  ColumnStats s;
  s.null_count = j.value("null_count", int64_t{0});
  if (j.contains("min")) s.min = j["min"].get<std::string>();
  if (j.contains("max")) s.max = j["max"].get<std::string>();
  return s;
}
}  // namespace

json ColumnsToJson(const std::vector<Column>& columns) {
  json arr = json::array();
  for (const auto& c : columns) arr.push_back({{"name", c.name}, {"type", c.type}});
  return arr;
}

std::vector<Column> ColumnsFromJson(const json& j) {
  std::vector<Column> out;
  for (const auto& c : j) out.push_back({c.at("name"), c.at("type")});
  return out;
}

json DataFileToJson(const DataFile& f) {
  json jf = {{"key", f.key},
             {"rows", f.rows},
             {"deleted_rows", f.deleted_rows},
             {"bytes", f.bytes},
             {"min_row_id", f.min_row_id},
             {"max_row_id", f.max_row_id},
             {"schema_id", f.schema_id},
             {"row_ids_stored", f.row_ids_stored}};
  jf["stats"] = json::object();
  for (const auto& [name, s] : f.stats) jf["stats"][name] = StatsToJson(s);
  return jf;
}

DataFile DataFileFromJson(const json& jf) {
  DataFile f;
  f.key = jf.at("key");
  f.rows = jf.at("rows");
  f.deleted_rows = jf.at("deleted_rows");
  f.bytes = jf.at("bytes");
  f.min_row_id = jf.at("min_row_id");
  f.max_row_id = jf.at("max_row_id");
  f.schema_id = jf.at("schema_id");
  f.row_ids_stored = jf.at("row_ids_stored");
  for (const auto& [name, js] : jf.at("stats").items()) f.stats[name] = StatsFromJson(js);
  return f;
}

int64_t Snapshot::live_rows() const {
  int64_t n = 0;
  for (const auto& f : files) n += f.live_rows();
  return n;
}

int64_t Snapshot::total_bytes() const {
  int64_t n = 0;
  for (const auto& f : files) n += f.bytes;
  return n;
}

const Column* FindColumn(const std::vector<Column>& cols, const std::string& name) {
  for (const auto& c : cols) {
    if (strcasecmp(c.name.c_str(), name.c_str()) == 0) return &c;
  }
  return nullptr;
}

const Column* Snapshot::FindColumn(const std::string& name) const {
  return supertable::FindColumn(schema, name);
}

std::string Snapshot::ToJson() const {
  json j;
  j["format_version"] = kFormatVersion;
  j["version"] = version;
  j["parent_version"] = parent_version;
  j["committed_micros"] = committed_micros;
  j["operation"] = operation;
  j["schema_id"] = schema_id;
  j["next_row_id"] = next_row_id;
  if (!cluster_by.empty()) j["cluster_by"] = cluster_by;
  j["schema"] = ColumnsToJson(schema);
  j["file_schemas"] = json::object();
  for (const auto& [id, cols] : file_schemas)
    j["file_schemas"][std::to_string(id)] = ColumnsToJson(cols);
  j["files"] = json::array();
  for (const auto& f : files) j["files"].push_back(DataFileToJson(f));
  j["deletes"] = json::array();
  for (const auto& d : deletes)
    j["deletes"].push_back({{"key", d.key}, {"rows", d.rows}, {"targets", d.targets}});
  return j.dump();
}

Result<Snapshot> Snapshot::FromJson(const std::string& text) {
  try {
    json j = json::parse(text);
    int fv = j.at("format_version").get<int>();
    if (fv > kFormatVersion) {
      return Status::InvalidArgument(fmt::format(
          "snapshot format version {} is newer than this build understands ({}); upgrade", fv,
          kFormatVersion));
    }
    Snapshot s;
    s.version = j.at("version").get<int64_t>();
    s.parent_version = j.at("parent_version").get<int64_t>();
    s.committed_micros = j.at("committed_micros").get<int64_t>();
    s.operation = j.at("operation").get<std::string>();
    s.schema_id = j.at("schema_id").get<int64_t>();
    s.next_row_id = j.at("next_row_id").get<int64_t>();
    if (j.contains("cluster_by")) s.cluster_by = j.at("cluster_by").get<std::vector<std::string>>();
    s.schema = ColumnsFromJson(j.at("schema"));
    for (const auto& [id, arr] : j.at("file_schemas").items())
      s.file_schemas[std::stoll(id)] = ColumnsFromJson(arr);
    for (const auto& jf : j.at("files")) s.files.push_back(DataFileFromJson(jf));
    for (const auto& jd : j.at("deletes")) {
      s.deletes.push_back(
          {jd.at("key"), jd.at("rows"), jd.at("targets").get<std::vector<std::string>>()});
    }
    return s;
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("corrupt snapshot document: {}", e.what()));
  }
}

std::string TablePrefix(const std::string& org, const std::string& super_name,
                        const std::string& table) {
  return org + "/" + super_name + "/" + table + "/";
}

Result<std::shared_ptr<const Snapshot>> SnapshotCache::Get(
    const std::string& key, const std::function<Result<std::string>()>& read) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (auto hit = index_.find(key); hit != index_.end()) {
      entries_.splice(entries_.begin(), entries_, hit->second);
      return hit->second->second;
    }
  }
  ST_ASSIGN_OR_RETURN(std::string doc, read());
  ST_ASSIGN_OR_RETURN(Snapshot parsed, Snapshot::FromJson(doc));
  auto snap = std::make_shared<const Snapshot>(std::move(parsed));
  auto weight = [](const Snapshot& s) { return s.files.size() + s.deletes.size() + 1; };
  std::lock_guard<std::mutex> g(mu_);
  if (index_.count(key)) return snap;  // read meanwhile by another thread
  entries_.emplace_front(key, snap);
  index_[key] = entries_.begin();
  files_ += weight(*snap);
  while (files_ > max_files_ && entries_.size() > 1) {
    files_ -= weight(*entries_.back().second);
    index_.erase(entries_.back().first);
    entries_.pop_back();
  }
  return snap;
}

}  // namespace supertable

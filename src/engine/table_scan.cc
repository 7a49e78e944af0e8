// SQL text for reading snapshots.
#include "engine/table_scan.h"

#include <strings.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/sql_text.h"

namespace supertable {

namespace {

const Column* FindIn(const std::vector<Column>& cols, const std::string& name) {
  for (const auto& c : cols) {
    if (strcasecmp(c.name.c_str(), name.c_str()) == 0) return &c;
  }
  return nullptr;
}

}  // namespace

std::string ScanSql(const Snapshot& snap, const std::function<std::string(const std::string&)>& read_path,
                    const ScanOptions& opt) {
  const std::vector<Column>& schema = opt.as_schema.empty() ? snap.schema : opt.as_schema;
  std::vector<Column> wanted;
  if (opt.columns.empty()) {
    wanted = schema;
  } else {
    for (const auto& name : opt.columns) {
      const Column* c = FindIn(schema, name);
      wanted.push_back(c ? *c : Column{name, "VARCHAR"});
    }
  }
  std::set<std::string> only(opt.only_files.begin(), opt.only_files.end());
  std::map<int64_t, std::vector<std::string>> groups;  // schema_id -> paths
  std::set<std::string> included;
  for (const auto& f : snap.files) {
    if (!only.empty() && !only.count(f.key)) continue;
    groups[f.schema_id].push_back(read_path(f.key));
    included.insert(f.key);
  }

  std::string tail;
  if (opt.system_columns) tail += fmt::format(", {}, {}", kRowIdColumn, kCommitTimeColumn);
  if (opt.file_name) tail += fmt::format(", filename AS {}", kFileNameColumn);

  std::vector<std::string> parts;
  for (const auto& [schema_id, paths] : groups) {
    auto it = snap.file_schemas.find(schema_id);
    const std::vector<Column>& file_cols = it == snap.file_schemas.end() ? snap.schema : it->second;
    std::string select;
    for (const auto& w : wanted) {
      if (!select.empty()) select += ", ";
      const Column* fc = FindIn(file_cols, w.name);
      if (!fc) {
        select += fmt::format("CAST(NULL AS {}) AS {}", w.type, sql::Ident(w.name));
      } else if (fc->type != w.type) {
        select += fmt::format("CAST({} AS {}) AS {}", sql::Ident(fc->name), w.type, sql::Ident(w.name));
      } else {
        select += sql::Ident(fc->name) + (fc->name == w.name ? "" : " AS " + sql::Ident(w.name));
      }
    }
    std::string reader = fmt::format("read_parquet({}{})", sql::LiteralList(paths), opt.file_name ? ", filename=true" : "");
    // The anti-join needs the row id even when the caller does not want it.
    std::string row_id = opt.system_columns ? "" : fmt::format(", {}", kRowIdColumn);
    parts.push_back(fmt::format("SELECT {}{}{} FROM {}", select, tail, row_id, reader));
  }

  std::vector<std::string> delete_paths;
  for (const auto& d : snap.deletes) {
    for (const auto& t : d.targets) {
      if (included.count(t)) {
        delete_paths.push_back(read_path(d.key));
        break;
      }
    }
  }

  // Output columns are qualified: after the anti-join both sides have a row id column.
  std::string out_cols;
  for (const auto& w : wanted) out_cols += (out_cols.empty() ? "__st_s." : ", __st_s.") + sql::Ident(w.name);
  std::string out_tail;
  if (opt.system_columns) out_tail += fmt::format(", __st_s.{}, __st_s.{}", kRowIdColumn, kCommitTimeColumn);
  if (opt.file_name) out_tail += fmt::format(", __st_s.{}", kFileNameColumn);

  if (parts.empty()) {
    // An empty table still has its columns and types.
    std::string cols;
    for (const auto& w : wanted) cols += fmt::format("{}CAST(NULL AS {}) AS {}", cols.empty() ? "" : ", ", w.type, sql::Ident(w.name));
    if (opt.system_columns) cols += fmt::format(", CAST(NULL AS BIGINT) AS {}, CAST(NULL AS TIMESTAMPTZ) AS {}", kRowIdColumn, kCommitTimeColumn);
    if (opt.file_name) cols += fmt::format(", CAST(NULL AS VARCHAR) AS {}", kFileNameColumn);
    return fmt::format("SELECT {} WHERE false", cols);
  }
  std::string body;
  for (size_t i = 0; i < parts.size(); ++i) body += (i ? " UNION ALL " : "") + parts[i];
  if (delete_paths.empty()) return fmt::format("SELECT {}{} FROM ({}) AS __st_s", out_cols, out_tail, body);
  return fmt::format(
      "SELECT {cols}{tail} FROM ({body}) AS __st_s ANTI JOIN read_parquet({dels}) AS __st_d ON __st_s.{rid} = "
      "__st_d.{rid}",
      fmt::arg("cols", out_cols), fmt::arg("tail", out_tail), fmt::arg("body", body),
      fmt::arg("dels", sql::LiteralList(delete_paths)), fmt::arg("rid", kRowIdColumn));
}

}  // namespace supertable

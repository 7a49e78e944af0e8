// SQL text for reading snapshots.
#include "engine/table_scan.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/sql_text.h"

namespace supertable {

namespace {

// The SELECT list producing `wanted` from a file written with `file_cols`.
std::string ProjectColumns(const std::vector<Column>& wanted,
                           const std::vector<Column>& file_cols) {
  std::string select;
  for (const auto& w : wanted) {
    if (!select.empty()) select += ", ";
    const Column* fc = FindColumn(file_cols, w.name);
    if (!fc) {
      select += fmt::format("CAST(NULL AS {}) AS {}", w.type, sql::Ident(w.name));
    } else if (fc->type != w.type) {
      select +=
          fmt::format("CAST({} AS {}) AS {}", sql::Ident(fc->name), w.type, sql::Ident(w.name));
    } else {
      select += sql::Ident(fc->name) + (fc->name == w.name ? "" : " AS " + sql::Ident(w.name));
    }
  }
  return select;
}

std::string UnionAll(const std::vector<std::string>& parts) {
  std::string body;
  for (size_t i = 0; i < parts.size(); ++i) body += (i ? " UNION ALL " : "") + parts[i];
  return body;
}

}  // namespace

std::string ScanSql(const Snapshot& snap,
                    const std::function<std::string(const std::string&)>& read_path,
                    const ScanOptions& opt) {
  const std::vector<Column>& schema = opt.as_schema.empty() ? snap.schema : opt.as_schema;
  std::vector<Column> wanted;
  if (opt.columns.empty()) {
    wanted = schema;
  } else {
    for (const auto& name : opt.columns) {
      const Column* c = FindColumn(schema, name);
      wanted.push_back(c ? *c : Column{name, "VARCHAR"});
    }
  }
  auto file_cols = [&](int64_t schema_id) -> const std::vector<Column>& {
    auto it = snap.file_schemas.find(schema_id);
    return it == snap.file_schemas.end() ? snap.schema : it->second;
  };
  auto file_list = [&](std::vector<std::string> paths) {
    if (!opt.file_lists) return sql::LiteralList(paths);
    opt.file_lists->push_back(std::move(paths));
    return fmt::format("${}", opt.file_lists->size());
  };
  std::set<std::string> only(opt.only_files.begin(), opt.only_files.end());
  std::set<std::string> with_deletes;
  for (const auto& d : snap.deletes) with_deletes.insert(d.targets.begin(), d.targets.end());

  // Files that need no row id (no deletes, none asked for) are read many to a read_parquet, by
  // schema. The others get their row id: stored files (compacted) have the column, fresh files
  // derive it from their first row id and the row's position, one read_parquet each.
  bool want_rid = opt.system_columns || opt.file_name;
  std::map<int64_t, std::vector<std::string>> plain_groups;
  std::vector<std::string> rid_parts;
  std::set<std::string> rid_files;
  for (const auto& f : snap.files) {
    if (!only.empty() && !only.count(f.key)) continue;
    bool needs_rid = want_rid || with_deletes.count(f.key);
    if (!needs_rid) {
      plain_groups[f.schema_id].push_back(read_path(f.key));
      continue;
    }
    rid_files.insert(f.key);
    std::string rid = f.row_ids_stored
                          ? std::string(kRowIdColumn)
                          : fmt::format("CAST({} + file_row_number AS BIGINT)", f.min_row_id);
    std::string extra =
        opt.file_name ? fmt::format(", {} AS {}", sql::Literal(f.key), kFileNameColumn) : "";
    rid_parts.push_back(fmt::format(
        "SELECT {}, {} AS {}, {}{} FROM read_parquet({}{})",
        ProjectColumns(wanted, file_cols(f.schema_id)), rid, kRowIdColumn, kCommitTimeColumn, extra,
        sql::Literal(read_path(f.key)), f.row_ids_stored ? "" : ", file_row_number=true"));
  }

  std::string out_cols;
  for (const auto& w : wanted)
    out_cols += (out_cols.empty() ? "__st_s." : ", __st_s.") + sql::Ident(w.name);
  std::string out_tail;
  if (opt.system_columns)
    out_tail += fmt::format(", __st_s.{}, __st_s.{}", kRowIdColumn, kCommitTimeColumn);
  if (opt.file_name) out_tail += fmt::format(", __st_s.{}", kFileNameColumn);

  std::vector<std::string> plain_parts;
  for (const auto& [schema_id, paths] : plain_groups) {
    plain_parts.push_back(fmt::format("SELECT {} FROM read_parquet({})",
                                      ProjectColumns(wanted, file_cols(schema_id)),
                                      file_list(paths)));
  }

  std::vector<std::string> finals;
  if (!plain_parts.empty())
    finals.push_back(fmt::format("SELECT {} FROM ({}) AS __st_s", out_cols, UnionAll(plain_parts)));
  if (!rid_parts.empty()) {
    std::vector<std::string> delete_paths;
    for (const auto& d : snap.deletes) {
      for (const auto& t : d.targets) {
        if (rid_files.count(t)) {
          delete_paths.push_back(read_path(d.key));
          break;
        }
      }
    }
    std::string anti =
        delete_paths.empty() || !opt.apply_deletes
            ? ""
            : fmt::format(" ANTI JOIN read_parquet({0}) AS __st_d ON __st_s.{1} = __st_d.{1}",
                          file_list(std::move(delete_paths)), kRowIdColumn);
    finals.push_back(fmt::format("SELECT {}{} FROM ({}) AS __st_s{}", out_cols, out_tail,
                                 UnionAll(rid_parts), anti));
  }
  if (finals.empty()) {
    // An empty table still has its columns and types.
    std::string cols;
    for (const auto& w : wanted) {
      cols += fmt::format("{}CAST(NULL AS {}) AS {}", cols.empty() ? "" : ", ", w.type,
                          sql::Ident(w.name));
    }
    if (opt.system_columns) {
      cols += fmt::format(", CAST(NULL AS BIGINT) AS {}, CAST(NULL AS TIMESTAMPTZ) AS {}",
                          kRowIdColumn, kCommitTimeColumn);
    }
    if (opt.file_name) cols += fmt::format(", CAST(NULL AS VARCHAR) AS {}", kFileNameColumn);
    return fmt::format("SELECT {} WHERE false", cols);
  }
  return finals.size() == 1 ? finals[0] : UnionAll(finals);
}

std::string JsonScanSql(const JsonRelation& relation, const std::vector<std::string>& paths) {
  std::string source;
  if (paths.empty()) {
    std::string nulls;
    for (const auto& f : relation.fields) {
      nulls += fmt::format("{}CAST(NULL AS {}) AS {}", nulls.empty() ? "" : ", ", f.type,
                           sql::Ident(f.name));
    }
    source = fmt::format("(SELECT {} WHERE false)", nulls);
  } else {
    std::string files, fields;
    for (const auto& p : paths) files += (files.empty() ? "" : ", ") + sql::Literal(p);
    for (const auto& f : relation.fields) {
      fields += fmt::format("{}{}: {}", fields.empty() ? "" : ", ", sql::Literal(f.name),
                            sql::Literal(f.type));
    }
    // The schema is given, never sampled, so every file reads alike; a key=value directory
    // must not become a column.
    source = fmt::format(
        "read_json([{}], format = 'newline_delimited', columns = {{{}}}, "
        "hive_partitioning = false)",
        files, fields);
  }
  std::string select;
  for (const auto& [name, expr] : relation.columns) {
    select += fmt::format("{}{} AS {}", select.empty() ? "" : ", ", expr, sql::Ident(name));
  }
  std::string where = relation.where.empty() ? "" : fmt::format(" WHERE ({})", relation.where);
  return fmt::format("SELECT {} FROM {} AS __st_json{}", select, source, where);
}

}  // namespace supertable

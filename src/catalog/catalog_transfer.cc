#include "catalog/catalog_transfer.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "common/ids.h"

#include "common/names.h"

namespace supertable {

using nlohmann::json;

namespace {

constexpr const char* kFormat = "supertable-catalog";

json RecordJson(const CommitRecord& r) {
  return {{"version", r.version},
          {"snapshot_key", r.snapshot_key},
          {"committed_micros", r.committed_micros},
          {"operation", r.operation},
          {"summary", r.summary_json}};
}

// The document is outside input: every field is checked, with the path of what is wrong.
Result<CommitRecord> ParseRecord(const json& j, const std::string& where) {
  auto bad = [&](const char* field) {
    return Status::InvalidArgument(
        fmt::format("catalog import: {}: '{}' is missing or has the wrong type", where, field));
  };
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: expected an object", where));
  CommitRecord r;
  if (!j.contains("version") || !j["version"].is_number_integer()) return bad("version");
  if (!j.contains("snapshot_key") || !j["snapshot_key"].is_string()) return bad("snapshot_key");
  if (!j.contains("committed_micros") || !j["committed_micros"].is_number_integer())
    return bad("committed_micros");
  if (!j.contains("operation") || !j["operation"].is_string()) return bad("operation");
  if (!j.contains("summary") || !j["summary"].is_string()) return bad("summary");
  r.version = j["version"];
  r.snapshot_key = j["snapshot_key"];
  r.committed_micros = j["committed_micros"];
  r.operation = j["operation"];
  r.summary_json = j["summary"];
  if (r.version < 1) return bad("version");
  return r;
}

// Documents that travel with the catalog: users, roles, tokens (hashes only) and the security
// settings (the mask salt, so hashed values stay the same). Usage times stay behind.
const char* const kTransferredDocuments[] = {"user", "role", "token", "security"};

struct PlannedTable {
  TableRef ref;
  std::vector<CommitRecord> history;
};

}  // namespace

Result<json> ExportCatalog(Catalog& catalog, const std::string& org) {
  ST_ASSIGN_OR_RETURN(auto supers, catalog.ListSupers(org));
  json tables = json::array();
  for (const auto& s : supers) {
    ST_ASSIGN_OR_RETURN(auto entries, catalog.ListTables(org, s));
    for (const auto& e : entries) {
      ST_ASSIGN_OR_RETURN(auto history, catalog.History({org, s, e.name}));
      // The listing's head is the export's current version: a commit that lands meanwhile is
      // left out, so the history ends exactly at the head.
      json h = json::array();
      for (const auto& r : history) {
        if (r.version < e.head.version) h.push_back(RecordJson(r));
      }
      h.push_back(RecordJson(e.head));
      tables.push_back({{"super", s}, {"table", e.name}, {"history", h}});
    }
  }
  json documents = json::array();
  for (const char* kind : kTransferredDocuments) {
    ST_ASSIGN_OR_RETURN(auto docs, catalog.ListDocuments(org, kind));
    for (const auto& [name, body] : docs) {
      // The version only says "changed since"; the target gets a fresh one.
      if (std::string(kind) == "security" && name == "version") continue;
      documents.push_back({{"kind", kind}, {"name", name}, {"body", body}});
    }
  }
  return json{{"format", kFormat}, {"format_version", 1}, {"organization", org},
              {"supers", supers},  {"tables", tables},    {"documents", documents}};
}

Result<ImportResult> ImportCatalog(Catalog& catalog, const json& doc) {
  if (!doc.is_object() || doc.value("format", "") != kFormat || doc.value("format_version", 0) != 1)
    return Status::InvalidArgument(
        "catalog import: not a catalog export (expected \"format\": \"supertable-catalog\", "
        "\"format_version\": 1, as `supertable catalog export` writes)");
  if (!doc.contains("organization") || !doc["organization"].is_string() ||
      !doc.contains("supers") || !doc["supers"].is_array() || !doc.contains("tables") ||
      !doc["tables"].is_array())
    return Status::InvalidArgument(
        "catalog import: the document needs 'organization', 'supers' and 'tables'");
  std::string org = doc["organization"];
  ST_RETURN_IF_ERROR(ValidateName(org, "organization"));
  std::vector<std::string> supers;
  for (const auto& s : doc["supers"]) {
    if (!s.is_string()) return Status::InvalidArgument("catalog import: supers must be names");
    ST_RETURN_IF_ERROR(ValidateName(s.get<std::string>(), "super table"));
    supers.push_back(s);
  }
  // Plan and check everything before writing anything.
  std::vector<PlannedTable> plan;
  ImportResult result;
  for (size_t i = 0; i < doc["tables"].size(); ++i) {
    const json& t = doc["tables"][i];
    std::string where = fmt::format("tables[{}]", i);
    if (!t.is_object() || !t.contains("super") || !t["super"].is_string() || !t.contains("table") ||
        !t["table"].is_string() || !t.contains("history") || !t["history"].is_array() ||
        t["history"].empty())
      return Status::InvalidArgument(fmt::format(
          "catalog import: {} needs 'super', 'table' and a non-empty 'history'", where));
    PlannedTable p;
    p.ref = {org, t["super"], t["table"]};
    for (const auto& q : plan) {
      if (q.ref.super_name == p.ref.super_name && q.ref.table == p.ref.table)
        return Status::InvalidArgument(
            fmt::format("catalog import: {} lists table {} twice", where, p.ref.ToString()));
    }
    ST_RETURN_IF_ERROR(ValidateName(p.ref.super_name, "super table"));
    ST_RETURN_IF_ERROR(ValidateName(p.ref.table, "table"));
    for (size_t k = 0; k < t["history"].size(); ++k) {
      ST_ASSIGN_OR_RETURN(auto r,
                          ParseRecord(t["history"][k], fmt::format("{}.history[{}]", where, k)));
      if (!p.history.empty() && r.version <= p.history.back().version)
        return Status::InvalidArgument(
            fmt::format("catalog import: {}.history is not in increasing version order", where));
      p.history.push_back(std::move(r));
    }
    ST_ASSIGN_OR_RETURN(auto head, catalog.GetHead(p.ref));
    if (head) {
      const CommitRecord& want = p.history.back();
      if (head->version != want.version || head->snapshot_key != want.snapshot_key) {
        return Status::AlreadyExists(fmt::format(
            "catalog import: table {} already exists at version {} (the export has version {}); "
            "nothing was imported. Drop it from the target catalog or import elsewhere",
            p.ref.ToString(), head->version, want.version));
      }
      result.tables_already_there++;
      continue;
    }
    plan.push_back(std::move(p));
  }
  // Users, roles and tokens: an existing document with other content is a different
  // directory, refused before anything is written; an identical one is from an earlier run.
  std::vector<std::tuple<std::string, std::string, std::string>> documents;
  const json& docs = doc.contains("documents") ? doc["documents"] : json::array();
  if (!docs.is_array())
    return Status::InvalidArgument("catalog import: 'documents' must be a list");
  for (size_t i = 0; i < docs.size(); ++i) {
    const json& d = docs[i];
    if (!d.is_object() || !d.contains("kind") || !d["kind"].is_string() || !d.contains("name") ||
        !d["name"].is_string() || !d.contains("body") || !d["body"].is_string() ||
        std::none_of(std::begin(kTransferredDocuments), std::end(kTransferredDocuments),
                     [&](const char* k) { return d["kind"] == k; })) {
      return Status::InvalidArgument(fmt::format(
          "catalog import: documents[{}] needs 'kind' (user, role, token or security), 'name' "
          "and 'body'",
          i));
    }
    if (d["kind"] == "security" && d["name"] == "version") continue;
    ST_ASSIGN_OR_RETURN(auto existing, catalog.GetDocument(org, d["kind"], d["name"]));
    if (existing && *existing != d["body"].get<std::string>()) {
      return Status::AlreadyExists(fmt::format(
          "catalog import: the target already has a different {} '{}'; nothing was imported",
          d["kind"].get<std::string>(), d["name"].get<std::string>()));
    }
    if (!existing) documents.emplace_back(d["kind"], d["name"], d["body"]);
  }
  for (const auto& [kind, name, body] : documents) {
    std::string none;
    Status s = catalog.PutDocument(org, kind, name, body, &none);
    if (!s.ok() && s.code() != StatusCode::kConflict) return s;
  }
  // Every replica's cached directory is stale now.
  if (!documents.empty())
    ST_RETURN_IF_ERROR(catalog.PutDocument(org, "security", "version", RandomId()));
  for (const auto& s : supers) {
    ST_RETURN_IF_ERROR(catalog.RestoreSuper(org, s));
    result.supers++;
  }
  for (const auto& p : plan) {
    Status s = catalog.RestoreTable(p.ref, p.history);
    if (s.code() == StatusCode::kAlreadyExists) {
      // Written by a retry of our own after a lost connection, or concurrently: same check.
      ST_ASSIGN_OR_RETURN(auto head, catalog.GetHead(p.ref));
      if (head && head->snapshot_key == p.history.back().snapshot_key) {
        result.tables_already_there++;
        continue;
      }
    }
    if (!s.ok()) {
      return s.WithContext(
          fmt::format("catalog import stopped at {} after {} tables (run the import again to "
                      "finish it)",
                      p.ref.ToString(), result.tables_restored));
    }
    result.tables_restored++;
  }
  return result;
}

}  // namespace supertable

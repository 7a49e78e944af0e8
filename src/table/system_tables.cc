// system.audit: the audit trail's segments pinned as a JSON relation for the query engine.
#include "table/system_tables.h"

#include <strings.h>

#include <fmt/format.h>

namespace supertable {

std::string AuditTrailPrefix(const std::string& org) { return org + "/__audit/"; }

bool IsAuditTableName(const TableName& name) {
  return strcasecmp(name.super_name.c_str(), "system") == 0 &&
         strcasecmp(name.table.c_str(), "audit") == 0;
}

namespace {

// The record fields as src/security/audit.cc writes them (docs/STORAGE_FORMAT.md). Segment
// header lines have none of them, so their seq is NULL and the relation drops them.
JsonRelation AuditRelation() {
  JsonRelation r;
  r.fields = {{"time_micros", "BIGINT"}, {"stream", "VARCHAR"},         {"seq", "BIGINT"},
              {"kind", "VARCHAR"},       {"principal", "VARCHAR"},      {"auth", "VARCHAR"},
              {"client", "JSON"},        {"action", "VARCHAR"},         {"arguments", "JSON"},
              {"tables", "VARCHAR[]"},   {"columns", "VARCHAR[]"},      {"policies", "VARCHAR[]"},
              {"outcome", "VARCHAR"},    {"error", "VARCHAR"},          {"rows", "BIGINT"},
              {"bytes", "BIGINT"},       {"duration_micros", "BIGINT"}, {"prev", "VARCHAR"},
              {"hash", "VARCHAR"},       {"trace", "VARCHAR"}};
  auto field = [](const char* name) { return fmt::format("\"{}\"", name); };
  // Microseconds added as an interval to the epoch: exact, and independent of the session's
  // time zone (a TIMESTAMP cast to TIMESTAMPTZ would not be).
  r.columns.push_back({"time", "to_timestamp(0) + to_microseconds(\"time_micros\")"});
  for (const char* f :
       {"stream", "seq", "kind", "principal", "auth", "client", "action", "arguments", "tables",
        "columns", "policies", "outcome", "error", "rows", "bytes"}) {
    r.columns.push_back({f, field(f)});
  }
  r.columns.push_back({"duration_ms", "\"duration_micros\" / 1000.0"});
  r.columns.push_back({"trace", field("trace")});
  r.columns.push_back({"prev", field("prev")});
  r.columns.push_back({"hash", field("hash")});
  r.where = "\"seq\" IS NOT NULL";
  return r;
}

// The relation's columns with their types, for the snapshot's schema (DESCRIBE, policies).
std::vector<Column> AuditColumns() {
  return {{"time", "TIMESTAMP WITH TIME ZONE"},
          {"stream", "VARCHAR"},
          {"seq", "BIGINT"},
          {"kind", "VARCHAR"},
          {"principal", "VARCHAR"},
          {"auth", "VARCHAR"},
          {"client", "JSON"},
          {"action", "VARCHAR"},
          {"arguments", "JSON"},
          {"tables", "VARCHAR[]"},
          {"columns", "VARCHAR[]"},
          {"policies", "VARCHAR[]"},
          {"outcome", "VARCHAR"},
          {"error", "VARCHAR"},
          {"rows", "BIGINT"},
          {"bytes", "BIGINT"},
          {"duration_ms", "DOUBLE"},
          {"trace", "VARCHAR"},
          {"prev", "VARCHAR"},
          {"hash", "VARCHAR"}};
}

}  // namespace

Result<ResolvedTable> ResolveAuditTable(ObjectStore& store, const std::string& org,
                                        const TableName& name) {
  if (name.as_of) {
    return Status::InvalidArgument(
        "system.audit has no versions: it is append-only; filter on its time column instead of "
        "AT (VERSION/TIMESTAMP => ...)");
  }
  const std::string prefix = AuditTrailPrefix(org);
  ST_ASSIGN_OR_RETURN(auto listed, store.List(prefix));
  auto snap = std::make_shared<Snapshot>();
  snap->operation = "system.audit";
  snap->schema = AuditColumns();
  snap->file_schemas[0] = snap->schema;
  const std::string suffix = kAuditSegmentSuffix;
  for (const auto& o : listed) {
    if (o.key.size() <= suffix.size() ||
        o.key.compare(o.key.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;  // the streams' HEAD objects
    }
    DataFile f;
    f.key = o.key;
    f.bytes = o.size;  // the engine worker's object cache then needs no HEAD request
    snap->files.push_back(std::move(f));
  }
  ResolvedTable t;
  t.display_name = "system.audit";
  t.snapshot = std::move(snap);
  t.json = AuditRelation();
  return t;
}

}  // namespace supertable

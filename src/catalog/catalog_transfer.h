// Moving a warehouse's catalog between backends (`supertable catalog export` / `import`): the
// embedded SQLite catalog to Redis and back. The data files stay where they are; only the
// catalog's records move, exactly (versions, snapshot keys, times, history).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"

namespace supertable {

// Every super table and table of `org` with its retained history, as one JSON document:
// {"format": "supertable-catalog", "format_version": 1, "organization": ..., "supers": [...],
//  "tables": [{"super", "table", "history": [{"version", "snapshot_key", "committed_micros",
//  "operation", "summary"}, ...]}], "documents": [{"kind", "name", "body"}, ...]}: the users,
//  roles, tokens (hashes only) and security settings of security/directory.h.
Result<nlohmann::json> ExportCatalog(Catalog& catalog, const std::string& org);

struct ImportResult {
  int supers = 0;
  int tables_restored = 0;
  int tables_already_there = 0;  // identical tables from an earlier, interrupted import
};

// Restores an exported document into `catalog` for the document's organization. Checks the
// whole document first; refuses (and writes nothing) when a table exists with a different
// current version. Re-running an interrupted import finishes it.
Result<ImportResult> ImportCatalog(Catalog& catalog, const nlohmann::json& document);

}  // namespace supertable

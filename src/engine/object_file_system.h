// Registers SuperTable's DuckDB file system for remote objects on a DuckDB instance. DuckDB
// opens "supertable-object://<key>" paths (RemoteObjectStore::ReadPath) through it; reads are
// positional and go through the ObjectCache, so the Parquet reader's ranged reads fetch only
// the footer and the column chunks a query needs.
#pragma once

#include <string>
#include <vector>

namespace duckdb {
class DuckDB;
}

namespace supertable {

class ObjectCache;

// Call once per instance, before it runs any query. `cache` must outlive `db`. With
// `key_prefixes`, only keys under one of them open (the query instance: the organization's
// data); empty, every key does.
void RegisterObjectFileSystem(duckdb::DuckDB& db, ObjectCache* cache,
                              std::vector<std::string> key_prefixes = {});

}  // namespace supertable

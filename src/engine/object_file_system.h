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

// Registers the local disk under `directories` (the organization's data on a local store) as a
// file system whose glob of a literal path answers without asking the kernel. A view lists its
// snapshot's files one by one, and DuckDB otherwise "globs" each (access + stat) at every bind:
// three system calls a file, which on a table of 1,000 small files cost a query more than the
// plain DuckDB it is measured against spends on globbing the directory. The snapshot is what
// says the files exist; one that does not fails when it is opened. Everything else is the local
// file system's, and the query instance's allowed_directories still apply above it.
void RegisterDataFileSystem(duckdb::DuckDB& db, std::vector<std::string> directories);

}  // namespace supertable

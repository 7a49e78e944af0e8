// The benchmarks supertable_bench runs. Each prints its figures on stdout, narrates on stderr,
// and returns an exit code: 0 done, 1 a sanity check failed, 2 the run itself failed. Timings
// are never asserted: a shared 2-core machine makes absolute numbers noise, so every figure
// comes with a DuckDB baseline measured in the same process, interleaved with ours.
#pragma once

#include <cstdint>

namespace supertable::bench {

struct IngestOptions {
  int64_t rows = 2'000'000;
  int runs = 3;
};

struct UpsertOptions {
  int64_t rows = 10'000'000;
  int runs = 3;
  int64_t target_file_bytes = 64ll << 20;  // small enough that the table has several files
  // The rows arrive in random key order and the table is clustered by its key (ingest
  // --cluster-by id); each run replaces a different contiguous 1% of the keys (recent records,
  // say), so statistics can prune every file but the one or two that hold them.
  bool clustered = false;
};

struct QueryOptions {
  double scale_factor = 1.0;  // TPC-H-like scale: 1.0 is lineitem ~6M rows
  int runs = 5;
  int tiny_runs = 30;  // runs of the tiny query, per way of running it
};

struct CatalogOptions {
  int operations = 2000;
};

struct AuditOptions {
  int records = 100'000;
  int runs = 3;
};

struct PruneOptions {
  int64_t lookup_rows = 10'000'000;
  int lookup_files = 200;
  int64_t events_rows = 2'000'000;
  int events_files = 1000;
  int runs = 5;
};

// Selective queries on tables of many files (a point lookup, a 1% time range) and unselective
// aggregates: Warehouse::Query with file pruning vs plain DuckDB over a glob of the same files.
int RunPrune(const PruneOptions& options);

struct StorageOptions {
  int64_t rows = 5'000'000;
  int runs = 3;
};

// A selective query over object storage (s3rver) cold, warm and hot against local disk, with the
// bytes each fetched.
int RunStorage(const StorageOptions& options);

// AuditLog::Append's cost to the caller against building the record alone; the writer's drain.
int RunAudit(const AuditOptions& options);

struct JqBenchOptions {
  int rows = 1000;
  int runs = 200;
};
int RunJq(const JqBenchOptions& options);

// Lock acquire+release and commit latency on Redis against the embedded SQLite catalog.
int RunCatalog(const CatalogOptions& options);

// CSV to Parquet: Warehouse::Write append vs DuckDB's COPY of the same file.
int RunIngest(const IngestOptions& options);

// 1% key-scattered upsert: Warehouse::Write upsert (merge-on-read) vs rewriting the whole table
// (what a copy-on-write system pays).
int RunUpsert(const UpsertOptions& options);

// TPC-H-like analytic queries: Warehouse::Query vs plain DuckDB over the table's own data
// files; then the end-to-end cost of a tiny query through the CLI and in process.
int RunQuery(const QueryOptions& options);

}  // namespace supertable::bench

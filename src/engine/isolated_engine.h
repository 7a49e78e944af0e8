// IsolatedEngine: the Engine of every process that serves requests. Each operation (a query, a
// write's reading of an outside file, a compaction's rewrite) runs in an engine worker process
// (engine_worker.h) leased from a small pool, and this side supervises it:
//  - at most EngineOptions::max_concurrent_queries workers run at once, max_queued_queries
//    queries wait for one (beyond that: "busy"); writes and rewrites wait as long as it takes;
//  - a query that outlives its time limit (or its cancel) by kill_grace_ms is killed with its
//    worker, so a deadline holds even for work DuckDB does not interrupt;
//  - a worker that dies (a crash in DuckDB, the kernel's OOM killer) fails only the operation it
//    ran, with an error that says so, and is replaced;
//  - the table resolver, the result sink, progress and cancellation stay in this process and
//    are answered for by message.
// Workers are started on first need, or ahead of it by Prestart (a server), and reused: each
// keeps its DuckDB instances and their caches (Parquet footers) across operations.
#pragma once

#include <memory>

#include "common/status.h"
#include "engine/engine.h"

namespace supertable {

Result<std::unique_ptr<Engine>> OpenIsolatedEngine(const EngineOptions& options);

}  // namespace supertable

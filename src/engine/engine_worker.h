// The engine worker process: where DuckDB runs users' SQL and reads files from outside, so that
// a crash, a runaway or a memory blow-up ends this process and not the server
// (docs/ARCHITECTURE.md, "Engine workers"). `supertable-engine` (src/cli/engine_main.cc) runs
// RunEngineWorker on file descriptor 3, one end of a socket pair whose other end is an
// IsolatedEngine.
//
// The protocol (WorkerChannel messages, each an object with a "t" type):
//   server -> worker  hello {options}                 worker -> server  ready | error
//   server -> worker  query {spec, seq}               worker -> server  resolve {name}*, begin,
//                                                                       rows*, end, done|error
//                     resolved {table} | error          (answers to resolve)
//   server -> worker  write {spec} / rewrite {...}    worker -> server  progress*, done|error
// A cancel is a SIGUSR1 queued with the query's seq (sigqueue), so the worker's single reading
// thread never has to watch the socket while DuckDB runs.
#pragma once

namespace supertable {

// Serves requests on `fd` until the server closes it; returns the process exit code.
int RunEngineWorker(int fd);

}  // namespace supertable

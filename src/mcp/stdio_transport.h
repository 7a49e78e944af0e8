// The stdio transport: newline-delimited JSON-RPC on stdin/stdout. Nothing but protocol
// messages goes to stdout (logs go to stderr). Requests run on worker threads, so a long
// tools/call can be cancelled and pings answered meanwhile. Ends on EOF or SIGTERM/SIGINT,
// after the requests in flight finish.
#pragma once

#include <memory>

#include <cstdio>

#include "mcp/server.h"

namespace supertable::mcp {

struct StdioOptions {
  size_t max_message_bytes = 8 << 20;  // longer lines are refused with a parse error
  int max_workers = 8;                 // requests handled at once
  // Who the session acts as (Session::identity): stdio has one client, identified once, by
  // the process's environment.
  std::shared_ptr<const void> identity;
};

// Serves one session over the given streams (stdin/stdout in production). Returns the exit code.
int ServeStdio(Server& server, FILE* in, FILE* out, const StdioOptions& options = {});

}  // namespace supertable::mcp

// The standard middleware around tool calls, in the order the server installs them:
// errors (outermost: nothing escapes as an exception), logging with durations, the response
// size guard, and a result cache for idempotent read-only tools (off unless a TTL is set).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "mcp/server.h"

namespace supertable::mcp {

Middleware ErrorMiddleware();
Middleware LoggingMiddleware();
// Refuses results whose text would cost more than `max_tokens` (about 4 bytes a token), with
// a message that says how to narrow the request. The size it measured is left in the call's
// notes as "result_bytes".
Middleware SizeGuardMiddleware(int64_t max_tokens);
// Serves repeated identical calls of read-only, idempotent tools from memory for `ttl_ms`.
// Results are kept apart by `partition` (who asked, and under which rules): one caller's
// answer must never reach another who may see less.
Middleware CacheMiddleware(int64_t ttl_ms,
                           std::function<std::string(const ToolContext&)> partition = nullptr);

}  // namespace supertable::mcp

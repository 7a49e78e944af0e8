// The warehouse's MCP face: one tool per operation of the registry (tools/operations.h; names as
// the original SuperTable used them), resources (a table's schema and stats at
// supertable://{super}/{table}), prompts and completions, registered on an mcp::Server.
#pragma once

#include <cstdint>

#include "mcp/server.h"
#include "security/audit.h"
#include "security/authenticator.h"
#include "security/rate_limit.h"
#include "table/warehouse.h"
#include "tools/operations.h"

namespace supertable {

struct McpToolOptions {
  int64_t default_row_limit = 1000;  // query_sql rows when the caller names none
  int64_t max_row_limit = 10000;
  int64_t max_response_tokens = 25000;  // SUPERTABLE_MCP_MAX_RESPONSE_TOKENS
  int64_t cache_ttl_ms = 0;             // SUPERTABLE_MCP_CACHE_TTL_MS
  // A query (query_sql, profile_column) still running after this long is answered with a task
  // to a modern client that declares the tasks extension (SUPERTABLE_MCP_TASK_AFTER_MS), and
  // the task is kept this long (SUPERTABLE_MCP_TASK_TTL_MS).
  int64_t task_after_ms = 2000;
  int64_t task_ttl_ms = 3600 * 1000;
  // Checks the original SuperTable's per-call credentials (auth_token, user_hash); each call
  // acts as the principal its request carries (mcp::RequestContext::identity, a
  // security::Principal). Must outlive the server.
  security::Authenticator* authenticator = nullptr;
  // Queries (query_sql, sample_data, profile_column, ...) one principal may run at once
  // (SUPERTABLE_MAX_QUERIES_PER_PRINCIPAL; 0: no cap). Superusers are not capped.
  int max_queries_per_principal = security::kDefaultMaxQueriesPerPrincipal;
  // Tool calls per principal (SUPERTABLE_RATE_LIMIT), for transports that do not limit requests
  // themselves (stdio; HTTP limits every request before it reaches a tool).
  security::RateLimitSpec call_rate_limit;
  // Where every tool call and login is recorded (nullptr: nowhere). Must outlive the server.
  security::AuditLog* audit = nullptr;
  std::string transport = "stdio";  // for the audit trail's client
};

// The server SuperTable serves, with every tool, resource, prompt and the middleware chain.
// `ops`: the process's operation registry, shared with its other front doors (null: one of
// its own).
std::unique_ptr<mcp::Server> MakeWarehouseMcpServer(
    Warehouse& warehouse, const McpToolOptions& options,
    std::shared_ptr<OperationRegistry> ops = nullptr);

}  // namespace supertable

// The REST API (/api/v1) of `supertable serve`: one endpoint per operation of the registry
// (tools/operations.h), on the MCP port, behind the same Host/Origin checks, authentication and
// rate limits as MCP (HttpTransportOptions::routes), under the same principal's policy, written
// to the same audit trail. It translates and nothing more: arguments from the path, the query
// string and a JSON body, checked against the operation's input schema; the operation's result
// as JSON; errors as RFC 9457 problem details with the text MCP gives. GET
// /api/v1/openapi.json is the OpenAPI 3.1 document made from the same schemas.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "mcp/streamable_http.h"
#include "server/http_server.h"
#include "tools/operations.h"

namespace supertable {

namespace security {
class AuditLog;
}

struct RestApiOptions {
  security::AuditLog* audit = nullptr;  // every call is recorded here (nullptr: nowhere)
  // The MCP server of the same registry: statements (/api/v1/statements, long queries) are its
  // tasks of query_sql, so they share one implementation, store and owner rule (nullptr: no
  // statements).
  mcp::Server* mcp = nullptr;
  // Uploads (write_table) stream to files in this directory ("" is /tmp), up to this size
  // (SUPERTABLE_MAX_UPLOAD_BYTES).
  std::string spool_directory;
  size_t max_upload_bytes = size_t{1} << 30;
};

inline constexpr const char* kRestPrefix = "/api/v1";

// The route `supertable serve` adds to its HTTP transport.
mcp::HttpTransportOptions::Route MakeRestApi(std::shared_ptr<OperationRegistry> ops,
                                             RestApiOptions options);

// The OpenAPI 3.1 document of the operations that have a route (and of the statements, with
// `statements`).
nlohmann::json OpenApiDocument(const OperationRegistry& ops, bool statements = false);

// An RFC 9457 problem (application/problem+json): status, its reason phrase as the title, and
// what was wrong and what is expected as the detail.
http::Response Problem(int status, const std::string& detail, const std::string& instance = "");

// The HTTP status a failed operation answers with.
int HttpStatusOf(const Status& s);

}  // namespace supertable

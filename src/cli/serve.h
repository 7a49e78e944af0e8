// `supertable serve`: the MCP server over streamable HTTP, for agents on this machine or, with a
// token, on others. With --demo it first builds the demo warehouse in a temporary home.
#pragma once

#include <optional>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "tools/warehouse_tools.h"

namespace supertable {

struct ServeFlags {
  std::string host, path;              // empty: SUPERTABLE_MCP_HTTP_HOST / _PATH, then defaults
  std::optional<int> port;             // unset: SUPERTABLE_MCP_HTTP_PORT, then 8000
  bool allow_unauthenticated = false;  // listen beyond loopback without a token, knowingly
  bool demo = false;
  std::string demo_data;  // --demo's data directory; empty: demo/data
};

// Serves until SIGTERM or SIGINT, then shuts down gracefully.
Status RunServe(Config config, const ServeFlags& flags, McpToolOptions tool_options);

}  // namespace supertable

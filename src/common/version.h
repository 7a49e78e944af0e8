// The release version, reported by `supertable --version`, MCP serverInfo, the health and info
// tools, and GET /health.
#pragma once

namespace supertable {
inline constexpr char kVersion[] = "0.1.0";
}

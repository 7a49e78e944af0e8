// The release version, reported by `--version`, MCP serverInfo, the health tool and /health.
#pragma once

namespace supertable {
inline constexpr char kVersion[] = "0.1.0";
}

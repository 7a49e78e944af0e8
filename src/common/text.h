// Small text formatting shared by every front door and tool.
#pragma once

#include <cstdint>
#include <string>

namespace supertable {

// "512 B", "1.5 KiB", "30.6 MiB": sizes for people (binary units).
std::string FormatBytes(int64_t bytes);

}  // namespace supertable

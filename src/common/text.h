// Small text formatting shared by every front door and tool.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace supertable {

// "512 B", "1.5 KiB", "30.6 MiB": sizes for people (binary units).
std::string FormatBytes(int64_t bytes);

// ASCII letters lowercased, everything else as is: header names, schemes, host names.
std::string AsciiLower(std::string_view s);

// "a, b,,c" -> {"a", "b", "c"}: comma lists in flags and settings, blanks trimmed and dropped.
std::vector<std::string> SplitComma(const std::string& s);

}  // namespace supertable

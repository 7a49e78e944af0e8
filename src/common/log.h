// Minimal leveled logging to stderr (stdout belongs to command output and, later, to MCP stdio).
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace supertable::log {

enum class Level { kDebug = 0, kInfo, kWarn, kError, kOff };

void SetLevel(std::string_view name);  // "debug", "info", "warn", "error", "off" (any case)
bool Enabled(Level level);
void Write(Level level, std::string_view message);

template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace supertable::log

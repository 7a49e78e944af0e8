// Leveled logging to stderr.
#include "common/log.h"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <string>

#include "common/ids.h"

namespace supertable::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::kWarn)};
const char* kNames[] = {"debug", "info", "warn", "error", "off"};
}  // namespace

void SetLevel(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "warning") lower = "warn";
  for (int i = 0; i < 5; ++i) {
    if (lower == kNames[i]) g_level = i;
  }
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void Write(Level level, std::string_view message) {
  std::string line = FormatTimestamp(NowMicros()) + " " + kNames[static_cast<int>(level)] + " " +
                     std::string(message) + "\n";
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace supertable::log

// Random identifiers and wall-clock timestamps.
#pragma once

#include <cstdint>
#include <string>

namespace supertable {

// 128 bits from the OS random source, as 32 lowercase hex characters. Used for file names and
// lock tokens, where a collision would corrupt a table, so a seeded PRNG is not good enough.
std::string RandomId();

// Microseconds since the Unix epoch.
int64_t NowMicros();

// "2026-11-21T23:59:01.123456Z": how timestamps appear in snapshots, history and output.
std::string FormatTimestamp(int64_t micros);
// Parses FormatTimestamp's output, and also "YYYY-MM-DD" and "YYYY-MM-DD HH:MM:SS"; -1 if invalid.
int64_t ParseTimestamp(const std::string& text);

}  // namespace supertable

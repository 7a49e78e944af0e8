// DuckDB errors turned into one-line Statuses. Only src/engine/ includes this header.
#pragma once

#include <string>

#include <duckdb.hpp>

#include "common/status.h"

namespace supertable {

// The essential line(s) of a DuckDB message, without SQL excerpts, option dumps or fix-it lists.
std::string OneLine(const std::string& raw);

// InvalidArgument for the user's mistakes; IoError for the machine's (I/O, memory, internal).
Status FromDuckError(duckdb::ErrorData& error);

}  // namespace supertable

// ResultSinks that print query results as an aligned text table, CSV, JSON or one line per
// value ("line", as sqlite3's .mode line). CSV, JSON and line stream row by row (a result larger
// than memory prints fine); the text table must see every row to size its columns, so it holds them
// all: callers bound it with a row limit.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "common/status.h"
#include "engine/engine.h"

namespace supertable {

enum class OutputFormat { kTable, kCsv, kJson, kLine };
Result<OutputFormat> ParseOutputFormat(const std::string& name);

std::unique_ptr<ResultSink> MakeResultSink(OutputFormat format, std::ostream& out);

// One JSON cell as plain text: strings unquoted, null as empty (CSV) or "NULL" (table),
// nested values as compact JSON.
std::string CellText(const nlohmann::json& cell, const char* null_text);

}  // namespace supertable

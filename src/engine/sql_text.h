// Quoting for SQL text SuperTable generates. Every identifier and string that reaches DuckDB
// from outside (column names from a CSV header, file paths) goes through these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace supertable::sql {

// "name" with embedded quotes doubled: safe for any column name, including spaces and quotes.
std::string Ident(std::string_view name);
// 'text' with embedded quotes doubled.
std::string Literal(std::string_view text);
// ['a', 'b'] for functions that take a list of paths.
std::string LiteralList(const std::vector<std::string>& items);

}  // namespace supertable::sql

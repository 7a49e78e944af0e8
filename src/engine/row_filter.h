// Row filters of access policies, as the query engine reads them. A row filter is written by an
// administrator but lands inside every query of the users it restricts, so it is parsed by
// DuckDB's parser (never spliced as text), must be exactly one expression, may not contain a
// subquery (it would read tables outside the view), nor any function the SQL guard refuses in
// users' queries; current_user() becomes the caller's name. Does not include duckdb.hpp.
#pragma once

#include <string>

#include "common/status.h"

namespace supertable {

// The filter as SQL text to put in a view (re-rendered from the parse tree), with
// current_user() replaced by `user` as a string constant; InvalidArgument saying what is wrong.
Result<std::string> RowFilterSql(const std::string& filter, const std::string& user);

}  // namespace supertable

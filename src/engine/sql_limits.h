// The limits on users' SQL that need no parser: the text's length and how deeply its brackets
// nest. DuckDB's parser and transformer recurse on nesting, and its type parser on nested type
// strings, so a statement nested thousands deep crashes the process instead of failing; these
// checks run before the parser sees the text. Pure text, no DuckDB, so unit tests need no
// database.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/engine.h"

namespace supertable {

// How deeply ( [ { nest in `text`, counting a run of empty "[]" as that many levels (as in the
// type INTEGER[][][]). Unbalanced closers never take the count below zero.
int BracketDepth(std::string_view text);

// Checks the length of `sql` and the bracket depth of its code (outside strings, quoted names
// and comments) and of each of its string constants (a string may be a type or a JSON
// structure that a function parses) against `limits`. The errors name the setting to raise.
Status CheckSqlText(const std::string& sql, const SqlLimits& limits);

// The error for a statement nested past the limit; `what` says what nests.
Status TooDeep(const std::string& what, const SqlLimits& limits);

}  // namespace supertable

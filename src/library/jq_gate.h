// The jq gate: what a jq program from an agent may say, checked before any worker sees it (at
// proposal time and again at run time). jq has builtins that reach outside a pure function of
// its input: the environment (`env`, `$ENV`), more input (`input`, `inputs`, `input_filename`,
// `input_line_number`), modules from disk (`import`, `include`, `modulemeta`, `get_*` paths),
// the process (`halt`, `halt_error`), the server's stderr (`debug`, `stderr`) and where the
// program came from (`$__loc__`). The gate refuses a program that names any of them; the worker
// (jq_worker.h) could not reach anything through them anyway, which is the second line.
#pragma once

#include <set>
#include <string>

#include "common/status.h"

namespace supertable::library {

// Ok, or InvalidArgument naming the first forbidden builtin and where it is (line:column), or
// an unterminated string.
Status CheckJqProgram(const std::string& program);

// The names a program calls or defines (identifiers outside strings, comments and field
// accesses; keywords left out): how the library finds the functions a tool uses.
std::set<std::string> JqNamesUsed(const std::string& program);
// The $variables a program reads (without the '$').
std::set<std::string> JqVariablesUsed(const std::string& program);

// The seed YAML's `${name}` placeholders as jq variables: `$name` in code and `\($name)` inside
// a string, so that a value is always a variable's value, never program text.
std::string JqPlaceholdersToVariables(const std::string& program);

}  // namespace supertable::library

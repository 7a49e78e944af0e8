// The `supertable` command line: one function per subcommand, all thin wrappers over Warehouse.
#pragma once

#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/result_format.h"
#include "table/snapshot.h"

namespace supertable {

// Prints rows of plain values through the same sinks query results use.
void PrintRows(OutputFormat format, const std::vector<Column>& columns,
               const std::vector<std::vector<nlohmann::json>>& rows);

// Parses argv, runs the command and returns the process exit code: 0 ok, 1 user error
// (bad input, unknown name, conflict), 2 internal error.
int RunCli(int argc, char** argv);

}  // namespace supertable

// The `supertable` command line: one function per subcommand, all thin wrappers over Warehouse.
#pragma once

namespace supertable {

// Parses argv, runs the command and returns the process exit code: 0 ok, 1 user error
// (bad input, unknown name, conflict), 2 internal error.
int RunCli(int argc, char** argv);

}  // namespace supertable

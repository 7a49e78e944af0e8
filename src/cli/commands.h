// The `supertable` command line: one function per subcommand, all thin wrappers over Warehouse.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "engine/result_format.h"
#include "table/snapshot.h"

namespace CLI {
class App;
}

namespace supertable {

class Warehouse;

// Prints rows of plain values through the same sinks query results use.
void PrintRows(OutputFormat format, const std::vector<Column>& columns,
               const std::vector<std::vector<nlohmann::json>>& rows);

// What a command registered outside commands.cc gets from RunCli: where to put its action (run
// after parsing; its Status becomes the exit code) and how to open the warehouse with the global
// flags (--home, --org, --log-level), the environment and .env applied.
struct CliContext {
  std::function<Status()>* action = nullptr;
  std::function<Result<std::unique_ptr<Warehouse>>()> open_warehouse;
};
using CommandRegistrar = void (*)(CLI::App& app, CliContext& context);

// Parses argv, runs the command and returns the process exit code: 0 ok, 1 user error
// (bad input, unknown name, conflict), 2 internal error. `more_commands` add subcommands kept
// in files of their own (main.cc passes them).
int RunCli(int argc, char** argv, const std::vector<CommandRegistrar>& more_commands = {});

}  // namespace supertable

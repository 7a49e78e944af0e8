// The `supertable` command line: one function per subcommand, all thin wrappers over Warehouse.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace CLI {
class App;
}

namespace supertable {

class Warehouse;

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

// "500ms", "90s", "15m", "12h", "7d"; a bare "0" means zero.
Result<int64_t> ParseDurationMicros(const std::string& text);

}  // namespace supertable

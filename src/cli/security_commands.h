// The CLI's user, role, grant, revoke and token commands. Whoever can open the warehouse home is
// its local administrator (docs/SECURITY.md), so these run without a credential.
#pragma once

#include "cli/commands.h"

namespace supertable {

// A CommandRegistrar (cli/commands.h).
void RegisterSecurityCommands(CLI::App& app, CliContext& context);

}  // namespace supertable

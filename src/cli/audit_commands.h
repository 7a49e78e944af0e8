// `supertable audit` (read the organization's audit trail) and `supertable audit verify`
// (check its hash chains), kept apart from commands.cc so the security commands grow here.
#pragma once

#include "cli/commands.h"

namespace supertable {

void RegisterAuditCommands(CLI::App& app, CliContext& context);

}  // namespace supertable

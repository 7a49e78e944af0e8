// The CLI's user, role, grant, revoke and token commands. Whoever can open the warehouse home is
// its local administrator (docs/SECURITY.md), so these run without a credential.
#pragma once

#include <functional>
#include <memory>

#include "common/status.h"
#include "table/warehouse.h"

namespace CLI {
class App;
}

namespace supertable {

// Adds the commands to `app`; a chosen command sets `action`. `open` opens the warehouse.
void AddSecurityCommands(CLI::App& app, std::function<Result<std::unique_ptr<Warehouse>>()> open,
                         std::function<Status()>& action);

}  // namespace supertable

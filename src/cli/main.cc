// Entry point of the `supertable` binary. Its engine workers are the `supertable-engine` binary
// beside it (src/cli/engine_main.cc): DuckDB runs there only; its jq workers (the tool library's
// programs) are `supertable-jq` (src/cli/jq_main.cc), the only binary that links libjq.
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "cli/audit_commands.h"
#include "cli/commands.h"
#include "cli/security_commands.h"
#include "engine/engine.h"
#include "library/jq_pool.h"

int main(int argc, char** argv) {
  // Workers are the binary beside this one: found from the path of the running executable, not
  // argv[0], which may be relative to a directory changed since or found on PATH.
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string path(self, static_cast<size_t>(n));
    const std::string dir = path.substr(0, path.rfind('/') + 1);
    supertable::SetDefaultEngineWorkerCommand({dir + "supertable-engine"});
    supertable::library::SetDefaultJqWorkerCommand({dir + "supertable-jq"});
  }
  return supertable::RunCli(
      argc, argv, {supertable::RegisterSecurityCommands, supertable::RegisterAuditCommands});
}

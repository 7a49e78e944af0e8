// Entry point of the `supertable` binary. `supertable __engine-worker` is the engine worker
// process a warehouse starts for itself (src/engine/engine_worker.h); it is not for people.
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "cli/audit_commands.h"
#include "cli/commands.h"
#include "cli/security_commands.h"
#include "engine/engine.h"
#include "engine/engine_worker.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "__engine-worker") == 0) {
    return supertable::RunEngineWorker(3);
  }
  // Workers are this very binary: the path of the running executable, not argv[0], which may
  // be relative to a directory changed since or found on PATH.
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    supertable::SetDefaultEngineWorkerCommand(
        {std::string(self, static_cast<size_t>(n)), "__engine-worker"});
  }
  return supertable::RunCli(
      argc, argv, {supertable::RegisterSecurityCommands, supertable::RegisterAuditCommands});
}

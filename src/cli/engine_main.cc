// Entry point of the `supertable-engine` binary: the engine worker process a warehouse starts
// for itself (src/engine/engine_worker.h), serving it over file descriptor 3. Not for people.
// DuckDB lives here and not in the supertable binary, which starts faster without it.
#include <cstdio>

#include "engine/engine_worker.h"

int main(int argc, char**) {
  if (argc != 1) {
    std::fputs("supertable-engine is started by supertable itself; it takes no arguments\n",
               stderr);
    return 2;
  }
  return supertable::RunEngineWorker(3);
}

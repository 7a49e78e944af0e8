// Kernel confinement of a query engine worker (Linux Landlock): what the process may open on
// the file system, decided once at its start, before any thread exists (a Landlock domain
// covers the thread that enters it and the threads it creates later, not threads that already
// run). The query sandbox's settings and the plan check keep users' SQL inside its
// organization; this keeps even a DuckDB that an attacker took over inside it: it may read the
// organization's data and the system's read-only directories, and write only its spill and
// cache directories. Nothing else of the warehouse home (the catalog, other organizations, the
// staging area) nor anything of the user's (~/.aws, ~/.ssh) can be opened.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace supertable {

struct Confinement {
  std::vector<std::string> read_only;   // directories (or files) that may be read
  std::vector<std::string> read_write;  // directories that may also be written
};

// The confinement of a query worker with these directories (local readable directories, the
// spill directory, the object cache); system directories are added read-only.
Confinement QueryWorkerConfinement(const std::vector<std::string>& readable_directories,
                                   const std::string& temp_directory,
                                   const std::string& cache_directory);

// Confines the calling thread and every thread it creates from now on. Returns false (and
// changes nothing) when the kernel has no Landlock; an error when it has and confining failed,
// so a worker is never unconfined by accident. Paths that do not exist are skipped.
Result<bool> ConfineProcess(const Confinement& c);

}  // namespace supertable

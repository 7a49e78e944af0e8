// Child processes for the servers tests and benchmarks start (redis-server, s3rver, azurite).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace supertable {

// Forks and execs `argv` (looked up on PATH) with stdout and stderr discarded, or appended to
// `log_path`. The child starts with no signal blocked, whatever the parent blocks (benchmarks
// block SIGTERM in every thread to clean up on their own; the servers must still stop on it).
pid_t SpawnQuiet(const std::vector<std::string>& argv, const std::string& log_path = "");

// Sends `sig` to *pid, waits for it and sets *pid to -1; nothing when *pid <= 0.
void StopProcess(pid_t* pid, int sig);

}  // namespace supertable

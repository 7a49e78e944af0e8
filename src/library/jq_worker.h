// The jq worker: the process that runs the tool library's jq programs (`supertable-jq`,
// src/cli/jq_main.cc), served to its parent over a WorkerChannel on file descriptor 3
// (protocol in jq_pool.h). jq programs come from agents, so the worker is a sandbox of its own:
// it starts with an empty environment and no HOME (the parent gives it none), then, before it
// reads a program, drops every file descriptor but the channel, forbids new files (Landlock:
// nothing may be opened; RLIMIT_FSIZE 0), caps its address space, and takes a CPU budget per
// program; the parent kills it at a wall-clock deadline.
#pragma once

namespace supertable::library {

// Serves programs on `fd` until the parent closes it; returns the process's exit code.
int RunJqWorker(int fd);

// Exit code of a worker whose program exhausted its memory budget (jq's allocator failed).
inline constexpr int kJqOutOfMemoryExit = 86;

}  // namespace supertable::library

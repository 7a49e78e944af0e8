// WorkerProcess: a helper process this one starts and talks to over a WorkerChannel (its fd 3):
// the engine workers (isolated_engine.h) and the jq workers of the tool library
// (library/jq_pool.h). Starting, watching and ending such a process is written once, here.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/worker_channel.h"

namespace supertable {

// "was killed by signal 9 (SIGKILL)", "exited with code 3": how a process ended, from waitpid.
std::string DescribeExit(int status);

// The process-wide command of one kind of worker (the binary beside the running executable, or
// the one a test built), set by main or a test's static initializer. Keep one as a
// function-local static, so it is constructed before any static initializer sets it.
class WorkerCommand {
 public:
  void Set(std::vector<std::string> argv) {
    std::lock_guard<std::mutex> g(mu_);
    argv_ = std::move(argv);
  }
  std::vector<std::string> Get() const {
    std::lock_guard<std::mutex> g(mu_);
    return argv_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> argv_;
};

class WorkerProcess {
 public:
  // Starts `argv` (argv[0] a path) with its end of a socket pair as fd 3, stdin and stdout on
  // /dev/null (they belong to this process: the MCP stdio transport, a CLI's results), no
  // signal blocked and the termination signals at their defaults, in a process group of its
  // own (a terminal's Ctrl+C is this process's to handle). `environment`: the child's whole
  // environment (nullptr: this process's). `what` names the worker in errors.
  static Result<std::unique_ptr<WorkerProcess>> Start(const std::vector<std::string>& argv,
                                                      const std::vector<std::string>* environment,
                                                      const std::string& what);
  ~WorkerProcess() { End(); }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  WorkerChannel& channel() { return *channel_; }
  pid_t pid() const { return pid_; }
  int NextSeq() { return ++seq_; }
  // Set by the owner: whether the worker runs confined (a pool keeps the kinds apart).
  bool confined = false;
  // False once the process has ended (an idle worker can die too: the OOM killer, a kill -9).
  bool Alive();
  // Kills the worker if it still runs, reaps it, and says how it ended ("was killed by signal 8
  // (SIGFPE)"); the first call's answer is kept.
  const std::string& End();
  // For an idle worker no one will ask about again (the owner is going away): kills it and
  // leaves the reaping to a thread of its own, so the caller (a CLI command about to exit) does
  // not wait while the kernel takes a large process apart.
  void Abandon();

 private:
  WorkerProcess(pid_t pid, int fd) : pid_(pid), channel_(std::make_unique<WorkerChannel>(fd)) {}
  pid_t pid_;
  std::unique_ptr<WorkerChannel> channel_;
  int seq_ = 0;
  std::string ended_;
};

}  // namespace supertable

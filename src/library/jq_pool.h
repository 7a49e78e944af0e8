// JqPool: the server's side of the jq workers (jq_worker.h). Workers are started by the pool's
// own thread, ahead of need (Prestart) or from the first program on, kept at
// JqLimits::workers and reused; each runs one program at a time. A program that outlives its
// wall-clock deadline, or whose caller cancels, is stopped by killing its worker, which is then
// replaced; a worker that dies (its memory budget, its CPU budget) fails only the program it
// ran, with an error that says which limit it met.
//
// Protocol (CBOR messages, worker_channel.h): the pool sends {"t":"hello","memory_bytes"} and
// the worker answers {"t":"ready","landlock"}; then per program {"t":"run"|"compile", "seq",
// "program", "vars" (object: the program's $variables), "input" (JSON text), "cpu_ms",
// "max_output_bytes"}, answered {"t":"done","seq","output" (a JSON array of every value the
// program emitted, as text),"count"} or {"t":"error","seq","kind","message"}.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/cancel_token.h"
#include "common/status.h"

namespace supertable {
class WorkerProcess;
}

namespace supertable::library {

struct JqLimits {
  int64_t timeout_ms = 2000;                  // SUPERTABLE_JQ_TIMEOUT_MS: wall clock per program
  int64_t memory_bytes = int64_t{512} << 20;  // SUPERTABLE_JQ_MEMORY_MB: a worker's address space
  int64_t max_output_bytes = int64_t{16} << 20;  // SUPERTABLE_JQ_MAX_OUTPUT_MB
  int workers = 2;                               // SUPERTABLE_JQ_WORKERS: programs at once
};

// The limits SUPERTABLE_JQ_* set (docs/CONFIGURATION.md); an error names a malformed one.
Result<JqLimits> JqLimitsFromEnvironment();

class JqPool {
 public:
  // `command`: the worker's argv (the supertable-jq binary beside this one).
  JqPool(std::vector<std::string> command, JqLimits limits);
  ~JqPool();
  JqPool(const JqPool&) = delete;
  JqPool& operator=(const JqPool&) = delete;

  // Starts the workers now, so that the first program does not wait for one.
  void Prestart();
  // Runs `program` over the JSON text `input` with `vars` as $variables; every value it emits,
  // as a JSON array. Errors: InvalidArgument (the program does not compile, a jq error, output
  // past the limit), Timeout (past the deadline: stopped), ResourceExhausted (memory or CPU
  // budget), Cancelled.
  Result<nlohmann::json> Run(const std::string& program, const std::string& input,
                             const nlohmann::json& vars, CancelToken* cancel = nullptr);
  // Compiles `program` with `vars` declared, without running it.
  Status Compile(const std::string& program, const nlohmann::json& vars);

  const JqLimits& limits() const { return limits_; }
  // Workers started so far: the pool's size plus one per worker killed or lost.
  int64_t workers_started() const;
  // Whether the workers run under Landlock (false: the kernel has none; the other limits hold).
  bool landlocked() const;

 private:
  Result<std::unique_ptr<WorkerProcess>> StartWorker();
  void Maintain();  // the maintainer thread: keeps the pool full once it is wanted
  Result<std::unique_ptr<WorkerProcess>> Lease();
  void Return(std::unique_ptr<WorkerProcess> w);
  Result<nlohmann::json> Submit(nlohmann::json job, CancelToken* cancel);

  const std::vector<std::string> command_;
  const JqLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<WorkerProcess>> idle_;
  int leased_ = 0;
  bool wanted_ = false;  // set by the first Lease or Prestart: from then on the pool is kept full
  bool stop_ = false;
  Status start_error_;  // the last start's failure, until a start succeeds
  bool landlocked_ = false;
  int64_t started_ = 0;
  std::thread maintainer_;  // last: started once everything it reads is constructed
};

// The supertable-jq binary beside the running executable ("" when it cannot be found); tests
// set their own with SetDefaultJqWorkerCommand.
std::vector<std::string> DefaultJqWorkerCommand();
void SetDefaultJqWorkerCommand(std::vector<std::string> argv);

}  // namespace supertable::library

// The jq workers' pool: leases, deadlines, and what a dead worker's exit means.
#include "library/jq_pool.h"

#include <signal.h>

#include <atomic>
#include <chrono>

#include <fmt/format.h>

#include "common/config.h"
#include "common/log.h"
#include "engine/worker_process.h"
#include "library/jq_worker.h"

namespace supertable::library {

using nlohmann::json;

namespace {

WorkerCommand& TheDefaultCommand() {
  static WorkerCommand c;
  return c;
}

}  // namespace

std::vector<std::string> DefaultJqWorkerCommand() { return TheDefaultCommand().Get(); }

void SetDefaultJqWorkerCommand(std::vector<std::string> argv) {
  TheDefaultCommand().Set(std::move(argv));
}

Result<JqLimits> JqLimitsFromEnvironment() {
  JqLimits l;
  auto read = [](const char* name, int64_t min, int64_t scale, auto* out) -> Status {
    auto v = GetSetting(name);
    if (!v || v->empty()) return Status::Ok();
    ST_ASSIGN_OR_RETURN(int64_t n, ParseIntSetting(name, *v, min));
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(n * scale);
    return Status::Ok();
  };
  ST_RETURN_IF_ERROR(read("SUPERTABLE_JQ_TIMEOUT_MS", 1, 1, &l.timeout_ms));
  ST_RETURN_IF_ERROR(read("SUPERTABLE_JQ_MEMORY_MB", 16, int64_t{1} << 20, &l.memory_bytes));
  ST_RETURN_IF_ERROR(read("SUPERTABLE_JQ_MAX_OUTPUT_MB", 1, int64_t{1} << 20, &l.max_output_bytes));
  ST_RETURN_IF_ERROR(read("SUPERTABLE_JQ_WORKERS", 1, 1, &l.workers));
  return l;
}

JqPool::JqPool(std::vector<std::string> command, JqLimits limits)
    : command_(std::move(command)), limits_(limits), maintainer_([this] { Maintain(); }) {}

JqPool::~JqPool() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  maintainer_.join();
  for (auto& w : idle_) w->Abandon();
}

int64_t JqPool::workers_started() const {
  std::lock_guard<std::mutex> g(mu_);
  return started_;
}

bool JqPool::landlocked() const {
  std::lock_guard<std::mutex> g(mu_);
  return landlocked_;
}

Result<std::unique_ptr<WorkerProcess>> JqPool::StartWorker() {
  if (command_.empty()) {
    return Status::Internal("the jq worker (supertable-jq) was not found beside this program");
  }
  // Its whole environment: nothing. No HOME, no JQ_LIBRARY_PATH, no credentials.
  const std::vector<std::string> empty_environment;
  ST_ASSIGN_OR_RETURN(auto w, WorkerProcess::Start(command_, &empty_environment, "jq worker"));
  std::atomic<int64_t> deadline{WorkerChannel::DeadlineIn(10000)};
  Status sent = w->channel().Send({{"t", "hello"}, {"memory_bytes", limits_.memory_bytes}});
  auto ready = sent.ok() ? w->channel().Receive(&deadline) : Result<json>(sent);
  if (!ready.ok() || ready->value("t", "") != "ready") {
    std::string why = ready.ok() ? ready->value("message", "") : "";
    return Status::Internal(fmt::format("the jq worker {} did not start: it {}{}", command_[0],
                                        w->End(), why.empty() ? "" : " (" + why + ")"));
  }
  std::lock_guard<std::mutex> g(mu_);
  landlocked_ = ready->value("landlock", false);
  ++started_;
  return w;
}

// Workers die with the thread that started them (PR_SET_PDEATHSIG), so only this thread, which
// lives as long as the pool, starts them; request threads come and go.
void JqPool::Maintain() {
  std::unique_lock<std::mutex> g(mu_);
  while (!stop_) {
    if (!wanted_ || static_cast<int>(idle_.size()) + leased_ >= limits_.workers) {
      cv_.wait(g);
      continue;
    }
    g.unlock();
    auto w = StartWorker();
    g.lock();
    if (w.ok()) {
      idle_.push_back(std::move(*w));
      start_error_ = Status::Ok();
      cv_.notify_all();
      continue;
    }
    // Said to whoever waits for a worker, and tried again a second later.
    log::Warn("{}", w.status().message());
    start_error_ = w.status();
    cv_.notify_all();
    cv_.wait_for(g, std::chrono::seconds(1), [this] { return stop_; });
  }
}

void JqPool::Prestart() {
  std::unique_lock<std::mutex> g(mu_);
  wanted_ = true;
  cv_.notify_all();
  cv_.wait(g, [this] {
    return stop_ || !start_error_.ok() ||
           static_cast<int>(idle_.size()) + leased_ >= limits_.workers;
  });
}

Result<std::unique_ptr<WorkerProcess>> JqPool::Lease() {
  std::unique_lock<std::mutex> g(mu_);
  wanted_ = true;
  cv_.notify_all();
  for (;;) {
    while (!idle_.empty()) {
      auto w = std::move(idle_.back());
      idle_.pop_back();
      if (!w->Alive()) {  // died while idle (killed from outside): the maintainer starts another
        cv_.notify_all();
        continue;
      }
      ++leased_;
      return w;
    }
    if (!start_error_.ok()) return start_error_;
    cv_.wait(g);
  }
}

void JqPool::Return(std::unique_ptr<WorkerProcess> w) {
  std::lock_guard<std::mutex> g(mu_);
  --leased_;
  if (w) idle_.push_back(std::move(w));
  cv_.notify_all();  // a waiting caller takes it, or the maintainer replaces a killed one
}

Result<json> JqPool::Submit(json job, CancelToken* cancel) {
  ST_ASSIGN_OR_RETURN(auto w, Lease());
  const int seq = w->NextSeq();
  job["seq"] = seq;
  job["cpu_ms"] = limits_.timeout_ms;
  job["max_output_bytes"] = limits_.max_output_bytes;
  std::atomic<int64_t> deadline{WorkerChannel::DeadlineIn(limits_.timeout_ms)};
  if (cancel) cancel->SetInterrupt([&deadline] { deadline = 1; });
  Status sent = w->channel().Send(job);
  auto answer = sent.ok() ? w->channel().Receive(&deadline) : Result<json>(sent);
  if (cancel) cancel->ClearInterrupt();
  if (answer.ok() && answer->value("seq", -1) == seq) {
    Return(std::move(w));
    if (answer->value("t", "") == "done") return std::move(*answer);
    const std::string kind = answer->value("kind", "");
    const std::string message = answer->value("message", "the jq program failed");
    if (kind == "internal") return Status::Internal(message);
    return Status::InvalidArgument(message);
  }
  // The program did not answer: past its deadline, cancelled, or its worker died. Kill it (a
  // worker mid-program is never reused) and say which.
  bool timed_out = !answer.ok() && answer.status().code() == StatusCode::kTimeout;
  if (timed_out) kill(w->pid(), SIGKILL);
  std::string how = w->End();
  Return(nullptr);
  if (cancel && cancel->cancelled()) return Status::Cancelled("the jq program was cancelled");
  if (timed_out) {
    return Status::Timeout(
        fmt::format("the jq program ran longer than its time limit of {} ms and was stopped "
                    "(SUPERTABLE_JQ_TIMEOUT_MS)",
                    limits_.timeout_ms));
  }
  if (how.find(fmt::format("code {}", kJqOutOfMemoryExit)) != std::string::npos ||
      how.find("SIGABRT") != std::string::npos || how.find("SIGSEGV") != std::string::npos) {
    return Status::ResourceExhausted(
        fmt::format("the jq program used more than its memory limit of {} MB and was stopped "
                    "(SUPERTABLE_JQ_MEMORY_MB)",
                    limits_.memory_bytes >> 20));
  }
  if (how.find("SIGXCPU") != std::string::npos) {
    return Status::ResourceExhausted(
        fmt::format("the jq program used more than its CPU time limit of {} ms and was stopped",
                    limits_.timeout_ms));
  }
  return Status::Internal(fmt::format("the jq worker {} while running the program", how));
}

Result<json> JqPool::Run(const std::string& program, const std::string& input, const json& vars,
                         CancelToken* cancel) {
  json job = {{"t", "run"}, {"program", program}, {"vars", vars}, {"input", input}};
  ST_ASSIGN_OR_RETURN(json done, Submit(std::move(job), cancel));
  try {
    return json::parse(done.value("output", "[]"));
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("the jq worker answered malformed output: {}", e.what()));
  }
}

Status JqPool::Compile(const std::string& program, const json& vars) {
  auto r = Submit({{"t", "compile"}, {"program", program}, {"vars", vars}}, nullptr);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace supertable::library

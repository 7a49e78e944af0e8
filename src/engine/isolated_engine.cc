// The server's side of engine workers: the pool, the leases, and the supervision of each
// operation (deadlines, cancels, crashes).
#include "engine/isolated_engine.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/log.h"
#include "engine/worker_channel.h"
#include "engine/worker_codec.h"
#include "engine/worker_process.h"
#include "storage/object_cache.h"

namespace supertable {

namespace {

using nlohmann::json;

WorkerCommand& TheDefaultCommand() {
  static WorkerCommand c;
  return c;
}

// Starts an engine worker and waits for it to be ready.
Result<std::unique_ptr<WorkerProcess>> StartEngineWorker(const EngineOptions& o, bool confined,
                                                         bool warm) {
  ST_ASSIGN_OR_RETURN(auto w, WorkerProcess::Start(o.worker_command, nullptr, "engine worker"));
  w->confined = confined;
  json hello = {
      {"t", "hello"}, {"options", EngineOptionsToJson(o)}, {"confined", confined}, {"warm", warm}};
  std::atomic<int64_t> deadline{WorkerChannel::DeadlineIn(30000)};
  Status sent = w->channel().Send(hello);
  auto ready = sent.ok() ? w->channel().Receive(&deadline) : Result<json>(sent);
  if (!ready.ok()) {
    return Status::IoError(
        fmt::format("the engine worker {} did not start: it {}", o.worker_command[0], w->End()));
  }
  if (ready->value("t", "") == "error") {
    try {
      return StatusFromJson(ready->at("status"));
    } catch (const std::exception&) {
    }
  }
  if (ready->value("t", "") != "ready") return Status::Internal("the engine worker did not start");
  return w;
}

// One field of a worker's "done" answer, decoded; a malformed one is this side's error.
template <typename Decode>
auto DecodeAnswer(const json& done, const char* field, Decode decode)
    -> Result<decltype(decode(done))> {
  try {
    return decode(done.at(field));
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("malformed engine worker answer: {}", e.what()));
  }
}

class IsolatedEngine : public Engine {
 public:
  explicit IsolatedEngine(const EngineOptions& options) : options_(options) {
    options_.max_concurrent_queries = std::max(1, options_.max_concurrent_queries);
    options_.max_queued_queries = std::max(0, options_.max_queued_queries);
    if (options_.memory_limit.empty()) {
      // DuckDB's default is 80% of the machine for each instance; the workers share one machine.
      long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
      if (pages > 0 && page > 0) {
        int64_t mb = static_cast<int64_t>(pages) * page / (1 << 20) * 8 / 10 /
                     options_.max_concurrent_queries;
        options_.memory_limit = fmt::format("{}MB", std::max<int64_t>(mb, 256));
      }
    }
    maintainer_ = std::thread([this] { MaintainLoop(); });
  }
  ~IsolatedEngine() override {
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (maintainer_.joinable()) maintainer_.join();
    // Operations still in flight see their channels close and report it.
    std::lock_guard<std::mutex> g(mu_);
    for (WorkerProcess* w : busy_) kill(w->pid(), SIGKILL);
    for (auto& w : idle_) w->Abandon();
  }

  Result<WriteOutcome> PrepareWrite(const WriteSpec& spec) override;
  Result<std::vector<StagedDataFile>> RewriteFiles(
      const Snapshot& snapshot, const std::vector<DataFile>& files,
      const std::function<std::string(const std::string&)>& read_path,
      const std::string& staging_dir, int64_t target_file_bytes) override;
  Result<QueryStats> Query(const QuerySpec& spec, ResultSink& sink) override;
  void Prestart() override;
  Status CheckRowFilter(const std::string& filter) override;

 private:
  // What the server answers for while a worker runs an operation.
  struct Handlers {
    const TableResolver* resolve = nullptr;
    ResultSink* sink = nullptr;
    const ProgressFn* progress = nullptr;
  };
  // A leased worker; returned to the pool when healthy, else ended and replaced.
  struct Lease {
    IsolatedEngine* engine = nullptr;
    std::unique_ptr<WorkerProcess> worker;
    bool broken = false;
    ~Lease() {
      if (engine) engine->Release(std::move(worker), broken);
    }
  };

  // Waits for a free worker. Queries (queued = true) may wait `wait_ms` among at most
  // max_queued_queries others; writes wait without limit.
  // Queries get a confined worker, writes and rewrites (which read input files) one that is not.
  Status Acquire(Lease* lease, bool queued, int64_t wait_ms, bool confined);
  void Release(std::unique_ptr<WorkerProcess> w, bool broken);
  // Sends `request` and answers the worker's messages until it is done. A failure of the
  // channel (the worker died, or the deadline passed) marks the lease broken.
  Result<json> Exchange(Lease& lease, const json& request, const Handlers& h,
                        const std::atomic<int64_t>* deadline);
  // Starts the workers Acquire waits for, and after Prestart keeps
  // `options_.max_concurrent_queries` of them in existence.
  void MaintainLoop();
  int Idle(bool confined) const {
    return static_cast<int>(std::count_if(idle_.begin(), idle_.end(),
                                          [&](const auto& w) { return w->confined == confined; }));
  }
  int Existing() const {
    return static_cast<int>(idle_.size()) + (leased_ - wanted_[0] - wanted_[1]) + spawning_[0] +
           spawning_[1];
  }
  // The kind of worker to start next, if one is needed: first for waiting requests, then, after
  // Prestart, confined ones (for queries) until the pool is full.
  std::optional<bool> StartNeeded() const {
    for (bool c : {true, false}) {
      if (wanted_[c] > Idle(c) + spawning_[c]) return c;
    }
    if (prestart_ && Existing() < options_.max_concurrent_queries) return true;
    return std::nullopt;
  }

  EngineOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<WorkerProcess>> idle_;
  std::set<WorkerProcess*> busy_;
  int leased_ = 0;   // workers out on a lease, or being started for one
  int waiting_ = 0;  // queries waiting for a lease
  bool prestart_ = false;
  bool stopping_ = false;
  int wanted_[2] = {0, 0};    // Acquire calls waiting for a worker, by kind (confined or not)
  int spawning_[2] = {0, 0};  // workers being started, by kind
  int64_t start_failures_ = 0;
  Status last_start_error_;
  std::thread maintainer_;
};

Status IsolatedEngine::Acquire(Lease* lease, bool queued, int64_t wait_ms, bool confined) {
  std::unique_lock<std::mutex> lk(mu_);
  const int limit = options_.max_concurrent_queries;
  if (leased_ >= limit) {
    if (queued && waiting_ >= options_.max_queued_queries) {
      return Status::Timeout(
          fmt::format("busy: {} queries are running and {} are waiting; retry shortly (limits: "
                      "SUPERTABLE_MAX_CONCURRENT_QUERIES, SUPERTABLE_QUERY_QUEUE)",
                      leased_, waiting_));
    }
    if (queued) ++waiting_;
    auto free = [&] { return leased_ < limit; };
    bool got = true;
    if (queued) {
      int64_t ms = wait_ms > 0 ? wait_ms : 3600000;
      got = cv_.wait_for(lk, std::chrono::milliseconds(ms), free);
      --waiting_;
      if (!got) {
        return Status::Timeout(
            fmt::format("busy: no query slot became free within {} ms; retry shortly", ms));
      }
    } else {
      cv_.wait(lk, free);
    }
  }
  ++leased_;
  lease->engine = this;
  const int64_t failures_before = start_failures_;
  for (;;) {
    for (auto it = idle_.end(); it != idle_.begin() && !lease->worker;) {
      --it;
      if ((*it)->confined != confined) continue;
      std::unique_ptr<WorkerProcess> w = std::move(*it);
      it = idle_.erase(it);
      if (w->Alive()) lease->worker = std::move(w);
    }
    if (lease->worker) break;
    // The pool is full of the other kind: one of those makes room. (Existing() counts this
    // lease as holding a worker already, which is the one about to be started.)
    if (Existing() > options_.max_concurrent_queries) {
      auto other = std::find_if(idle_.begin(), idle_.end(),
                                [&](const auto& w) { return w->confined != confined; });
      if (other != idle_.end()) {
        std::unique_ptr<WorkerProcess> evicted = std::move(*other);
        idle_.erase(other);
        // Reaping takes a moment; not under the pool's lock.
        lk.unlock();
        evicted.reset();
        lk.lock();
        continue;
      }
    }
    if (stopping_) return Status::Cancelled("the engine is shutting down");
    if (start_failures_ != failures_before) return last_start_error_;
    // Workers are started by the maintainer thread only: PR_SET_PDEATHSIG ties a worker's life
    // to the thread that started it, and request threads come and go.
    ++wanted_[confined];
    cv_.notify_all();
    cv_.wait(lk,
             [&] { return Idle(confined) > 0 || stopping_ || start_failures_ != failures_before; });
    --wanted_[confined];
  }
  busy_.insert(lease->worker.get());
  return Status::Ok();
}

void IsolatedEngine::Release(std::unique_ptr<WorkerProcess> w, bool broken) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (w) busy_.erase(w.get());
    --leased_;
    if (w && !broken && !stopping_) idle_.push_back(std::move(w));
  }
  // Outside the lock: reaping a killed worker may take a moment.
  if (w) w->End();
  cv_.notify_all();
}

void IsolatedEngine::Prestart() {
  {
    std::lock_guard<std::mutex> g(mu_);
    prestart_ = true;
  }
  cv_.notify_all();
}

void IsolatedEngine::MaintainLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  int streak = 0;  // failed starts in a row
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || StartNeeded().has_value(); });
    if (stopping_) return;
    const bool confined = *StartNeeded();
    ++spawning_[confined];
    // A worker started ahead of need opens its query instance now; one a request waits for
    // does so when it runs the request.
    bool warm = confined && wanted_[confined] == 0;
    lk.unlock();
    auto w = StartEngineWorker(options_, confined, warm);
    lk.lock();
    --spawning_[confined];
    if (stopping_) return;
    if (w.ok()) {
      streak = 0;
      idle_.push_back(std::move(*w));
      cv_.notify_all();
      continue;
    }
    ++start_failures_;
    last_start_error_ = w.status();
    cv_.notify_all();
    // A worker that cannot start (a bad setting, no memory) is reported once per streak to the
    // log; each waiting request gets the error. Ahead of need, retry with back-off.
    if (streak++ == 0) log::Warn("cannot start an engine worker: {}", w.status().message());
    if (wanted_[0] + wanted_[1] == 0) {
      cv_.wait_for(lk, std::chrono::seconds(std::min(30, 1 << std::min(streak, 5))),
                   [&] { return stopping_ || wanted_[0] + wanted_[1] > 0; });
    }
  }
}

Result<json> IsolatedEngine::Exchange(Lease& lease, const json& request, const Handlers& h,
                                      const std::atomic<int64_t>* deadline) {
  WorkerChannel& ch = lease.worker->channel();
  auto broken = [&](Status s) -> Result<json> {
    lease.broken = true;
    return s;
  };
  if (Status s = ch.Send(request); !s.ok()) return broken(s);
  std::vector<json> row;
  for (;;) {
    auto m = ch.Receive(deadline);
    if (!m.ok()) return broken(m.status());
    try {
      const std::string t = m->at("t").get<std::string>();
      // Result parts ride on "rows" and on "done" (engine_worker.cc, ForwardingSink).
      if ((t == "rows" || t == "done") && h.sink) {
        if (m->contains("columns")) h.sink->Begin(ColumnsFromJson(m->at("columns")));
        if (m->contains("rows")) {
          for (auto& r : m->at("rows")) {
            row.assign(std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
            h.sink->Row(row);
          }
        }
        if (m->contains("truncated")) h.sink->End(m->at("truncated").get<bool>());
      }
      if ((t == "done" || t == "error") && m->contains("cache") && options_.object_cache) {
        const json& c = m->at("cache");
        options_.object_cache->AddWorkerTraffic(
            {c.at("remote_requests").get<int64_t>(), c.at("remote_bytes").get<int64_t>(),
             c.at("cache_bytes").get<int64_t>(), c.at("resident_bytes").get<int64_t>()});
      }
      if (t == "done") return std::move(*m);
      if (t == "error") return StatusFromJson(m->at("status"));
      if (t == "rows" && h.sink) continue;
      if (t == "resolve" && h.resolve) {
        auto r = (*h.resolve)(TableNameFromJson(m->at("name")));
        json answer = r.ok() ? json{{"t", "resolved"}, {"table", ResolvedTableToJson(*r)}}
                             : json{{"t", "error"}, {"status", StatusToJson(r.status())}};
        if (Status s = ch.Send(answer); !s.ok()) return broken(s);
      } else if (t == "progress") {
        // Sent whenever DuckDB reports progress, whether or not the caller asked for it.
        if (h.progress && *h.progress) (*h.progress)(m->at("f").get<double>());
      } else {
        return broken(Status::Internal(fmt::format("the engine worker sent '{}' unasked", t)));
      }
    } catch (const std::exception& e) {
      return broken(Status::Internal(fmt::format("malformed engine worker message: {}", e.what())));
    }
  }
}

Result<QueryStats> IsolatedEngine::Query(const QuerySpec& spec, ResultSink& sink) {
  const int64_t start_ns = WorkerChannel::NowNs();
  Lease lease;
  ST_RETURN_IF_ERROR(Acquire(&lease, /*queued=*/true, spec.timeout_ms, /*confined=*/true));
  // The time spent waiting for a worker counts against the query's limit.
  int64_t remaining_ms = 0;
  if (spec.timeout_ms > 0) {
    remaining_ms =
        std::max<int64_t>(1, spec.timeout_ms - (WorkerChannel::NowNs() - start_ns) / 1000000);
  }
  std::atomic<int64_t> deadline{
      remaining_ms > 0 ? WorkerChannel::DeadlineIn(remaining_ms + options_.kill_grace_ms) : 0};
  const pid_t pid = lease.worker->pid();
  const int seq = lease.worker->NextSeq();
  const int64_t grace_ms = options_.kill_grace_ms;
  if (spec.cancel) {
    spec.cancel->SetInterrupt([pid, seq, grace_ms, &deadline] {
      sigval v{};
      v.sival_int = seq;
      sigqueue(pid, SIGUSR1, v);
      // A cancel is a deadline too: the worker gets the grace period to stop by itself.
      int64_t by = WorkerChannel::DeadlineIn(grace_ms), cur = deadline.load();
      while ((cur == 0 || cur > by) && !deadline.compare_exchange_weak(cur, by)) {
      }
    });
  }
  struct ClearCancel {
    CancelToken* t;
    ~ClearCancel() {
      if (t) t->ClearInterrupt();
    }
  } clear_cancel{spec.cancel};
  QuerySpec sent = spec;
  sent.timeout_ms = remaining_ms;
  Handlers h;
  h.resolve = &spec.resolve;
  h.sink = &sink;
  auto r = Exchange(lease, {{"t", "query"}, {"spec", QuerySpecToJson(sent)}, {"seq", seq}}, h,
                    &deadline);
  if (lease.broken) {
    std::string how = lease.worker->End();
    if (spec.cancel && spec.cancel->cancelled())
      return Status::Cancelled("the query was cancelled");
    if (r.status().code() == StatusCode::kTimeout) return QueryTimeoutError(spec.timeout_ms);
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stopping_) return Status::Cancelled("the server is stopping; the query was ended");
    }
    return Status::Internal(fmt::format(
        "the engine worker running this query {} ({}); nothing else was affected. This is a "
        "failure inside DuckDB on this query: simplify it (fewer columns, expressions or nesting) "
        "and retry",
        how, r.status().message()));
  }
  // The worker's own watchdog counted from when it got the query; the limit is the caller's.
  if (r.status().code() == StatusCode::kTimeout) return QueryTimeoutError(spec.timeout_ms);
  ST_RETURN_IF_ERROR(r.status());
  return DecodeAnswer(*r, "stats", QueryStatsFromJson);
}

Result<WriteOutcome> IsolatedEngine::PrepareWrite(const WriteSpec& spec) {
  Lease lease;
  ST_RETURN_IF_ERROR(Acquire(&lease, /*queued=*/false, 0, /*confined=*/false));
  Handlers h;
  h.progress = &spec.progress;
  auto r = Exchange(lease, {{"t", "write"}, {"spec", WriteSpecToJson(spec)}}, h, nullptr);
  if (lease.broken) {
    return Status::InvalidArgument(fmt::format(
        "reading {} stopped the engine worker: it {} ({}); nothing was written. DuckDB cannot "
        "read this file: check that it is well-formed, or split it",
        spec.input_path, lease.worker->End(), r.status().message()));
  }
  ST_RETURN_IF_ERROR(r.status());
  return DecodeAnswer(*r, "outcome", WriteOutcomeFromJson);
}

Result<std::vector<StagedDataFile>> IsolatedEngine::RewriteFiles(
    const Snapshot& snapshot, const std::vector<DataFile>& files,
    const std::function<std::string(const std::string&)>& /*read_path: the worker's own*/,
    const std::string& staging_dir, int64_t target_file_bytes) {
  Lease lease;
  ST_RETURN_IF_ERROR(Acquire(&lease, /*queued=*/false, 0, /*confined=*/false));
  json jf = json::array();
  for (const auto& f : files) jf.push_back(DataFileToJson(f));
  auto r = Exchange(lease,
                    {{"t", "rewrite"},
                     {"snapshot", snapshot.ToJson()},
                     {"files", std::move(jf)},
                     {"staging_dir", staging_dir},
                     {"target_file_bytes", target_file_bytes}},
                    {}, nullptr);
  if (lease.broken) {
    return Status::Internal(
        fmt::format("the engine worker rewriting files {} ({}); nothing was written",
                    lease.worker->End(), r.status().message()));
  }
  ST_RETURN_IF_ERROR(r.status());
  return DecodeAnswer(*r, "files", StagedDataFilesFromJson);
}

Status IsolatedEngine::CheckRowFilter(const std::string& filter) {
  Lease lease;
  ST_RETURN_IF_ERROR(Acquire(&lease, /*queued=*/false, 0, /*confined=*/true));
  auto r = Exchange(lease, {{"t", "check_row_filter"}, {"filter", filter}}, {}, nullptr);
  if (lease.broken) {
    return Status::Internal(fmt::format("the engine worker checking a row filter {} ({})",
                                        lease.worker->End(), r.status().message()));
  }
  return r.status();
}

std::atomic<InProcessEngineFactory> g_in_process{nullptr};

}  // namespace

void SetInProcessEngineFactory(InProcessEngineFactory factory) { g_in_process = factory; }

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  if (!options.worker_command.empty()) return OpenIsolatedEngine(options);
  if (InProcessEngineFactory f = g_in_process.load()) return f(options);
  return Status::Internal(
      "no engine worker command is set and this program has no in-process engine");
}

void SetDefaultEngineWorkerCommand(std::vector<std::string> argv) {
  TheDefaultCommand().Set(std::move(argv));
}

std::vector<std::string> DefaultEngineWorkerCommand() { return TheDefaultCommand().Get(); }

Status QueryTimeoutError(int64_t timeout_ms) {
  return Status::Timeout(
      fmt::format("the query ran longer than its time limit of {} ms and was stopped; narrow it "
                  "(filters, LIMIT) or raise the timeout",
                  timeout_ms));
}

Result<std::unique_ptr<Engine>> OpenIsolatedEngine(const EngineOptions& options) {
  if (options.worker_command.empty()) {
    return Status::Internal("an isolated engine needs a worker command");
  }
  return std::unique_ptr<Engine>(std::make_unique<IsolatedEngine>(options));
}

}  // namespace supertable

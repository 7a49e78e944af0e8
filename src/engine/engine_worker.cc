// The engine worker's main loop: one request at a time on an in-process Engine.
#include "engine/engine_worker.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"
#include "engine/engine.h"
#include "engine/worker_channel.h"
#include "engine/worker_codec.h"
#include "engine/worker_confinement.h"
#include "storage/object_cache.h"
#include "storage/object_store.h"
#include "storage/remote_object_store.h"

namespace supertable {

namespace {

using nlohmann::json;

// The query a cancel signal is for: its seq and its token, while it runs.
std::mutex g_cancel_mu;
int g_running_seq = -1;
CancelToken* g_running_token = nullptr;

// Waits for SIGUSR1 (blocked in every thread, so only sigwaitinfo sees it) and cancels the
// running query if the signal names it; a late signal for a finished query does nothing.
void CancelSignalLoop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  for (;;) {
    siginfo_t info;
    if (sigwaitinfo(&set, &info) < 0) continue;
    std::lock_guard<std::mutex> g(g_cancel_mu);
    if (g_running_token && info.si_value.sival_int == g_running_seq) g_running_token->Cancel();
  }
}

// Rows go to the server in batches of about kBatchBytes, so a large result is a stream of
// modest messages. The columns ride with the first batch and the last batch with the query's
// "done", so a small result costs the server one message to read.
class ForwardingSink : public ResultSink {
 public:
  explicit ForwardingSink(WorkerChannel& ch) : ch_(ch) {}
  void Begin(const std::vector<Column>& columns) override { columns_ = ColumnsToJson(columns); }
  void Row(const std::vector<json>& cells) override {
    for (const auto& c : cells)
      bytes_ += c.is_string() ? c.get_ref<const std::string&>().size() : 8;
    batch_.push_back(cells);
    if (bytes_ >= kBatchBytes || batch_.size() >= 4096) {
      json m = {{"t", "rows"}};
      Take(m);
      if (status_.ok()) status_ = ch_.Send(m);
    }
  }
  void End(bool truncated) override { truncated_ = truncated; }
  // Moves what the server has not seen yet (columns, rows, the end) into `m`.
  void Take(json& m) {
    if (!columns_.is_null()) m["columns"] = std::move(columns_);
    columns_ = nullptr;
    if (!batch_.empty()) m["rows"] = std::move(batch_);
    batch_ = json::array();
    bytes_ = 0;
  }
  void TakeEnd(json& m) {
    Take(m);
    if (truncated_) m["truncated"] = *truncated_;
  }
  // The first failure to send: the server is gone, so the rest of the query is moot.
  const Status& status() const { return status_; }

 private:
  static constexpr size_t kBatchBytes = 1 << 20;
  WorkerChannel& ch_;
  json columns_;
  json batch_ = json::array();
  size_t bytes_ = 0;
  std::optional<bool> truncated_;
  Status status_;
};

class Worker {
 public:
  explicit Worker(int fd) : ch_(fd) {}

  int Run() {
    auto hello = ch_.Receive();
    if (!hello.ok()) return 1;
    Status st = Open(*hello);
    if (!st.ok()) {
      (void)ch_.Send({{"t", "error"}, {"status", StatusToJson(st)}});
      return 1;
    }
    if (!ch_.Send({{"t", "ready"}}).ok()) return 1;
    for (;;) {
      auto req = ch_.Receive();
      if (!req.ok()) return 0;  // the server closed its end: nothing more to do
      const ObjectCacheStats before = cache_ ? cache_->stats() : ObjectCacheStats{};
      Result<json> answer = [&]() -> Result<json> {
        try {
          return Handle(*req);
        } catch (const std::exception& e) {
          return Status::Internal(fmt::format("malformed engine request: {}", e.what()));
        }
      }();
      json reply =
          answer.ok() ? *answer : json{{"t", "error"}, {"status", StatusToJson(answer.status())}};
      // The server's ObjectCache counts the workers' traffic (its `info`, the benchmarks).
      if (cache_) {
        ObjectCacheStats now = cache_->stats();
        reply["cache"] = {{"remote_requests", now.remote_requests - before.remote_requests},
                          {"remote_bytes", now.remote_bytes - before.remote_bytes},
                          {"cache_bytes", now.cache_bytes - before.cache_bytes},
                          {"resident_bytes", now.resident_bytes}};
      }
      if (!ch_.Send(reply).ok()) return 0;
    }
  }

 private:
  Status Open(const json& hello) {
    EngineOptions o;
    try {
      o = EngineOptionsFromJson(hello.at("options"));
    } catch (const std::exception& e) {
      return Status::Internal(fmt::format("malformed engine worker hello: {}", e.what()));
    }
    ST_ASSIGN_OR_RETURN(store_, OpenObjectStore(o.storage_type, o.home));
    if (auto* remote = dynamic_cast<RemoteObjectStore*>(store_.get())) {
      cache_ = std::make_unique<ObjectCache>(remote, remote->Describe(), o.home + "/cache",
                                             o.cache_max_bytes);
      o.object_cache = cache_.get();
    }
    if (hello.value("confined", false)) {
      // Directories DuckDB would create later must exist before the domain is entered: their
      // parent (the home) is outside it.
      // So is the organization's data directory, which its first write would create: a
      // worker started before that (a server prestarts them) must still read it afterwards.
      std::error_code ec;
      std::filesystem::create_directories(o.temp_directory, ec);
      for (const auto& d : o.readable_directories) {
        if (!d.empty() && d[0] == '/') std::filesystem::create_directories(d, ec);
      }
      ST_ASSIGN_OR_RETURN(bool confined,
                          ConfineProcess(QueryWorkerConfinement(
                              o.readable_directories, o.temp_directory, o.home + "/cache")));
      if (!confined) log::Debug("engine worker: this kernel has no Landlock; not confined");
    }
    // Threads only now, inside the domain (if any): a Landlock domain does not reach threads
    // that already run.
    std::thread(CancelSignalLoop).detach();
    ST_ASSIGN_OR_RETURN(engine_, OpenDuckEngine(o));
    if (hello.value("warm", false)) Warm();
    return Status::Ok();
  }

  // Opens the query instance now, so the first query does not pay for it.
  void Warm() {
    struct NullSink : ResultSink {
      void Begin(const std::vector<Column>&) override {}
      void Row(const std::vector<json>&) override {}
      void End(bool) override {}
    } sink;
    QuerySpec spec;
    spec.sql = "SELECT 1";
    spec.resolve = [](const TableName&) -> Result<ResolvedTable> {
      return Status::NotFound("no tables while warming up");
    };
    (void)engine_->Query(spec, sink);
  }

  // A snapshot lists its files' sizes: the object cache need not ask the store (a HEAD each).
  void NoteSizes(const Snapshot& snap) {
    if (!cache_) return;
    for (const auto& f : snap.files) cache_->NoteSize(f.key, f.bytes);
  }

  std::function<std::string(const std::string&)> ReadPath() {
    return [this](const std::string& key) { return store_->ReadPath(key); };
  }

  Result<json> Handle(const json& req) {
    const std::string t = req.at("t").get<std::string>();
    if (t == "query") return RunQuery(req);
    if (t == "write") {
      std::optional<Snapshot> base;
      WriteSpec spec = WriteSpecFromJson(req.at("spec"), &base);
      if (base) NoteSizes(*base);
      spec.read_path = ReadPath();
      spec.progress = [this](double f) { (void)ch_.Send({{"t", "progress"}, {"f", f}}); };
      ST_ASSIGN_OR_RETURN(WriteOutcome out, engine_->PrepareWrite(spec));
      return json{{"t", "done"}, {"outcome", WriteOutcomeToJson(out)}};
    }
    if (t == "check_row_filter") {
      ST_RETURN_IF_ERROR(engine_->CheckRowFilter(req.at("filter").get<std::string>()));
      return json{{"t", "done"}};
    }
    if (t == "rewrite") {
      auto snap = Snapshot::FromJson(req.at("snapshot").get<std::string>());
      ST_RETURN_IF_ERROR(snap.status());
      NoteSizes(*snap);
      std::vector<DataFile> files;
      for (const auto& f : req.at("files")) files.push_back(DataFileFromJson(f));
      ST_ASSIGN_OR_RETURN(
          auto staged,
          engine_->RewriteFiles(*snap, files, ReadPath(), req.at("staging_dir").get<std::string>(),
                                req.at("target_file_bytes").get<int64_t>()));
      return json{{"t", "done"}, {"files", StagedDataFilesToJson(staged)}};
    }
    return Status::Internal(fmt::format("unknown engine request '{}'", t));
  }

  Result<json> RunQuery(const json& req) {
    QuerySpec spec;
    QuerySpecFromJson(req.at("spec"), &spec);
    spec.read_path = ReadPath();
    spec.resolve = [this](const TableName& name) -> Result<ResolvedTable> {
      ST_RETURN_IF_ERROR(ch_.Send({{"t", "resolve"}, {"name", TableNameToJson(name)}}));
      ST_ASSIGN_OR_RETURN(json answer, ch_.Receive());
      if (answer.at("t") == "error") return StatusFromJson(answer.at("status"));
      ResolvedTable table = ResolvedTableFromJson(answer.at("table"));
      if (!table.snapshot) {
        ST_ASSIGN_OR_RETURN(table.snapshot, snapshots_.Get(table.snapshot_key, [&] {
          return store_->Get(table.snapshot_key);
        }));
      }
      NoteSizes(*table.snapshot);
      return table;
    };
    CancelToken token;
    spec.cancel = &token;
    {
      std::lock_guard<std::mutex> g(g_cancel_mu);
      g_running_seq = req.at("seq").get<int>();
      g_running_token = &token;
    }
    ForwardingSink sink(ch_);
    auto stats = engine_->Query(spec, sink);
    {
      std::lock_guard<std::mutex> g(g_cancel_mu);
      g_running_token = nullptr;
      g_running_seq = -1;
    }
    ST_RETURN_IF_ERROR(sink.status());
    ST_RETURN_IF_ERROR(stats.status());
    json done = {{"t", "done"}, {"stats", QueryStatsToJson(*stats)}};
    sink.TakeEnd(done);
    return done;
  }

  WorkerChannel ch_;
  std::unique_ptr<ObjectStore> store_;
  SnapshotCache snapshots_;  // the snapshots of tables queries named, read by key
  std::unique_ptr<ObjectCache> cache_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace

int RunEngineWorker(int fd) {
  // Die with the server: a worker outliving it would hold files and memory for no one.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  // Nothing of the server's (listening sockets, catalog files) stays open here.
  close_range(static_cast<unsigned>(fd) + 1, ~0u, 0);
  // A crash must not write a core of someone's data to disk.
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(SIGPIPE, SIG_IGN);
  // Ctrl+C and the server's SIGTERM are the server's to handle: it stops its workers itself.
  signal(SIGINT, SIG_IGN);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, nullptr);  // before any thread starts, so all inherit it
  Worker worker(fd);
  int code = worker.Run();
  // DuckDB's threads need no orderly goodbye: the server is gone or done with us.
  _exit(code);
}

}  // namespace supertable

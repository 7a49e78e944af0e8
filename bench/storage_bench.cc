// The object-storage benchmark: a selective query over a table in an S3-compatible store (an
// s3rver this benchmark starts on a free loopback port), cold and warm, against the same table
// on local disk, in one run; and how many bytes each query fetched against the table's size.
//
// cold  a new process's first query: empty local cache, empty DuckDB memory
// warm  a new process over a filled local cache (DuckDB's memory empty again)
// hot   the same process again (DuckDB's in-memory file cache serves it)
// local the same table on LOCAL storage: a new process's first query (the baseline of cold and
//       warm) and its second (the baseline of hot)
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "bench_util.h"
#include "benches.h"
#include "common/net.h"
#include "common/process.h"
#include "duck_session.h"
#include "storage/object_cache.h"

namespace supertable::bench {

namespace {

constexpr const char* kSuper = "storage";
constexpr const char* kSelective =
    "SELECT count(*), sum(amount) FROM events WHERE id BETWEEN {} AND {}";
constexpr const char* kOneColumn = "SELECT sum(amount) FROM events";

// s3rver from tests/storage's npm packages, stopped when this object goes.
class S3rver {
 public:
  explicit S3rver(const std::string& data_dir) : port_(FreeLoopbackPort()) {
    pid_ = SpawnQuiet(
        {"node", "--openssl-legacy-provider",
         std::string(SUPERTABLE_SOURCE_DIR) + "/tests/storage/node_modules/s3rver/bin/s3rver.js",
         "-s", "-a", "127.0.0.1", "-p", std::to_string(port_), "-d", data_dir});
  }
  ~S3rver() { StopProcess(&pid_, SIGTERM); }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_;
};

struct Run {
  double ms = 0;
  ObjectCacheStats fetched;
};

// Runs `sql` once on `w`, with the bytes its cache fetched during the run.
Result<Run> TimeOnce(Warehouse& w, const std::string& sql) {
  ObjectCacheStats before = w.object_cache() ? w.object_cache()->stats() : ObjectCacheStats{};
  CollectSink sink;
  Stopwatch sw;
  ST_RETURN_IF_ERROR(w.Query(QueryRequest(kSuper, sql), sink).status());
  Run r;
  r.ms = sw.Seconds() * 1e3;
  if (w.object_cache()) {
    ObjectCacheStats after = w.object_cache()->stats();
    r.fetched.remote_bytes = after.remote_bytes - before.remote_bytes;
    r.fetched.remote_requests = after.remote_requests - before.remote_requests;
  }
  return r;
}

Result<int> StorageRun(const StorageOptions& o) {
  ST_ASSIGN_OR_RETURN(TempDir work, TempDir::Create("storage"));
  S3rver s3(work.Join("s3"));
  // The store's settings are read from the environment, as a deployment would set them.
  setenv("STORAGE_ENDPOINT_URL", fmt::format("http://127.0.0.1:{}", s3.port()).c_str(), 1);
  setenv("STORAGE_ACCESS_KEY", "S3RVER", 1);
  setenv("STORAGE_SECRET_KEY", "S3RVER", 1);
  setenv("STORAGE_BUCKET", "bench", 1);
  for (int i = 0; i < 200 && !LoopbackPortAccepts(s3.port()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // The input: `rows` events in id order (as time-ordered data arrives), so row-group
  // statistics on id let a selective query skip most of the file.
  std::string input = work.Join("events.parquet");
  {
    ST_ASSIGN_OR_RETURN(auto duck, DuckSession::Open({}));
    Progress p("generate events");
    ST_RETURN_IF_ERROR(duck->Run(
        fmt::format("COPY (SELECT i AS id, hash(i) % 100000 AS customer, "
                    "(hash(i * 7) % 100000) / 100.0 AS amount, "
                    "['new','paid','shipped','returned'][(1 + hash(i * 3) % 4)::BIGINT] AS status, "
                    "md5(i::VARCHAR) AS note FROM range({}) t(i)) TO '{}' (FORMAT parquet)",
                    o.rows, input),
        p.Fn()));
  }

  ST_ASSIGN_OR_RETURN(Config local_config, BenchConfig(work.Join("local")));
  ST_ASSIGN_OR_RETURN(Config remote_config, BenchConfig(work.Join("remote")));
  remote_config.storage_type = "MINIO";
  int64_t table_bytes = 0;
  for (Config* c : {&local_config, &remote_config}) {
    ST_ASSIGN_OR_RETURN(auto w, Warehouse::Open(*c));
    WriteRequest req;
    req.input_path = input;
    Progress p(fmt::format("ingest into {}", c->storage_type));
    req.progress = p.Fn();
    ST_RETURN_IF_ERROR(w->Write(w->Ref(kSuper, "events"), req).status());
    ST_ASSIGN_OR_RETURN(Snapshot snap, w->LoadSnapshot(w->Ref(kSuper, "events")));
    table_bytes = snap.total_bytes();
  }
  const int64_t mid = o.rows / 2;
  const std::string selective = fmt::format(kSelective, mid, mid + 999);
  Note("storage: {} rows, {} in the table; {} runs each", FormatCount(o.rows),
       FormatBytes(table_bytes), o.runs);

  struct Figures {
    std::vector<double> cold, warm, hot, local, local_hot;
    ObjectCacheStats cold_fetch, warm_fetch;
  };
  auto measure = [&](const std::string& sql) -> Result<Figures> {
    Figures f;
    for (int i = 0; i < o.runs; ++i) {
      std::filesystem::remove_all(remote_config.home + "/cache");
      {
        ST_ASSIGN_OR_RETURN(auto w, Warehouse::Open(remote_config));
        ST_ASSIGN_OR_RETURN(Run cold, TimeOnce(*w, sql));
        f.cold.push_back(cold.ms);
        f.cold_fetch = cold.fetched;
      }
      ST_ASSIGN_OR_RETURN(auto w, Warehouse::Open(remote_config));
      ST_ASSIGN_OR_RETURN(Run warm, TimeOnce(*w, sql));
      f.warm.push_back(warm.ms);
      f.warm_fetch = warm.fetched;
      ST_ASSIGN_OR_RETURN(Run hot, TimeOnce(*w, sql));
      f.hot.push_back(hot.ms);
      ST_ASSIGN_OR_RETURN(auto local, Warehouse::Open(local_config));
      ST_ASSIGN_OR_RETURN(Run l, TimeOnce(*local, sql));
      f.local.push_back(l.ms);
      ST_ASSIGN_OR_RETURN(Run lh, TimeOnce(*local, sql));
      f.local_hot.push_back(lh.ms);
    }
    return f;
  };
  ST_ASSIGN_OR_RETURN(Figures sel, measure(selective));
  ST_ASSIGN_OR_RETURN(Figures col, measure(kOneColumn));

  fmt::print(
      "\n## storage: {} rows ({}) in s3rver on loopback vs local disk, median of {} runs\n\n",
      FormatCount(o.rows), FormatBytes(table_bytes), o.runs);
  fmt::print("{:<34} {:>9} {:>9} {:>9} | {:>9} {:>9} | {:>12} {:>8} {:>9}\n", "query", "cold ms",
             "warm ms", "local ms", "hot ms", "local ms", "cold fetch", "of table", "requests");
  auto row = [&](const char* name, const Figures& f) {
    fmt::print("{:<34} {:>9.1f} {:>9.1f} {:>9.1f} | {:>9.1f} {:>9.1f} | {:>12} {:>7.1f}% {:>9}\n",
               name, Median(f.cold), Median(f.warm), Median(f.local), Median(f.hot),
               Median(f.local_hot), FormatBytes(f.cold_fetch.remote_bytes),
               100.0 * static_cast<double>(f.cold_fetch.remote_bytes) /
                   static_cast<double>(std::max<int64_t>(table_bytes, 1)),
               f.cold_fetch.remote_requests);
  };
  row("selective (1000 ids, 2 columns)", sel);
  row("one column, every row", col);
  fmt::print(
      "\nSelective query: cold is {:.1f}x the local time and fetched {:.2f}% of the table's "
      "bytes; warm (new process, local cache) is {:.2f}x local and fetched {}; hot (same process) "
      "is {:.2f}x local.\n",
      Median(sel.cold) / Median(sel.local),
      100.0 * static_cast<double>(sel.cold_fetch.remote_bytes) / static_cast<double>(table_bytes),
      Median(sel.warm) / Median(sel.local), FormatBytes(sel.warm_fetch.remote_bytes),
      Median(sel.hot) / Median(sel.local_hot));
  // Sanity: a warm run must fetch nothing, and the selective query must not read everything.
  if (sel.warm_fetch.remote_bytes != 0 || sel.cold_fetch.remote_bytes >= table_bytes) {
    Note("storage: unexpected fetch figures (warm {} B, cold {} B of {} B)",
         sel.warm_fetch.remote_bytes, sel.cold_fetch.remote_bytes, table_bytes);
    return 1;
  }
  return 0;
}

}  // namespace

int RunStorage(const StorageOptions& options) { return ExitCode(StorageRun(options), "storage"); }

}  // namespace supertable::bench

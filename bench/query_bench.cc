// Query benchmark. Part one: TPC-H-like analytic queries over a generated data set, run through
// Warehouse::Query (catalog lookups, snapshot pinning, the SQL guard, the sandboxed DuckDB
// instance with its per-query views, JSON-encoded result cells) and, as the baseline, by a plain
// DuckDB session over exactly the same Parquet data files, named through ordinary views. Same
// DuckDB build, thread count and memory limit: the ratio is what SuperTable's query path costs.
// Part two: the end-to-end latency of a tiny query, as a `supertable query` subprocess and in
// process, where fixed costs (process start, opening the warehouse, catalog reads) dominate.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "benches.h"
#include "compare.h"
#include "duck_session.h"
#include "engine/sql_text.h"
#include "table/warehouse.h"
#include "tpch_gen.h"

#ifndef SUPERTABLE_BIN
#error "SUPERTABLE_BIN (the path of the supertable CLI) must be defined by bench/CMakeLists.txt"
#endif

extern char** environ;

namespace supertable::bench {

namespace {

constexpr const char* kSuper = "tpch";
constexpr const char* kTinySuper = "tiny";
constexpr const char* kTinyTable = "small";
constexpr int64_t kTinyRows = 1000;
constexpr const char* kTinySql = "SELECT count(*), sum(x) FROM small";

const char* const kTables[] = {"region", "nation",   "supplier", "customer",
                               "part",   "lineitem", "orders"};

struct BenchQuery {
  const char* name;
  const char* title;
  const char* sql;
};

// The queries name tables plainly; SuperTable resolves them in the super "tpch", the baseline
// through views of the same names. Parameters are TPC-H's validation values.
const std::vector<BenchQuery>& Queries() {
  static const std::vector<BenchQuery> kQueries = {
      {"Q1", "pricing summary", R"(
SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty,
       sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
       avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc,
       count(*) AS count_order
FROM lineitem
WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL 90 DAY
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus)"},
      {"Q3", "shipping priority", R"(
SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate,
       o_shippriority
FROM customer, orders, lineitem
WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15'
GROUP BY l_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate, l_orderkey
LIMIT 10)"},
      {"Q4", "order priority checking", R"(
SELECT o_orderpriority, count(*) AS order_count
FROM orders
WHERE o_orderdate >= DATE '1993-07-01' AND o_orderdate < DATE '1993-10-01'
  AND EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate)
GROUP BY o_orderpriority
ORDER BY o_orderpriority)"},
      {"Q5", "local supplier volume", R"(
SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue
FROM customer, orders, lineitem, supplier, nation, region
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey
  AND c_nationkey = s_nationkey AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
  AND r_name = 'ASIA' AND o_orderdate >= DATE '1994-01-01' AND o_orderdate < DATE '1995-01-01'
GROUP BY n_name
ORDER BY revenue DESC)"},
      {"Q6", "forecasting revenue change", R"(
SELECT sum(l_extendedprice * l_discount) AS revenue
FROM lineitem
WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01'
  AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24)"},
      {"Q10", "returned item reporting", R"(
SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, c_acctbal, n_name,
       c_address, c_phone, c_comment
FROM customer, orders, lineitem, nation
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND o_orderdate >= DATE '1993-10-01'
  AND o_orderdate < DATE '1994-01-01' AND l_returnflag = 'R' AND c_nationkey = n_nationkey
GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
ORDER BY revenue DESC, c_custkey
LIMIT 20)"},
      {"Q12", "shipping modes", R"(
SELECT l_shipmode,
       sum(CASE WHEN o_orderpriority = '1-URGENT' OR o_orderpriority = '2-HIGH'
                THEN 1 ELSE 0 END) AS high_line_count,
       sum(CASE WHEN o_orderpriority <> '1-URGENT' AND o_orderpriority <> '2-HIGH'
                THEN 1 ELSE 0 END) AS low_line_count
FROM orders, lineitem
WHERE o_orderkey = l_orderkey AND l_shipmode IN ('MAIL', 'SHIP')
  AND l_commitdate < l_receiptdate AND l_shipdate < l_commitdate
  AND l_receiptdate >= DATE '1994-01-01' AND l_receiptdate < DATE '1995-01-01'
GROUP BY l_shipmode
ORDER BY l_shipmode)"},
      {"Q13", "customer distribution", R"(
SELECT c_count, count(*) AS custdist
FROM (SELECT c_custkey, count(o_orderkey) AS c_count
      FROM customer LEFT OUTER JOIN orders
        ON c_custkey = o_custkey AND o_comment NOT LIKE '%special%requests%'
      GROUP BY c_custkey) AS c_orders
GROUP BY c_count
ORDER BY custdist DESC, c_count DESC)"},
      {"Q14", "promotion effect", R"(
SELECT 100.00 * sum(CASE WHEN p_type LIKE 'PROMO%' THEN l_extendedprice * (1 - l_discount)
                         ELSE 0 END) / sum(l_extendedprice * (1 - l_discount)) AS promo_revenue
FROM lineitem, part
WHERE l_partkey = p_partkey AND l_shipdate >= DATE '1995-09-01'
  AND l_shipdate < DATE '1995-10-01')"},
      {"Q18", "large volume customer", R"(
SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity) AS quantity
FROM customer, orders, lineitem
WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey
                     HAVING sum(l_quantity) > 300)
  AND c_custkey = o_custkey AND o_orderkey = l_orderkey
GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice
ORDER BY o_totalprice DESC, o_orderdate, o_orderkey
LIMIT 100)"},
      {"TopN", "100 largest line items", R"(
SELECT l_orderkey, l_linenumber, l_extendedprice, l_shipdate, l_shipmode, l_comment
FROM lineitem
ORDER BY l_extendedprice DESC, l_orderkey, l_linenumber
LIMIT 100)"},
  };
  return kQueries;
}

const char* Verdict(bool ok) { return ok ? "PASS" : "FAIL"; }

// Nearest-rank percentile: p90 of 30 runs is the 27th fastest.
double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// --- TPC-H part ----------------------------------------------------------------------------

struct TableInfo {
  std::string name;
  int64_t rows = 0;
  std::vector<std::string> paths;  // the live data files of the current snapshot
  std::vector<std::string> columns;
  int64_t bytes = 0;
};

Status GenerateTpch(double sf, const DuckSessionOptions& duck_options, const std::string& dir,
                    std::map<std::string, int64_t>* rows) {
  TpchSizes n = TpchSizes::For(sf);
  Note("query: generating TPC-H-like tables at scale factor {} (orders {}, lineitem ~{})", sf,
       FormatCount(n.orders), FormatCount(n.orders * 4));
  ST_ASSIGN_OR_RETURN(auto gen, DuckSession::Open(duck_options));
  for (const auto& stmt : TpchSetupSql(sf)) ST_RETURN_IF_ERROR(gen->Run(stmt));
  for (const auto& step : TpchSteps(sf, dir)) {
    Progress p("generate " + step.table);
    Stopwatch sw;
    int64_t written = 0;
    Status st = gen->Run(step.sql, p.Fn(), &written);
    if (!st.ok()) return st.WithContext("generating " + step.table);
    (*rows)[step.table] = written;
    Note("query: generated {} ({} rows) in {:.1f} s", step.table, FormatCount(written),
         sw.Seconds());
  }
  return Status::Ok();
}

// --- tiny-query part -----------------------------------------------------------------------

// Runs the CLI once; stdout goes to `capture` when given, else to /dev/null.
Result<double> RunCli(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      std::string* capture) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int pipe_fds[2] = {-1, -1};
  if (capture && pipe(pipe_fds) != 0) return Status::IoError("pipe() failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (capture) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  // main() blocked the termination signals for its cleanup thread; a child must not inherit that.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

  Stopwatch sw;
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (capture) close(pipe_fds[1]);
  if (rc != 0) {
    if (capture) close(pipe_fds[0]);
    return Status::IoError(fmt::format("cannot start {}: {}", args[0], std::strerror(rc)));
  }
  if (capture) {
    char buf[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0)
      capture->append(buf, static_cast<size_t>(n));
    close(pipe_fds[0]);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return Status::IoError("waitpid() failed");
  double s = sw.Seconds();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Internal(fmt::format("{} {} exited with status {}", args[0], args[1],
                                        WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  return s;
}

struct TinyFigures {
  std::vector<double> cli_ms, help_ms, open_ms, query_ms, base_ms;
  std::vector<double> duck_process_ms;  // the baseline of cli_ms: a process running plain DuckDB
  std::string cli_output;
  int64_t sum = -1;
};

Result<TinyFigures> Tiny(const QueryOptions& o, const Config& config, Warehouse& warehouse,
                         const TempDir& work, const DuckSessionOptions& duck_options) {
  TinyFigures t;
  std::string source = work.Join("small.parquet");
  ST_ASSIGN_OR_RETURN(auto duck, DuckSession::Open(duck_options));
  ST_RETURN_IF_ERROR(duck->Run(fmt::format(
      "COPY (SELECT i + 1 AS x, 'row ' || CAST(i AS VARCHAR) AS label FROM range({}) AS t(i)) "
      "TO {} (FORMAT parquet, COMPRESSION zstd)",
      kTinyRows, sql::Literal(source))));
  TableRef ref = warehouse.Ref(kTinySuper, kTinyTable);
  WriteRequest wr;
  wr.input_path = source;
  ST_RETURN_IF_ERROR(warehouse.Write(ref, wr).status());
  ST_ASSIGN_OR_RETURN(Snapshot snap, warehouse.LoadSnapshot(ref));
  std::vector<std::string> paths;
  for (const auto& f : snap.files) paths.push_back(warehouse.ReadPath(f.key));
  ST_ASSIGN_OR_RETURN(t.sum, QueryInt(warehouse, kTinySuper, "SELECT sum(x) FROM small"));

  // The CLI, as a user would run it: a new process that opens the warehouse, runs the query
  // and prints a text table.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (std::string(*e).rfind("SUPERTABLE_HOME=", 0) != 0) env.emplace_back(*e);
  }
  env.push_back("SUPERTABLE_HOME=" + config.home);
  std::vector<std::string> query_args = {SUPERTABLE_BIN, "query", kTinySuper, kTinySql};
  std::vector<std::string> help_args = {SUPERTABLE_BIN, "--help"};
  Note("query: tiny query, {} runs each: subprocess, process start, open, in process", o.tiny_runs);
  ST_RETURN_IF_ERROR(RunCli(query_args, env, &t.cli_output).status());  // warm-up and check
  ST_RETURN_IF_ERROR(RunCli(help_args, env, nullptr).status());
  // The baseline of the subprocess: a process that opens an in-memory DuckDB, runs the same
  // query over the same file and prints the result (this binary's hidden __duck-query).
  std::vector<std::string> duck_args = {
      "/proc/self/exe", "__duck-query",
      fmt::format("SELECT count(*), sum(x) FROM read_parquet({})", sql::LiteralList(paths))};
  ST_RETURN_IF_ERROR(RunCli(duck_args, env, nullptr).status());
  for (int i = 0; i < o.tiny_runs; ++i) {
    ST_ASSIGN_OR_RETURN(double s, RunCli(query_args, env, nullptr));
    t.cli_ms.push_back(s * 1e3);
    ST_ASSIGN_OR_RETURN(double h, RunCli(help_args, env, nullptr));
    t.help_ms.push_back(h * 1e3);
    ST_ASSIGN_OR_RETURN(double d, RunCli(duck_args, env, nullptr));
    t.duck_process_ms.push_back(d * 1e3);
  }
  // What every CLI invocation pays before its query: opening the warehouse (catalog, object
  // store, the two DuckDB instances of the engine).
  for (int i = 0; i < std::min(o.tiny_runs, 10); ++i) {
    Stopwatch sw;
    ST_ASSIGN_OR_RETURN(auto w, Warehouse::Open(config));
    w.reset();
    t.open_ms.push_back(sw.Seconds() * 1e3);
  }
  // In process, on the open warehouse, interleaved with plain DuckDB over the same file.
  std::string base_sql =
      fmt::format("SELECT count(*), sum(x) FROM read_parquet({})", sql::LiteralList(paths));
  for (int i = 0; i <= o.tiny_runs; ++i) {  // run 0 warms up
    DigestSink sink;
    Stopwatch sw;
    ST_RETURN_IF_ERROR(warehouse.Query(QueryRequest(kTinySuper, kTinySql), sink).status());
    double q = sw.Seconds();
    ResultDigest d;
    Stopwatch sb;
    ST_RETURN_IF_ERROR(duck->Query(base_sql, &d));
    double b = sb.Seconds();
    if (i == 0) continue;
    t.query_ms.push_back(q * 1e3);
    t.base_ms.push_back(b * 1e3);
  }
  return t;
}

Result<int> QueryBench(const QueryOptions& o) {
  ST_ASSIGN_OR_RETURN(TempDir work, TempDir::Create("query"));
  ST_ASSIGN_OR_RETURN(Config config, BenchConfig(work.Join("home")));
  ST_RETURN_IF_ERROR(PinThreads(config));
  DuckSessionOptions duck_options = MatchingOptions(config, work.Join("duck_tmp"));

  // 1. Data: generate Parquet, then ingest every table into the super "tpch".
  std::string gen_dir = work.Join("gen");
  std::filesystem::create_directories(gen_dir);
  std::map<std::string, int64_t> generated;
  Stopwatch gen_clock;
  ST_RETURN_IF_ERROR(GenerateTpch(o.scale_factor, duck_options, gen_dir, &generated));
  double gen_seconds = gen_clock.Seconds();

  ST_ASSIGN_OR_RETURN(auto warehouse, Warehouse::Open(config));
  std::vector<TableInfo> tables;
  Stopwatch ingest_clock;
  for (const char* name : kTables) {
    std::string path = gen_dir + "/" + name + ".parquet";
    TableRef ref = warehouse->Ref(kSuper, name);
    {
      Progress p(fmt::format("ingest {}", name));
      WriteRequest req;
      req.input_path = path;
      req.progress = p.Fn();
      Stopwatch sw;
      ST_ASSIGN_OR_RETURN(WriteResult w, warehouse->Write(ref, req));
      Note("query: ingested {} ({} rows) in {:.1f} s", name, FormatCount(w.outcome.inserted),
           sw.Seconds());
    }
    std::error_code ec;
    std::filesystem::remove(path, ec);  // the warehouse has its own copy now
    ST_ASSIGN_OR_RETURN(Snapshot snap, warehouse->LoadSnapshot(ref));
    TableInfo info;
    info.name = name;
    info.rows = snap.live_rows();
    info.bytes = snap.total_bytes();
    for (const auto& f : snap.files) info.paths.push_back(warehouse->ReadPath(f.key));
    for (const auto& c : snap.schema) info.columns.push_back(c.name);
    tables.push_back(std::move(info));
  }
  double ingest_seconds = ingest_clock.Seconds();

  // 2. The baseline: plain DuckDB, no progress tracking (the sandbox has none), one view per
  //    table over the same files, with the table's user columns (the files also hold
  //    SuperTable's commit-time column, which SuperTable's views leave out too).
  DuckSessionOptions plain = duck_options;
  plain.track_progress = false;
  ST_ASSIGN_OR_RETURN(auto duck, DuckSession::Open(plain));
  for (const auto& t : tables) {
    std::string cols;
    for (const auto& c : t.columns) cols += (cols.empty() ? "" : ", ") + sql::Ident(c);
    ST_RETURN_IF_ERROR(duck->Run(fmt::format("CREATE VIEW {} AS SELECT {} FROM read_parquet({})",
                                             sql::Ident(t.name), cols, sql::LiteralList(t.paths))));
  }
  int64_t base_threads = 0;
  ST_RETURN_IF_ERROR(duck->Run("SELECT current_setting('threads')", {}, &base_threads));

  // 3. The queries.
  std::vector<QueryFigures> figures;
  for (const auto& q : Queries()) {
    Note("query: {} ({}), {} runs per side", q.name, q.title, o.runs);
    ST_ASSIGN_OR_RETURN(QueryFigures f,
                        TimeAgainstBaseline(*warehouse, kSuper, q.sql, *duck, q.sql, o.runs));
    Note("query: {}: baseline {:.3f} s, ours {:.3f} s", q.name, Median(f.base_s), Median(f.ours_s));
    figures.push_back(std::move(f));
  }

  // The fixed cost of a query: every table named, nothing scanned (the optimizer turns WHERE
  // false into an empty result). What is left is parsing, resolving and binding: for the
  // baseline, reading the files' Parquet footers; for ours also the catalog and snapshot reads
  // and the per-query views. More runs: these are milliseconds.
  BenchQuery fixed{"Q0", "binding only",
                   "SELECT count(*) FROM region, nation, supplier, customer, part, lineitem, "
                   "orders WHERE false"};
  Note("query: fixed cost per query (binding all 7 tables), {} runs per side", o.runs * 3);
  ST_ASSIGN_OR_RETURN(QueryFigures fixed_f, TimeAgainstBaseline(*warehouse, kSuper, fixed.sql,
                                                                *duck, fixed.sql, o.runs * 3));

  // A large result: what moving rows out of the engine costs. Both sides read every cell as a
  // DuckDB value (the baseline into its digest); ours also encodes each as JSON for its sink.
  BenchQuery transfer{"R", "result transfer",
                      "SELECT l_orderkey, l_linenumber, l_extendedprice, l_shipdate, l_comment "
                      "FROM lineitem WHERE l_orderkey % 10 = 1"};
  Note("query: result transfer (~10% of lineitem), {} runs per side", o.runs);
  ST_ASSIGN_OR_RETURN(QueryFigures transfer_f, TimeAgainstBaseline(*warehouse, kSuper, transfer.sql,
                                                                   *duck, transfer.sql, o.runs));

  // 4. Tiny query.
  ST_ASSIGN_OR_RETURN(TinyFigures tiny, Tiny(o, config, *warehouse, work, duck_options));

  // Report.
  const TableInfo* lineitem = nullptr;
  for (const auto& t : tables) {
    if (t.name == "lineitem") lineitem = &t;
  }
  fmt::print(
      "\n== query: TPC-H-like data at scale factor {} (generated by DuckDB from range(), "
      "hash-based values)\n",
      o.scale_factor);
  fmt::print("   generated in {:.1f} s, ingested with Warehouse::Write in {:.1f} s\n", gen_seconds,
             ingest_seconds);
  {
    std::string s;
    for (const auto& t : tables) {
      s += fmt::format("{}{} {} rows/{} file{}", s.empty() ? "" : ", ", t.name, FormatCount(t.rows),
                       t.paths.size(), t.paths.size() == 1 ? "" : "s");
    }
    fmt::print("   tables: {}\n", s);
  }
  if (lineitem) {
    fmt::print("   lineitem: {} in its data files\n", FormatBytes(lineitem->bytes));
  }
  fmt::print(
      "   DuckDB threads: {} on both sides; median of {} runs per side, interleaved, "
      "after one untimed run each\n",
      config.duckdb_threads, o.runs);
  fmt::print(
      "   baseline: plain DuckDB, views over read_parquet([the same files]); ours: "
      "Warehouse::Query\n");
  fmt::print("   {:<32} {:>6} {:>11} {:>11} {:>8}  {}\n", "query", "rows", "baseline s", "ours s",
             "ratio", "same result");
  std::vector<double> ratios;
  double sum_base = 0, sum_ours = 0;
  bool all_rows = true, all_same = true;
  for (size_t i = 0; i < figures.size(); ++i) {
    const auto& q = Queries()[i];
    const auto& f = figures[i];
    double mb = Median(f.base_s), mo = Median(f.ours_s);
    double ratio = mb > 0 ? mo / mb : 0;
    ratios.push_back(ratio);
    sum_base += mb;
    sum_ours += mo;
    all_rows = all_rows && f.same_rows;
    all_same = all_same && f.difference.empty();
    fmt::print("   {:<32} {:>6} {:>11.3f} {:>11.3f} {:>7.3f}x  {}{}\n",
               fmt::format("{} {}", q.name, q.title), FormatCount(f.rows), mb, mo, ratio,
               Verdict(f.difference.empty() && f.same_rows),
               f.difference.empty() ? "" : " (" + f.difference + ")");
  }
  double log_sum = 0;
  for (double r : ratios) log_sum += std::log(std::max(r, 1e-9));
  fmt::print("   median of the ratios ours/baseline: {:.3f}x  (aim <= 1.10x)\n", Median(ratios));
  fmt::print(
      "   geometric mean of the ratios: {:.3f}x; sum of the medians: baseline {:.3f} s, "
      "ours {:.3f} s ({:.3f}x)\n",
      std::exp(log_sum / static_cast<double>(ratios.size())), sum_base, sum_ours,
      sum_base > 0 ? sum_ours / sum_base : 0);
  {
    double fb = Median(fixed_f.base_s) * 1e3, fo = Median(fixed_f.ours_s) * 1e3;
    fmt::print(
        "   fixed cost per query, all 7 tables named, nothing scanned (... WHERE false), "
        "median of {}: baseline {:.1f} ms, ours {:.1f} ms (+{:.1f} ms)\n",
        fixed_f.base_s.size(), fb, fo, fo - fb);
    all_rows = all_rows && fixed_f.same_rows;
    all_same = all_same && fixed_f.difference.empty();
  }
  {
    double tb = Median(transfer_f.base_s), to = Median(transfer_f.ours_s);
    fmt::print(
        "   result transfer, ~10% of lineitem ({} rows x 5 columns, every cell read): "
        "baseline {:.3f} s, ours {:.3f} s ({:.2f}x)\n",
        FormatCount(transfer_f.rows), tb, to, tb > 0 ? to / tb : 0);
    all_rows = all_rows && transfer_f.same_rows;
    all_same = all_same && transfer_f.difference.empty();
  }
  bool threads_ok = base_threads == config.duckdb_threads;
  fmt::print("   sanity: the baseline runs with the warehouse's thread count ({} and {}): {}\n",
             base_threads, config.duckdb_threads, Verdict(threads_ok));
  fmt::print("   sanity: both sides returned the same row count in every run of every query: {}\n",
             Verdict(all_rows));
  fmt::print("   sanity: both sides returned the same results (row digests, numeric sums): {}\n",
             Verdict(all_same));

  double cli50 = Percentile(tiny.cli_ms, 0.5), cli90 = Percentile(tiny.cli_ms, 0.9);
  double q50 = Percentile(tiny.query_ms, 0.5), q90 = Percentile(tiny.query_ms, 0.9);
  double b50 = Percentile(tiny.base_ms, 0.5);
  fmt::print("\n== tiny query: {} over a {}-row table, {} runs each\n", kTinySql,
             FormatCount(kTinyRows), o.tiny_runs);
  fmt::print("   subprocess `supertable query {} \"{}\"`:  p50 {:7.1f} ms  p90 {:7.1f} ms\n",
             kTinySuper, kTinySql, cli50, cli90);
  fmt::print("     of which process start, `supertable --help`:           p50 {:7.1f} ms\n",
             Percentile(tiny.help_ms, 0.5));
  double d50 = Percentile(tiny.duck_process_ms, 0.5);
  fmt::print(
      "   baseline: a process running plain DuckDB on the file:   p50 {:7.1f} ms  "
      "(ratio {:.2f}x, aim <= 1.30x)\n",
      d50, d50 > 0 ? cli50 / d50 : 0);
  fmt::print("     of which Warehouse::Open (in process):                 p50 {:7.1f} ms\n",
             Percentile(tiny.open_ms, 0.5));
  fmt::print(
      "   in process, Warehouse::Query on an open warehouse:      p50 {:7.3f} ms  p90 {:7.3f} "
      "ms\n",
      q50, q90);
  fmt::print(
      "   in process, plain DuckDB over the same file (baseline): p50 {:7.3f} ms  "
      "(ratio {:.1f}x)\n",
      b50, b50 > 0 ? q50 / b50 : 0);
  std::string expected = std::to_string(kTinyRows * (kTinyRows + 1) / 2);
  bool tiny_ok = tiny.sum == kTinyRows * (kTinyRows + 1) / 2 &&
                 tiny.cli_output.find(expected) != std::string::npos;
  fmt::print("   sanity: sum(x) = {} in process and in the CLI's output (expected {}): {}\n",
             tiny.sum, expected, Verdict(tiny_ok));
  std::fflush(stdout);
  return threads_ok && all_rows && all_same && tiny_ok ? 0 : 1;
}

}  // namespace

int RunQuery(const QueryOptions& options) { return ExitCode(QueryBench(options), "query"); }

}  // namespace supertable::bench

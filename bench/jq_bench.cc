// The jq stage of a library tool: one program over a query's result (1,000 rows as objects),
// run by the sandboxed jq workers (library/jq_pool.h) against the `jq` command-line program
// (Debian's jq 1.6, the same libjq) on the same program, input and --argjson variables,
// interleaved in one process. The baseline is what a user without the library does: pipe the
// rows into jq. Figures: p50 and p99 per run of each, and the ratio of the p50s.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "benches.h"
#include "library/jq_pool.h"

namespace supertable::bench {

namespace {

// The seed's group_and_aggregate, as a tool compiles it: the function, then the tool's program.
constexpr const char* kProgram = R"(def group_and_aggregate($group_field; $agg_field; $agg_type):
  group_by(.[$group_field]) |
  map({
    ($group_field): .[0][$group_field],
    value: (
      if $agg_type == "sum" then [.[][$agg_field]] | add
      elif $agg_type == "avg" then ([.[][$agg_field]] | add / length)
      else [.[][$agg_field]] | length end
    )
  });
[.[] | select(.amount >= $min_amount)] | group_and_aggregate("region"; "amount"; "sum"))";

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// jq -c --argjson min_amount 10 PROGRAM FILE, output to /dev/null; false when it fails.
bool RunJqCli(const std::string& input_file) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* null = std::freopen("/dev/null", "w", stdout);
    (void)null;
    execlp("jq", "jq", "-c", "--argjson", "min_amount", "10", kProgram, input_file.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int RunJq(const JqBenchOptions& options) {
  auto dir = TempDir::Create("jq");
  if (!dir.ok()) return 2;
  nlohmann::json rows = nlohmann::json::array();
  const char* regions[] = {"north", "south", "east", "west", "centre"};
  for (int i = 0; i < options.rows; ++i) {
    rows.push_back({{"id", i}, {"region", regions[i % 5]}, {"amount", (i * 37) % 100}});
  }
  const std::string input = rows.dump();
  const std::string input_file = dir->Join("rows.json");
  std::ofstream(input_file) << input;
  library::JqLimits limits;
  library::JqPool pool({SUPERTABLE_JQ_BIN}, limits);
  pool.Prestart();
  nlohmann::json vars = {{"min_amount", 10}};
  auto first = pool.Run(kProgram, input, vars);
  if (!first.ok()) {
    Note("the jq worker failed: {}", first.status().message());
    return 2;
  }
  if (!RunJqCli(input_file)) {
    Note("the jq program (Debian's jq) failed or is not installed");
    return 2;
  }
  std::vector<double> ours, cli;
  Note("jq stage: {} runs each over {} rows, interleaved", options.runs, options.rows);
  for (int i = 0; i < options.runs; ++i) {
    Stopwatch a;
    auto r = pool.Run(kProgram, input, vars);
    ours.push_back(a.Seconds() * 1e3);
    if (!r.ok()) return 1;
    Stopwatch b;
    if (!RunJqCli(input_file)) return 1;
    cli.push_back(b.Seconds() * 1e3);
  }
  double p50 = Percentile(ours, 0.5), p99 = Percentile(ours, 0.99);
  double c50 = Percentile(cli, 0.5), c99 = Percentile(cli, 0.99);
  fmt::print(
      "jq stage ({} rows): jq worker p50 {:.2f} ms p99 {:.2f} ms; jq CLI p50 {:.2f} ms "
      "p99 {:.2f} ms; ratio (worker/CLI, p50) {:.3f}x\n",
      options.rows, p50, p99, c50, c99, p50 / c50);
  return 0;
}

}  // namespace supertable::bench

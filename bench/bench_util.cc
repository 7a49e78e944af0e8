// Benchmark helpers.
#include "bench_util.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "common/log.h"

namespace supertable::bench {

namespace fs = std::filesystem;

namespace {

// The directories an interrupt must remove. Never destroyed: the signal thread may still look at
// it while static destructors run at exit.
struct LiveDirs {
  std::mutex mu;
  std::set<std::string> paths;
};
LiveDirs& Live() {
  static LiveDirs* live = new LiveDirs;
  return *live;
}

void RemoveTree(const std::string& path) {
  // DuckDB threads may still be writing into the tree when an interrupt removes it; a second
  // pass catches files created during the first.
  std::error_code ec;
  for (int pass = 0; pass < 3; ++pass) {
    fs::remove_all(path, ec);
    if (!fs::exists(path, ec)) return;
  }
  fmt::print(stderr, "[bench] warning: could not remove {}: {}\n", path, ec.message());
}

}  // namespace

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Result<TempDir> TempDir::Create(const std::string& label) {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string tmpl = (base / ("supertable-bench-" + label + "-XXXXXX")).string();
  std::lock_guard<std::mutex> g(Live().mu);  // registered before an interrupt could miss it
  if (!mkdtemp(tmpl.data())) {
    return Status::IoError(fmt::format("cannot create a temp directory like {}", tmpl));
  }
  Live().paths.insert(tmpl);
  return TempDir(tmpl);
}

TempDir::~TempDir() {
  if (path_.empty()) return;  // moved from
  RemoveTree(path_);
  std::lock_guard<std::mutex> g(Live().mu);
  Live().paths.erase(path_);
}

void InstallInterruptCleanup() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    std::lock_guard<std::mutex> g(Live().mu);
    for (const auto& p : Live().paths) RemoveTree(p);
    fmt::print(stderr, "\n[bench] interrupted (signal {}); temporary directories removed\n", sig);
    std::fflush(stderr);
    // _exit: running static destructors would race with DuckDB threads still at work.
    _exit(128 + sig);
  }).detach();
}

Progress::Progress(std::string label) : label_(std::move(label)), tty_(isatty(STDERR_FILENO)) {}

Progress::~Progress() {
  std::lock_guard<std::mutex> g(mu_);
  if (drawn_ && tty_) fputs("\r\033[K", stderr);
}

void Progress::Update(double fraction) {
  std::lock_guard<std::mutex> g(mu_);
  double secs = clock_.Seconds();
  if (secs < 1) return;  // quick steps stay quiet
  int pct = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 100);
  if (tty_) {
    fmt::print(stderr, "\r\033[K[bench] {}: {:3d}% ({:.0f} s)", label_, pct, secs);
  } else if (pct / 25 != last_quarter_) {
    last_quarter_ = pct / 25;
    fmt::print(stderr, "[bench] {}: {}% after {:.0f} s\n", label_, pct, secs);
  }
  std::fflush(stderr);
  drawn_ = true;
}

namespace {

// FNV-1a: stable across runs and builds, unlike std::hash.
uint64_t Fnv(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

void ResultDigest::StartRow(size_t columns) {
  if (column_sums.size() < columns) column_sums.resize(columns, 0.0);
  row_hash_ = 14695981039346656037ull;
}

void ResultDigest::Number(size_t column, double value) {
  if (column >= column_sums.size()) column_sums.resize(column + 1, 0.0);
  column_sums[column] += value;
}

void ResultDigest::Text(size_t column, const std::string& text) {
  uint64_t c = column;
  row_hash_ = Fnv(row_hash_, &c, sizeof c);
  row_hash_ = Fnv(row_hash_, text.data(), text.size());
  row_hash_ = Fnv(row_hash_, "\x1f", 1);
}

void ResultDigest::Null(size_t column) { Text(column, "\x01NULL"); }

void ResultDigest::FinishRow() {
  text_hash += row_hash_;
  ++rows;
}

std::string ResultDigest::Compare(const ResultDigest& other) const {
  if (rows != other.rows) return fmt::format("{} rows vs {}", rows, other.rows);
  if (text_hash != other.text_hash) return "the text, date or NULL cells differ";
  if (column_sums.size() != other.column_sums.size()) {
    return fmt::format("{} columns vs {}", column_sums.size(), other.column_sums.size());
  }
  for (size_t c = 0; c < column_sums.size(); ++c) {
    double a = column_sums[c], b = other.column_sums[c];
    double scale = std::max({std::abs(a), std::abs(b), 1.0});
    if (std::abs(a - b) > 1e-9 * scale) {
      return fmt::format("column {}: numbers sum to {} vs {}", c + 1, a, b);
    }
  }
  return "";
}

Result<int64_t> QueryInt(Warehouse& warehouse, const std::string& super_name,
                         const std::string& sql) {
  CollectSink sink;
  QueryRequest req;
  req.super_name = super_name;
  req.sql = sql;
  ST_RETURN_IF_ERROR(warehouse.Query(req, sink).status());
  if (sink.rows.size() != 1 || sink.rows[0].size() != 1) {
    return Status::Internal(fmt::format("expected one value from: {}", sql));
  }
  const auto& cell = sink.rows[0][0];
  // Integers beyond 2^53 arrive as strings (docs: value encoding); counts here never are, but
  // reading both keeps the check honest.
  if (cell.is_number_integer()) return cell.get<int64_t>();
  if (cell.is_string()) return static_cast<int64_t>(std::stoll(cell.get<std::string>()));
  return Status::Internal(fmt::format("not an integer: {} from: {}", cell.dump(), sql));
}

Result<Config> BenchConfig(const std::string& home) {
  ST_ASSIGN_OR_RETURN(Config c, Config::FromEnvironment());
  c.home = home;
  ST_RETURN_IF_ERROR(c.Finish());
  log::SetLevel(c.log_level);
  return c;
}

int ExitCode(const Result<int>& run, const char* what) {
  if (run.ok()) return *run;
  Note("{} failed: {}", what, run.status().ToString());
  return 2;
}

std::string FormatCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

int64_t FileBytes(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

}  // namespace supertable::bench

// Small helpers every benchmark shares: timing, medians, temp directories that never outlive the
// run, progress lines on stderr, and a ResultSink that keeps the few rows a check query returns.
#pragma once

#include "common/text.h"
#include "engine/schema_evolution.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/status.h"
#include "engine/engine.h"
#include "table/warehouse.h"

namespace supertable::bench {

// Wall-clock time: what a user waits for. steady_clock, so an NTP step cannot skew a run.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// The median resists the one run that a concurrent build on the same machine slowed down.
double Median(std::vector<double> values);

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when the object is
// destroyed, and also when the process is interrupted (see InstallInterruptCleanup): inputs and
// tables here are gigabytes, and a benchmark must not leave them behind.
class TempDir {
 public:
  static Result<TempDir> Create(const std::string& label);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Blocks SIGINT, SIGTERM and SIGHUP in every thread and handles them on one dedicated thread,
// which removes the live TempDirs and exits. A plain signal handler could not do that safely
// (removing a tree allocates). Must run first in main(), before DuckDB starts its threads, so
// that they inherit the blocked mask.
void InstallInterruptCleanup();

// One line of narration on stderr (stdout carries only the figures).
template <typename... Args>
void Note(fmt::format_string<Args...> f, Args&&... args) {
  std::string line = fmt::format(f, std::forward<Args>(args)...);
  fmt::print(stderr, "[bench] {}\n", line);
  std::fflush(stderr);
}

// Progress of one long step on stderr: a redrawn line on a terminal, a line per 25% otherwise
// (a log file should not fill with carriage returns). Thread-safe: DuckDB's watcher threads call
// it while the main thread is blocked in the query.
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void Update(double fraction);
  // A callback for WriteRequest::progress and DuckSession::Run; valid while this object lives.
  ProgressFn Fn() {
    return [this](double f) { Update(f); };
  }

 private:
  std::mutex mu_;
  std::string label_;
  Stopwatch clock_;
  bool tty_;
  bool drawn_ = false;
  int last_quarter_ = -1;
};

// Keeps every row of a (small) query result; the checks only run scalar queries.
class CollectSink : public ResultSink {
 public:
  void Begin(const std::vector<Column>&) override {}
  void Row(const std::vector<nlohmann::json>& cells) override { rows.push_back(cells); }
  void End(bool) override {}
  std::vector<std::vector<nlohmann::json>> rows;
};

// An order-insensitive fingerprint of a query result, so that the query benchmark can tell that
// SuperTable and plain DuckDB returned the same rows, not only as many: per column, the sum of
// the numeric cells (compared with a relative tolerance: floating-point sums of a parallel
// aggregation differ in their last bits from run to run); and the wrapping sum of one hash per
// row over its non-numeric cells (text, dates, NULLs) with their positions. Both sides feed it
// cells in their own encoding: SuperTable's JSON cells (numbers, DECIMAL as exact text) and
// DuckDB values; the text of dates, strings and decimals is the same in both.
struct ResultDigest {
  int64_t rows = 0;
  std::vector<double> column_sums;
  uint64_t text_hash = 0;

  // Per row: Start, one call per cell in column order, Finish.
  void StartRow(size_t columns);
  void Number(size_t column, double value);
  void Text(size_t column, const std::string& text);
  void Null(size_t column);
  void FinishRow();

  // Empty when equal; otherwise what differs.
  std::string Compare(const ResultDigest& other) const;

 private:
  uint64_t row_hash_ = 0;
};

// Whether a column of this DuckDB type name is summed (numbers) or hashed (everything else).

// Runs a query that returns one integer through Warehouse::Query, the path every front door
// uses, so a check sees exactly what users would see.
Result<int64_t> QueryInt(Warehouse& warehouse, const std::string& super_name,
                         const std::string& sql);

// A Config for a private warehouse under `home`: environment settings are honoured (threads,
// memory limit) but never the user's own SUPERTABLE_HOME.
Result<Config> BenchConfig(const std::string& home);

// A benchmark's exit code: its own (0 pass, 1 a sanity check failed), or 2 with a note on
// stderr when the run itself failed.
int ExitCode(const Result<int>& run, const char* what);

std::string FormatCount(int64_t n);  // 2,000,000: easier to read in a report than 2000000
int64_t FileBytes(const std::string& path);

}  // namespace supertable::bench

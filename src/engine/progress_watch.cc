// DuckDB progress polling.
#include "engine/progress_watch.h"

#include <duckdb.hpp>

#include <algorithm>
#include <chrono>

namespace supertable {

ProgressWatch::ProgressWatch(duckdb::Connection& con, std::function<void(double)> fn)
    : con_(con), fn_(std::move(fn)) {
  if (!fn_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lk(mu_);
    while (!cv_.wait_for(lk, std::chrono::milliseconds(100), [this] { return done_; })) {
      double p = con_.GetQueryProgress();
      if (p >= 0) fn_(std::min(1.0, p / 100.0));
    }
  });
}

ProgressWatch::~ProgressWatch() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> g(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace supertable

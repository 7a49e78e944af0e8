// PeriodicTask: runs a function every `interval` on its own thread until destroyed; the
// destructor wakes the thread at once and joins it. The shape behind the lock keeper, the query
// watchdog and DuckDB progress polling.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace supertable {

class PeriodicTask {
 public:
  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> fn) {
    thread_ = std::thread([this, interval, fn = std::move(fn)] {
      std::unique_lock<std::mutex> lk(mu_);
      while (!cv_.wait_for(lk, interval, [this] { return done_; })) fn();
    });
  }
  ~PeriodicTask() {
    {
      std::lock_guard<std::mutex> g(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace supertable

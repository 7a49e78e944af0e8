// CancelToken: lets one thread stop work another thread is doing. The worker registers how to
// interrupt itself (for a query: interrupt its DuckDB connection) for as long as it runs; a
// cancel that arrives before or during that window takes effect, one after it is harmless.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>

namespace supertable {

class CancelToken {
 public:
  void Cancel() {
    std::lock_guard<std::mutex> g(mu_);
    cancelled_ = true;
    if (interrupt_) interrupt_();
  }
  bool cancelled() const { return cancelled_.load(); }
  // Runs `fn` at once if already cancelled.
  void SetInterrupt(std::function<void()> fn) {
    std::lock_guard<std::mutex> g(mu_);
    interrupt_ = std::move(fn);
    if (cancelled_ && interrupt_) interrupt_();
  }
  void ClearInterrupt() {
    std::lock_guard<std::mutex> g(mu_);
    interrupt_ = nullptr;
  }

 private:
  std::mutex mu_;
  std::atomic<bool> cancelled_{false};
  std::function<void()> interrupt_;
};

}  // namespace supertable

// WorkerChannel: the message pipe between a server process and one of its engine worker
// processes (docs/ARCHITECTURE.md, "Engine workers"). Messages are JSON values sent as CBOR,
// each framed by a 4-byte big-endian length, over one end of a Unix stream socket pair.
//
// Either side may be the one that breaks: a worker can die mid-message (a crash in DuckDB) and a
// server can kill it at a deadline. So a receive has a deadline, a frame has a size limit, and a
// closed or garbled stream is an error, never a hang or an exception.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace supertable {

class WorkerChannel {
 public:
  // The largest message either side accepts; results travel in batches far below it.
  static constexpr uint32_t kMaxFrameBytes = 256u << 20;

  explicit WorkerChannel(int fd) : fd_(fd) {}
  ~WorkerChannel();
  WorkerChannel(const WorkerChannel&) = delete;
  WorkerChannel& operator=(const WorkerChannel&) = delete;

  // Sends one message; safe from several threads (a write's progress reports come from a
  // watcher thread while the main thread works).
  Status Send(const nlohmann::json& message);

  // Waits for the next message until the steady-clock time in `deadline_ns` (nanoseconds since
  // the clock's epoch; 0: no deadline). The deadline is re-read while waiting, so another thread
  // may bring it forward (a cancel does). kTimeout when it passes, kIoError when the peer closed
  // its end or sent something that is not a message.
  Result<nlohmann::json> Receive(const std::atomic<int64_t>* deadline_ns = nullptr);

  int fd() const { return fd_; }

  // The current steady-clock time in the unit deadlines use.
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // The deadline `ms` milliseconds from now, in that unit.
  static int64_t DeadlineIn(int64_t ms) { return NowNs() + ms * 1000000; }

 private:
  // Reads exactly n bytes into buf; see Receive for the deadline.
  Status ReadExactly(char* buf, size_t n, const std::atomic<int64_t>* deadline_ns);

  int fd_;
  std::mutex write_mu_;
};

}  // namespace supertable

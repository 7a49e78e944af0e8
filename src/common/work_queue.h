// WorkQueue: a fixed set of threads running posted jobs, with a bounded backlog. Servers use it
// to keep blocking work (queries, catalog reads) off their I/O threads and to refuse work, with
// a clear "busy", instead of queueing without end.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace supertable {

class WorkQueue {
 public:
  WorkQueue(int threads, size_t max_queued);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `job`; false (and `job` not run) when the backlog is full or the queue has stopped.
  bool TryPost(std::function<void()> job);
  // Runs what is already queued, then joins the threads. Later posts are refused.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t max_queued_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace supertable

// A progress bar on stderr for long commands. It stays silent for the first second (quick
// commands print nothing extra), draws a bar on a terminal, and prints a line per 10% when
// stderr is a file or pipe.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace supertable {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();                // clears the bar
  void Update(double fraction);  // thread-safe

 private:
  std::mutex mu_;
  std::string label_;
  std::chrono::steady_clock::time_point start_;
  bool tty_;
  bool drawn_ = false;
  int last_decile_ = -1;
};

}  // namespace supertable

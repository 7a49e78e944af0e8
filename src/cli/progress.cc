// Progress bar rendering.
#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace supertable {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)),
      start_(std::chrono::steady_clock::now()),
      tty_(isatty(STDERR_FILENO)) {}

ProgressBar::~ProgressBar() {
  std::lock_guard<std::mutex> g(mu_);
  if (drawn_ && tty_) fputs("\r\033[K", stderr);
}

void ProgressBar::Update(double fraction) {
  std::lock_guard<std::mutex> g(mu_);
  auto elapsed = std::chrono::steady_clock::now() - start_;
  if (elapsed < std::chrono::seconds(1)) return;
  double secs = std::chrono::duration<double>(elapsed).count();
  int pct = static_cast<int>(fraction * 100);
  if (tty_) {
    int filled = static_cast<int>(fraction * 30);
    fputs(fmt::format("\r{} [{}{}] {:3d}% {:.0f}s", label_, std::string(filled, '#'),
                      std::string(30 - filled, ' '), pct, secs)
              .c_str(),
          stderr);
  } else if (pct / 10 != last_decile_) {
    last_decile_ = pct / 10;
    fputs(fmt::format("{}: {}% after {:.0f}s\n", label_, pct, secs).c_str(), stderr);
  }
  fflush(stderr);
  drawn_ = true;
}

}  // namespace supertable

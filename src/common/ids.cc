// Random ids from getrandom(2) and timestamp formatting.
#include "common/ids.h"

#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace supertable {

std::string RandomId() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0) throw std::runtime_error("getrandom failed");  // only before the kernel has entropy
    got += static_cast<size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out(32, '0');
  for (size_t i = 0; i < 16; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTimestamp(int64_t micros) {
  time_t secs = static_cast<time_t>(micros / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           static_cast<int>(micros % 1000000));
  return buf;
}

int64_t ParseTimestamp(const std::string& text) {
  struct tm tm = {};
  int frac = 0;
  int n = 0;
  int y, mo, d, h = 0, mi = 0, s = 0;
  if (sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) return -1;
  std::string rest = text.substr(static_cast<size_t>(n));
  if (!rest.empty()) {
    char sep;
    int m = 0;
    if (sscanf(rest.c_str(), "%c%2d:%2d:%2d%n", &sep, &h, &mi, &s, &m) != 4 ||
        (sep != 'T' && sep != ' '))
      return -1;
    rest = rest.substr(static_cast<size_t>(m));
    if (!rest.empty() && rest[0] == '.') {
      size_t i = 1;
      int digits = 0;
      while (i < rest.size() && isdigit(static_cast<unsigned char>(rest[i]))) {
        if (digits < 6) frac = frac * 10 + (rest[i] - '0'), ++digits;
        ++i;
      }
      while (digits++ < 6) frac *= 10;
      rest = rest.substr(i);
    }
    if (rest == "Z" || rest == "+00:00" || rest == "+00") rest.clear();
    if (!rest.empty()) return -1;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + frac;
}

}  // namespace supertable

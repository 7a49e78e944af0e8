// Text formatting helpers.
#include "common/text.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include <fmt/format.h>

namespace supertable {

std::string FormatBytes(int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part =
        s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t b = part.find_first_not_of(' '), e = part.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string ScrubPaths(std::string text, std::vector<PathLabel> paths) {
  std::sort(paths.begin(), paths.end(),
            [](const PathLabel& a, const PathLabel& b) { return a.path.size() > b.path.size(); });
  for (const auto& p : paths) {
    if (p.path.empty() || p.path == "/") continue;
    for (size_t at = text.find(p.path); at != std::string::npos;
         at = text.find(p.path, at + p.label.size())) {
      text.replace(at, p.path.size(), p.label);
    }
  }
  return text;
}

Result<int64_t> ParseDurationMicros(const std::string& text) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "invalid duration '{}': expected a number with a unit, e.g. 500ms, 30s, 15m, 12h, 7d",
        text));
  };
  size_t used = 0;
  double v;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return bad();
  }
  std::string unit = text.substr(used);
  static const std::map<std::string, double> kUnits = {
      {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}, {"d", 86400e6}};
  auto it = kUnits.find(unit);
  if (v < 0 || (it == kUnits.end() && !(unit.empty() && v == 0))) return bad();
  double micros = v * (it == kUnits.end() ? 0 : it->second);
  if (!(micros < 1e17)) return bad();  // also refuses inf and nan: about three thousand years
  return static_cast<int64_t>(micros);
}

bool SecretEquals(std::string_view a, std::string_view b) {
  // Length is not secret (tokens are fixed-length in practice); the content comparison is
  // constant-time: every byte is examined whatever the first difference.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int hi = i + 1 < s.size() ? hex(s[i + 1]) : -1, lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string PercentEncode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string MarkupEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i <= text.size();) {
    size_t amp = text.find('&', i);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view pair = text.substr(i, amp - i);
    i = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!name || !value) return Status::InvalidArgument("the text is not valid percent-encoding");
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace supertable

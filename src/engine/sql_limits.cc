// Text-level limits on users' SQL.
#include "engine/sql_limits.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace supertable {

namespace {

// Tracks bracket nesting one character at a time.
class DepthCounter {
 public:
  void Feed(char c) {
    bool empty_pair = prev_ == '[' && c == ']';
    if (c == '(' || c == '[' || c == '{') {
      ++depth_;
    } else if (c == ')' || c == ']' || c == '}') {
      depth_ = std::max(0, depth_ - 1);
    }
    // "[][][]" nests lists without nesting brackets: each empty pair is one more level.
    if (empty_pair) {
      ++run_;
    } else if (c != '[' && !IsSpace(c)) {
      run_ = 0;
    }
    max_ = std::max(max_, depth_ + run_);
    if (!IsSpace(c)) prev_ = c;
  }
  int max() const { return max_; }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  int depth_ = 0;
  int run_ = 0;
  int max_ = 0;
  char prev_ = 0;
};

}  // namespace

int BracketDepth(std::string_view text) {
  DepthCounter d;
  for (char c : text) d.Feed(c);
  return d.max();
}

Status TooDeep(const std::string& what, const SqlLimits& limits) {
  return Status::InvalidArgument(
      fmt::format("{} nest more than {} levels deep; simplify the query (limit: "
                  "SUPERTABLE_MAX_SQL_DEPTH)",
                  what, limits.max_depth));
}

Status CheckSqlText(const std::string& sql, const SqlLimits& limits) {
  if (static_cast<int64_t>(sql.size()) > limits.max_bytes) {
    return Status::InvalidArgument(fmt::format(
        "the SQL text is {} bytes, more than the limit of {} (SUPERTABLE_MAX_SQL_BYTES)",
        sql.size(), limits.max_bytes));
  }
  // A small lexer, DuckDB's (PostgreSQL's) rules: '...' with '' escapes, E'...' with backslash
  // escapes, "..." names, $tag$...$tag$ strings, -- and nested /* */ comments. Should it ever
  // misjudge where a string ends, the parse-tree checks in the guard still bound the nesting.
  DepthCounter code;
  size_t i = 0, n = sql.size();
  auto string_too_deep = [&](std::string_view body) {
    return BracketDepth(body) > limits.max_depth;
  };
  while (i < n) {
    char c = sql[i];
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      i = end == std::string::npos ? n : end + 1;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      int level = 0;
      while (i < n) {
        if (sql.compare(i, 2, "/*") == 0) {
          ++level;
          i += 2;
        } else if (sql.compare(i, 2, "*/") == 0) {
          i += 2;
          if (--level == 0) break;
        } else {
          ++i;
        }
      }
    } else if (c == '\'' || c == '"') {
      auto word_char = [&](size_t k) {
        return std::isalnum(static_cast<unsigned char>(sql[k])) || sql[k] == '_';
      };
      bool backslash = c == '\'' && i > 0 && (sql[i - 1] == 'e' || sql[i - 1] == 'E') &&
                       (i == 1 || !word_char(i - 2));
      std::string body;
      ++i;
      while (i < n) {
        if (backslash && sql[i] == '\\' && i + 1 < n) {
          body += sql[i + 1];
          i += 2;
        } else if (sql[i] == c && i + 1 < n && sql[i + 1] == c) {
          body += c;
          i += 2;
        } else if (sql[i] == c) {
          ++i;
          break;
        } else {
          body += sql[i++];
        }
      }
      if (c == '\'' && string_too_deep(body))
        return TooDeep("brackets in a string constant", limits);
    } else if (c == '$') {
      size_t close = sql.find('$', i + 1);
      std::string tag = close == std::string::npos ? "" : sql.substr(i, close - i + 1);
      bool is_tag = !tag.empty() && std::all_of(tag.begin() + 1, tag.end() - 1, [](char t) {
        return std::isalnum(static_cast<unsigned char>(t)) || t == '_';
      });
      // $1 is a parameter, not a string.
      if (is_tag && (tag.size() == 2 || !std::isdigit(static_cast<unsigned char>(tag[1])))) {
        size_t end = sql.find(tag, close + 1);
        std::string_view body(sql.data() + close + 1,
                              (end == std::string::npos ? n : end) - close - 1);
        if (string_too_deep(body)) return TooDeep("brackets in a string constant", limits);
        i = end == std::string::npos ? n : end + tag.size();
      } else {
        code.Feed(c);
        ++i;
      }
    } else {
      code.Feed(c);
      ++i;
    }
    if (code.max() > limits.max_depth) return TooDeep("parentheses or brackets", limits);
  }
  return Status::Ok();
}

}  // namespace supertable

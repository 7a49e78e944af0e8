// The interactive SQL shell.
#include "cli/shell.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <clocale>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <editline/readline.h>
#include <fmt/format.h>

#include "common/cancel_token.h"
#include "engine/result_format.h"
#include "table/warehouse.h"

namespace supertable {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace

std::vector<std::string> StatementSplitter::Add(const std::string& line) {
  std::vector<std::string> out;
  size_t i = buffer_.size();
  buffer_ += line;
  buffer_ += '\n';
  size_t begin = 0;  // of the statement being read, in buffer_
  // Whether the statement being read has anything but blanks and comments: only such text is
  // pending (a line of comments alone leaves the prompt free for a dot command).
  auto has_code = [&](size_t from, size_t to) {
    State st = State::kCode;
    for (size_t k = from; k < to; ++k) {
      char c = buffer_[k], next = k + 1 < to ? buffer_[k + 1] : '\0';
      if (st == State::kBlockComment) {
        if (c == '*' && next == '/') st = State::kCode, ++k;
      } else if (c == '-' && next == '-') {
        while (k < to && buffer_[k] != '\n') ++k;
      } else if (c == '/' && next == '*') {
        st = State::kBlockComment, ++k;
      } else if (!IsSpace(c)) {
        return true;
      }
    }
    return false;
  };
  for (; i < buffer_.size(); ++i) {
    char c = buffer_[i], next = i + 1 < buffer_.size() ? buffer_[i + 1] : '\0';
    switch (state_) {
      case State::kCode:
        if (c == '\'') {
          state_ = State::kSingle;
        } else if (c == '"') {
          state_ = State::kDouble;
        } else if (c == '-' && next == '-') {
          while (i + 1 < buffer_.size() && buffer_[i + 1] != '\n') ++i;
        } else if (c == '/' && next == '*') {
          state_ = State::kBlockComment;
          ++i;
        } else if (c == ';') {
          if (has_code(begin, i)) out.push_back(Trim(buffer_.substr(begin, i - begin)));
          begin = i + 1;
        }
        break;
      case State::kSingle:  // a doubled '' closes and opens again: the same in the end
        if (c == '\'') state_ = State::kCode;
        break;
      case State::kDouble:
        if (c == '"') state_ = State::kCode;
        break;
      case State::kBlockComment:
        if (c == '*' && next == '/') {
          state_ = State::kCode;
          ++i;
        }
        break;
    }
  }
  buffer_.erase(0, begin);
  if (state_ == State::kCode && !has_code(0, buffer_.size())) buffer_.clear();
  return out;
}

bool StatementSplitter::empty() const { return buffer_.empty(); }

void StatementSplitter::Clear() {
  buffer_.clear();
  state_ = State::kCode;
}

namespace {

// Ctrl+C: the handler only records it and writes to two pipes (cancelling takes locks, which a
// signal handler may not): one wakes the thread that cancels the running query, the other the
// prompt's key reader (ReadKey), which waits on it beside the terminal. A pipe, not the read's
// EINTR: a signal that lands on another thread, or just before the read, is not lost.
std::atomic<bool> g_interrupted{false};
int g_wake[2] = {-1, -1};
int g_prompt_wake[2] = {-1, -1};

void OnInterrupt(int) {
  g_interrupted = true;
  char c = 'x';
  ssize_t n = write(g_wake[1], &c, 1);
  n = write(g_prompt_wake[1], &c, 1);
  (void)n;
}

// libedit's key reader (rl_getc_function): one character (UTF-8 decoded to its code point, as
// libedit takes it), or EOF once a Ctrl+C came (readline then returns, and the line is dropped).
int ReadKey(FILE* in) {
  int fd = fileno(in);
  auto byte = [&]() -> int {
    for (;;) {
      if (g_interrupted) return EOF;
      struct pollfd p[2] = {{fd, POLLIN, 0}, {g_prompt_wake[0], POLLIN, 0}};
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return EOF;
      }
      if (p[1].revents & POLLIN) {
        char drain[64];
        ssize_t n = read(g_prompt_wake[0], drain, sizeof(drain));
        (void)n;
        continue;
      }
      unsigned char c;
      ssize_t n = read(fd, &c, 1);
      if (n == 1) return c;
      if (n < 0 && errno == EINTR) continue;
      return EOF;
    }
  };
  int c = byte();
  if (c == EOF || c < 0x80) return c;
  int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
  int cp = c & (0x3F >> more);
  for (int i = 0; i < more; ++i) {
    int next = byte();
    if (next == EOF) return EOF;
    cp = (cp << 6) | (next & 0x3F);
  }
  return cp;
}

const char* const kKeywords[] = {
    "SELECT",  "FROM",      "WHERE",  "GROUP",    "BY",       "ORDER",     "HAVING", "LIMIT",
    "OFFSET",  "JOIN",      "LEFT",   "RIGHT",    "FULL",     "INNER",     "OUTER",  "CROSS",
    "ON",      "USING",     "AS",     "AND",      "OR",       "NOT",       "IN",     "IS",
    "NULL",    "LIKE",      "ILIKE",  "BETWEEN",  "CASE",     "WHEN",      "THEN",   "ELSE",
    "END",     "DISTINCT",  "UNION",  "ALL",      "EXCEPT",   "INTERSECT", "WITH",   "COUNT",
    "SUM",     "AVG",       "MIN",    "MAX",      "CAST",     "ASC",       "DESC",   "QUALIFY",
    "OVER",    "PARTITION", "WINDOW", "EXPLAIN",  "DESCRIBE", "SUMMARIZE", "TRUE",   "FALSE",
    "VERSION", "TIMESTAMP", "DATE",   "INTERVAL", "EXTRACT",  "COALESCE",  "ROUND",  "AT"};

const char* const kDotCommands[] = {".exit",   ".help",   ".mode",   ".quit",  ".read",
                                    ".schema", ".supers", ".tables", ".timer", ".use"};

constexpr const char* kHelp =
    ".supers              list the super tables\n"
    ".use SUPER           make SUPER the super table unqualified names mean\n"
    ".tables [SUPER]      list the tables of the current (or named) super table\n"
    ".schema [TABLE]      show the columns of a table (or of every table)\n"
    ".mode MODE           print results as table, csv, json or line\n"
    ".timer on|off        show how long each statement took\n"
    ".read FILE           run the statements and dot commands of FILE\n"
    ".help                this text\n"
    ".quit, .exit         leave (so does Ctrl+D)\n"
    "SQL statements end with ';' and may span lines. Ctrl+C cancels the running query, or "
    "drops the statement being typed. Tab completes keywords, tables and columns.\n";

class Shell;
Shell* g_shell = nullptr;  // for libedit's completion callback

class Shell {
 public:
  Shell(Warehouse& w, ShellOptions o) : w_(w), o_(std::move(o)), tty_(isatty(0) && isatty(1)) {}

  Status Run() {
    if (pipe(g_wake) != 0 || pipe(g_prompt_wake) != 0)
      return Status::IoError("cannot make the shell's interrupt pipes");
    // A handler never blocks: a full pipe already says "interrupted".
    for (int fd : {g_wake[1], g_prompt_wake[1]}) fcntl(fd, F_SETFL, O_NONBLOCK);
    // System calls a Ctrl+C interrupts are restarted: the engine never sees EINTR.
    struct sigaction sa = {}, old_int = {};
    sa.sa_handler = OnInterrupt;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    std::thread canceller([this] {
      char c;
      while (read(g_wake[0], &c, 1) == 1) {
        if (c != 'x') break;  // 'q': the shell is leaving
        std::lock_guard<std::mutex> g(mu_);
        if (running_) running_->Cancel();
      }
    });
    if (tty_) {
      g_shell = this;
      // libedit handles characters beyond ASCII only in a UTF-8 character type; SQL text is
      // UTF-8 whatever the terminal's locale says.
      const char* ctype = setlocale(LC_CTYPE, "");
      if (!ctype || !strstr(ctype, "UTF-8")) setlocale(LC_CTYPE, "C.UTF-8");
      rl_catch_signals = 0;
      rl_getc_function = ReadKey;
      rl_attempted_completion_function = Complete;
      stifle_history(2000);
      if (!o_.history_file.empty()) read_history(o_.history_file.c_str());
      std::cout << "SuperTable shell. Statements end with ';'. .help for help, .quit to leave.\n";
      if (o_.super_name.empty())
        std::cout << "No super table chosen: .supers lists them, .use picks one.\n";
    }
    Loop();
    if (tty_) {
      if (!o_.history_file.empty()) write_history(o_.history_file.c_str());
      g_shell = nullptr;
    }
    char q = 'q';
    ssize_t n = write(g_wake[1], &q, 1);
    (void)n;
    canceller.join();
    sigaction(SIGINT, &old_int, nullptr);
    for (int fd : {g_wake[0], g_wake[1], g_prompt_wake[0], g_prompt_wake[1]}) close(fd);
    if (!tty_ && failed_) return Status::InvalidArgument("a statement of the script failed");
    return Status::Ok();
  }

  // Candidates for completing `text`: keywords (in the case typed), dot commands at the start,
  // and the current super table's tables and their columns.
  std::vector<std::string> Candidates(const std::string& text) {
    std::set<std::string> out;
    auto offer = [&](const std::string& word) {
      if (word.size() >= text.size() && strncasecmp(word.c_str(), text.c_str(), text.size()) == 0)
        out.insert(word);
    };
    if (!text.empty() && text[0] == '.') {
      for (const char* d : kDotCommands) offer(d);
    }
    bool lower = !text.empty() && std::islower(static_cast<unsigned char>(text[0]));
    for (const char* k : kKeywords) {
      std::string w = k;
      if (lower)
        std::transform(w.begin(), w.end(), w.begin(),
                       [](unsigned char c) { return std::tolower(c); });
      offer(w);
    }
    for (const auto& n : Names()) offer(n);
    return {out.begin(), out.end()};
  }

 private:
  static char* Generate(const char* text, int state) {
    static std::vector<std::string> matches;
    static size_t next = 0;
    if (state == 0) {
      matches = g_shell ? g_shell->Candidates(text) : std::vector<std::string>{};
      next = 0;
    }
    return next < matches.size() ? strdup(matches[next++].c_str()) : nullptr;
  }
  static char** Complete(const char* text, int, int) {
    rl_attempted_completion_over = 1;  // never file names
    return rl_completion_matches(text, Generate);
  }

  // Table and column names of the current super table, read again after each statement (a
  // commit may have added some).
  const std::vector<std::string>& Names() {
    if (names_fresh_) return names_;
    names_.clear();
    names_fresh_ = true;
    if (o_.super_name.empty()) return names_;
    auto tables = w_.ListTables(o_.super_name);
    if (!tables.ok()) return names_;
    std::set<std::string> seen;
    for (const auto& t : *tables) {
      names_.push_back(t.name);
      names_.push_back(o_.super_name + "." + t.name);
      auto d = w_.Describe(w_.Ref(o_.super_name, t.name));
      if (!d.ok()) continue;
      for (const auto& c : d->columns) {
        if (seen.insert(c.column.name).second) names_.push_back(c.column.name);
      }
    }
    return names_;
  }

  std::string Prompt() const {
    std::string name = o_.super_name.empty() ? "supertable" : o_.super_name;
    return split_.empty()
               ? name + "> "
               : std::string(name.size() - std::min<size_t>(name.size(), 3), ' ') + "...> ";
  }

  void Loop() {
    for (;;) {
      std::string line;
      if (tty_) {
        g_interrupted = false;
        char* got = readline(Prompt().c_str());
        if (g_interrupted) {  // Ctrl+C at the prompt: drop what was typed
          free(got);
          split_.Clear();
          std::cout << "^C\n";
          continue;
        }
        if (!got) {
          std::cout << "\n";
          return;  // Ctrl+D
        }
        line = got;
        free(got);
      } else if (!std::getline(std::cin, line)) {
        return;
      }
      if (!Line(line)) return;
    }
  }

  // One line typed or read; false to leave.
  bool Line(const std::string& line) {
    if (split_.empty() && !Trim(line).empty() && Trim(line)[0] == '.') {
      if (tty_ && !reading_) add_history(line.c_str());
      return Dot(Trim(line));
    }
    for (const auto& statement : split_.Add(line)) {
      if (tty_ && !reading_) add_history((statement + ";").c_str());  // typed, not .read
      Execute(statement);
    }
    return true;
  }

  void Fail(const std::string& message) {
    failed_ = true;
    std::cerr << "Error: " << message << "\n";
  }
  bool Failed(const std::string& message) {  // for Dot: the shell goes on
    Fail(message);
    return true;
  }

  bool Dot(const std::string& line) {
    std::istringstream in(line);
    std::string cmd, arg, extra;
    in >> cmd >> arg >> extra;
    if (!extra.empty()) {
      Fail(fmt::format("{} takes at most one argument; .help lists the commands", cmd));
      return true;
    }
    if (cmd == ".quit" || cmd == ".exit") return false;
    if (cmd == ".help") {
      std::cout << kHelp;
    } else if (cmd == ".supers") {
      auto supers = w_.ListSupers();
      if (!supers.ok()) return Failed(supers.status().message());
      for (const auto& s : *supers) std::cout << s << "\n";
    } else if (cmd == ".use") {
      if (arg.empty()) return Failed(".use needs a super table: .use SUPER (.supers lists them)");
      Status known = w_.CheckSuperExists(arg);
      if (!known.ok()) return Failed(known.message());
      o_.super_name = arg;
      names_fresh_ = false;
    } else if (cmd == ".tables") {
      std::string super_name = arg.empty() ? o_.super_name : arg;
      if (super_name.empty()) return Failed("no super table chosen: .use SUPER, or .tables SUPER");
      auto tables = w_.ListTables(super_name);
      if (!tables.ok()) return Failed(tables.status().message());
      for (const auto& t : *tables) std::cout << t.name << "\n";
    } else if (cmd == ".schema") {
      Schema(arg);
    } else if (cmd == ".mode") {
      auto mode = ParseOutputFormat(arg);
      if (!mode.ok()) return Failed(mode.status().message());
      mode_ = *mode;
    } else if (cmd == ".timer") {
      if (arg != "on" && arg != "off") return Failed(".timer takes on or off");
      timer_ = arg == "on";
    } else if (cmd == ".read") {
      Read(arg);
    } else {
      Fail(fmt::format("unknown command '{}'; .help lists the commands", cmd));
    }
    return true;
  }

  void Schema(const std::string& table) {
    if (o_.super_name.empty()) return Fail("no super table chosen: .use SUPER first");
    std::vector<std::string> names;
    if (!table.empty()) {
      names.push_back(table);
    } else {
      auto tables = w_.ListTables(o_.super_name);
      if (!tables.ok()) return Fail(tables.status().message());
      for (const auto& t : *tables) names.push_back(t.name);
    }
    for (const auto& name : names) {
      auto d = w_.Describe(w_.Ref(o_.super_name, name));
      if (!d.ok()) return Fail(d.status().message());
      std::string cols;
      for (const auto& c : d->columns)
        cols += fmt::format("{}  {} {}", cols.empty() ? "" : ",\n", c.column.name, c.column.type);
      std::cout << fmt::format("CREATE TABLE {} (\n{}\n);  -- version {}, {} rows\n", name, cols,
                               d->summary.version, d->summary.rows);
    }
  }

  void Read(const std::string& path) {
    if (path.empty()) return Fail(".read needs a file: .read FILE");
    if (++reading_ > 16) {
      --reading_;
      return Fail(".read files nest more than 16 deep (does one read itself?)");
    }
    std::ifstream in(path);
    if (!in) {
      Fail(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
    } else {
      StatementSplitter outer = split_;  // a file's statements are its own
      split_.Clear();
      std::string line;
      while (std::getline(in, line) && Line(line)) {
      }
      if (!split_.empty())
        Fail(fmt::format("'{}' ends inside a statement (a ';' is missing)", path));
      split_ = outer;
    }
    --reading_;
  }

  void Execute(const std::string& sql) {
    names_fresh_ = false;
    if (o_.super_name.empty())
      return Fail("no super table chosen: .use SUPER first (.supers lists them)");
    QueryRequest req{o_.super_name, sql, mode_ == OutputFormat::kTable ? o_.row_limit : -1};
    CancelToken token;
    req.cancel = &token;
    {
      std::lock_guard<std::mutex> g(mu_);
      running_ = &token;
    }
    auto start = std::chrono::steady_clock::now();
    auto sink = MakeResultSink(mode_, std::cout);
    auto stats = w_.Query(req, *sink);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    {
      std::lock_guard<std::mutex> g(mu_);
      running_ = nullptr;
    }
    std::cout.flush();
    if (!stats.ok()) {
      if (token.cancelled()) return Fail("the query was cancelled (Ctrl+C)");
      return Fail(stats.status().message());
    }
    if (stats->truncated && mode_ != OutputFormat::kTable && mode_ != OutputFormat::kLine) {
      std::cerr << fmt::format("note: result truncated after {} rows by the {}\n", stats->rows,
                               stats->truncated_reason);
    }
    if (timer_) std::cout << fmt::format("Run Time: {:.1f} ms\n", ms);
  }

  Warehouse& w_;
  ShellOptions o_;
  const bool tty_;
  OutputFormat mode_ = OutputFormat::kTable;
  bool timer_ = false;
  bool failed_ = false;
  int reading_ = 0;
  StatementSplitter split_;
  std::vector<std::string> names_;
  bool names_fresh_ = false;
  std::mutex mu_;
  CancelToken* running_ = nullptr;  // under mu_: what Ctrl+C cancels
};

}  // namespace

Status RunShell(Warehouse& warehouse, const ShellOptions& options) {
  Shell shell(warehouse, options);
  return shell.Run();
}

}  // namespace supertable

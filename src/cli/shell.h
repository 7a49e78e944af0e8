// `supertable shell [SUPER]`: an interactive SQL prompt over the warehouse, as good to use as
// DuckDB's or sqlite3's: line editing and history (libedit), statements over several lines, dot
// commands, completion of keywords, tables and columns, and Ctrl+C cancelling the running query
// rather than the shell. Queries run exactly as `supertable query` runs them (same engine,
// limits and policy).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace supertable {

class Warehouse;

// Cuts what a user types, line by line, into complete SQL statements: one ends at a ';' outside
// quotes ('...', "...", with doubled quotes inside) and comments (-- to the end of the line,
// /* ... */ across lines).
class StatementSplitter {
 public:
  // Adds one line; returns the statements it completed, each without its ';', trimmed, empty
  // ones dropped.
  std::vector<std::string> Add(const std::string& line);
  // True when nothing of a statement is pending (the next line may be a dot command).
  bool empty() const;
  void Clear();

 private:
  enum class State { kCode, kSingle, kDouble, kBlockComment };
  std::string buffer_;
  State state_ = State::kCode;
};

struct ShellOptions {
  std::string super_name;  // the current super table ("" until .use)
  // Where history is kept between runs ("" for none); only when the input is a terminal.
  std::string history_file;
  int64_t row_limit = 10000;  // table mode holds the rows it aligns: bounded like `query`'s
};

// Runs the shell on stdin and stdout until end of input or .quit. A terminal gets prompts,
// editing, history and completion; other input is read as a script (no prompts), and the first
// failing statement makes the exit status non-zero.
Status RunShell(Warehouse& warehouse, const ShellOptions& options);

}  // namespace supertable
